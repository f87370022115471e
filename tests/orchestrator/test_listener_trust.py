"""How a module's listener treats a peer that sends garbage: a flood of malformed frames
closes the peer with one log line that counts them."""

from __future__ import annotations

import contextlib
import logging
import re

import trio

from pywatt.channels import heartbeat_ack_frame
from pywatt.orchestrator import ChannelOptions, ModuleKind, ModuleSpec
from pywatt.wire import FrameFormat, SecurityLevel, encode_frame

from .helpers import FAST, RAW, running

OPEN_TCP = ChannelOptions(security=SecurityLevel.NONE)


def _foreign(module_id: str, channels: ChannelOptions | None = None) -> ModuleSpec:
    return ModuleSpec.from_command(
        module_id, RAW, kind=ModuleKind.FOREIGN, restart=FAST, channels=channels
    )


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
