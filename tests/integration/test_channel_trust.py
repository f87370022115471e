"""Nobody in who does not belong: a module's TCP listener wants its token by default (and real
pywatt modules send it), and a token of any characters is refused without harm to the real
module's connections."""

from __future__ import annotations

import trio

from pywatt.channels import declaration_frame, heartbeat_ack_frame
from pywatt.orchestrator import ChannelOptions, ModuleSpec
from pywatt.wire import ModuleDeclaration, SecurityLevel

from .conftest import MODULES
from .test_channels_between_modules import orchestrated, parse_summary

PEER = str(MODULES / "peer.py")


async def _closed_by_peer(stream: trio.abc.Stream) -> None:
    """Read (heartbeats, if the orchestrator sends any) until the orchestrator hangs up."""
    try:
        while await stream.receive_some(65536):
            pass
    except trio.BrokenResourceError:
        pass  # reset by the peer: closed too


async def test_tcp_without_the_token_is_refused_by_default() -> None:
    specs = [
        ModuleSpec.from_command("b", PEER),
        ModuleSpec.from_command("a", PEER, env={"PEER_CALLS": "b", "PEER_ROUNDS": "20"}),
    ]
    with trio.fail_after(30):
        async with orchestrated(*specs) as (orch, lines):
            port = orch.endpoints("b").tcp_port
            assert port is not None
            # No declaration at all: a frame as a Rust module would send it.
            stream = await trio.open_tcp_stream("127.0.0.1", port)
            await stream.send_all(heartbeat_ack_frame())
            await _closed_by_peer(stream)
            # A declaration without the token.
            stream = await trio.open_tcp_stream("127.0.0.1", port)
            await stream.send_all(declaration_frame(ModuleDeclaration(version="0.1.0")))
            await _closed_by_peer(stream)
            # The real modules send their token: both of their channels are up, and they talk.
            counts = parse_summary(await orch.module("a").wait_stderr("summary"))
            assert counts["ok"] == 20
            for module_id in ("a", "b"):
                blob = orch.module(module_id).init_blob
                assert blob is not None
                assert blob.security_level is SecurityLevel.TOKEN
                conns = await orch.wait_channels(module_id, 2)
                assert {c.kind for c in conns} == {"tcp", "ipc"}
                assert all(c.pywatt for c in conns)
            refused = [t for t in lines if "refused a tcp connection for b" in t]
            assert len(refused) == 2, refused
            assert all("a wrong or missing auth token" in t for t in refused)
            assert orch.endpoints("b").token not in "\n".join([*lines, *orch.stderr_lines("b")])


async def test_an_auth_token_that_is_not_ascii_is_refused_and_the_module_keeps_its_channels() -> (
    None
):
    token = ChannelOptions(security=SecurityLevel.TOKEN)
    specs = [
        ModuleSpec.from_command("b", PEER, channels=token),
        ModuleSpec.from_command(
            "a", PEER, channels=token,
            env={"PEER_CALLS": "b", "PEER_ROUNDS": "200", "PEER_PAUSE": "0.01"},
        ),
    ]  # fmt: skip
    with trio.fail_after(40):
        async with orchestrated(*specs) as (orch, lines):
            a = orch.module("a")
            await a.wait_stderr("outcome ok b 10 ")
            before = {c.label for c in await orch.wait_channels("b", 2)}
            port = orch.endpoints("b").tcp_port
            path = orch.endpoints("b").socket_path
            assert port is not None
            assert path is not None
            for auth_token in ("tök-ñ", "🔑" * 40, orch.endpoints("b").token + "é"):
                declared = ModuleDeclaration(version="0.1.0", auth_token=auth_token)
                for stream in (
                    await trio.open_tcp_stream("127.0.0.1", port),
                    await trio.open_unix_socket(path),
                ):
                    await stream.send_all(declaration_frame(declared))
                    await _closed_by_peer(stream)
            counts = parse_summary(await a.wait_stderr("summary"))
            assert counts["error"] == 0, counts
            assert {c.label for c in await orch.channels("b")} == before
            refused = [t for t in lines if "refused a " in t and " connection for b" in t]
            assert len(refused) == 6, refused
            assert not any("internal error" in t for t in lines)
