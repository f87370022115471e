"""Who a module's listener lets in, and how it treats a peer that sends garbage: a foreign
module gets a TCP channel only when the manifest opens it by name (with a loud warning), and a
flood of malformed frames closes the peer with one log line that counts them."""

from __future__ import annotations

import contextlib
import logging
import re

import pytest
import trio

from pywatt.channels import heartbeat_ack_frame
from pywatt.orchestrator import ChannelOptions, ManifestError, ModuleKind, ModuleSpec
from pywatt.orchestrator.config._manifest import manifest_from_dict
from pywatt.wire import FrameFormat, SecurityLevel, encode_frame

from .helpers import FAST, RAW, running

OPEN_TCP = ChannelOptions(security=SecurityLevel.NONE)


def _foreign(module_id: str, channels: ChannelOptions | None = None) -> ModuleSpec:
    return ModuleSpec.from_command(
        module_id, RAW, kind=ModuleKind.FOREIGN, restart=FAST, channels=channels
    )


async def test_a_foreign_module_gets_tcp_only_when_its_manifest_entry_opens_it() -> None:
    with trio.fail_after(15):
        async with running(_foreign("billing"), _foreign("rusty", OPEN_TCP)) as run:
            orch = run.orch
            for module_id in ("billing", "rusty"):
                await orch.module(module_id).wait_announced()
            # billing cannot send a token: it gets its Unix socket (0600) and no TCP port.
            billing = orch.module("billing").init_blob
            assert billing is not None
            assert billing.tcp_channel is None
            assert billing.ipc_channel is not None
            assert orch.endpoints("billing").tcp_port is None
            # rusty's entry says security = "none": TCP without a token, and a loud warning.
            rusty = orch.module("rusty").init_blob
            assert rusty is not None
            assert rusty.tcp_channel is not None
            port = orch.endpoints("rusty").tcp_port
            assert port is not None
            stream = await trio.open_tcp_stream("127.0.0.1", port)
            await stream.send_all(heartbeat_ack_frame())
            await orch.wait_channels("rusty")
            await stream.aclose()
            warnings = [
                line
                for line in run.lines
                if line.module == "rusty" and line.level >= logging.WARNING and not line.from_module
            ]
            assert len(warnings) == 1
            assert "without the auth token" in warnings[0].text
            assert "any local user" in warnings[0].text
            assert "billing" in run.text()  # and billing is told why it has no TCP


def test_security_none_is_for_foreign_modules_only() -> None:
    with pytest.raises(ValueError, match="foreign modules only"):
        ModuleSpec.from_command("greeter", RAW, channels=OPEN_TCP)
    body = {"command": RAW, "channels": {"security": "none"}}
    with pytest.raises(ManifestError, match=r"modules\.greeter\.channels\.security"):
        manifest_from_dict({"modules": {"greeter": body}}, source="pywatt.toml")
    foreign = manifest_from_dict(
        {"modules": {"rusty": {**body, "kind": "foreign"}}}, source="pywatt.toml"
    )
    assert foreign.modules[0].channels.security is SecurityLevel.NONE


async def test_a_flood_of_malformed_frames_closes_the_peer_and_logs_one_line() -> None:
    with trio.fail_after(15):
        async with running(_foreign("billing")) as run:
            orch = run.orch
            await orch.module("billing").wait_announced()
            path = orch.endpoints("billing").socket_path
            assert path is not None
            stream = await trio.open_unix_socket(path)
            await stream.send_all(heartbeat_ack_frame())
            (conn,) = await orch.wait_channels("billing")
            garbage = encode_frame(FrameFormat.JSON, b'{"op":"nonsense"}')
            # Closed while we are still sending or reading: that is the point.
            with contextlib.suppress(trio.BrokenResourceError):
                await stream.send_all(garbage * 2000)
                while await stream.receive_some(65536):
                    pass
            while await orch.channels("billing"):  # noqa: ASYNC110 (the hub hears it next)
                await trio.sleep(0.01)
            warned = [line.text for line in run.lines if line.level >= logging.WARNING]
            about = [text for text in warned if "malformed" in text]
            assert len(about) == 1, about
            (line,) = about
            assert line.startswith(conn.label)
            found = re.search(r"sent (\d+) malformed frames", line)
            assert found is not None, line
            assert int(found.group(1)) >= 2
            assert "closed" in line
