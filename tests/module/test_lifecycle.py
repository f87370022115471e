"""How a module stops, as messages to its lifecycle actor: a required channel that gave up
(exit 1, with the cause), the orchestrator's ``shutdown`` frame on a channel, and
``state.close()`` (exit 0). The whole tree runs; the orchestrator's ends are real."""

from __future__ import annotations

from typing import Any

import trio

from pywatt import AppState
from pywatt.wire import (
    AnnounceBlob,
    InitBlob,
    SocketAddress,
    TcpChannelConfig,
)
from pywatt.wire import Shutdown as ShutdownFrame
from tests.channels.fake import fake_orchestrator

from .harness import INIT, running_module


def _with_tcp(address: str, *, required: bool) -> InitBlob:
    return InitBlob(
        orchestrator_api=INIT.orchestrator_api,
        module_id=INIT.module_id,
        env={},
        listen=INIT.listen,
        tcp_channel=TcpChannelConfig(
            address=SocketAddress.parse(address), tls_enabled=False, required=required
        ),
    )


async def _unused_port() -> str:
    """A loopback port nobody listens on (bound, then closed)."""
    sock = trio.socket.socket()
    await sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return f"127.0.0.1:{port}"


async def test_a_required_channel_that_gives_up_stops_the_module_with_exit_1() -> None:
    init = _with_tcp(await _unused_port(), required=True)
    with trio.fail_after(30):
        async with running_module(
            init=init, tcp_config={"reconnect": {"type": "fixed", "delay": 0.01,
                                                 "max_attempts": 2}},
        ) as peer:  # fmt: skip
            await peer.done.wait()  # by itself: nobody sends shutdown
    assert peer.exit_code == 1


async def test_an_optional_channel_that_gives_up_leaves_the_module_running() -> None:
    init = _with_tcp(await _unused_port(), required=False)
    with trio.fail_after(30):
        async with running_module(
            init=init, tcp_config={"reconnect": {"type": "fixed", "delay": 0.01,
                                                 "max_attempts": 2}},
        ) as peer:  # fmt: skip
            assert isinstance(await peer.read(), AnnounceBlob)
            assert not peer.done.is_set()
    assert peer.exit_code == 0  # stopped by the harness's EOF on stdin


async def test_shutdown_on_a_channel_stops_the_module_cleanly() -> None:
    with trio.fail_after(30):
        async with (
            fake_orchestrator() as orch,
            running_module(init=_with_tcp(orch.address, required=True)) as peer,
        ):
            channel = await orch.next_peer()
            assert isinstance(await peer.read(), AnnounceBlob)
            await channel.send(ShutdownFrame())
            await peer.done.wait()
            await channel.read_until_eof()  # the module closed its channel
    assert peer.exit_code == 0


async def test_state_close_stops_the_module_cleanly() -> None:
    closed = trio.Event()

    async def main(state: AppState[Any]) -> None:
        await state.close()  # returns at once; the stop follows
        closed.set()

    with trio.fail_after(30):
        async with running_module(main) as peer:
            await peer.done.wait()  # by itself: stdin stays open
    assert closed.is_set()
    assert peer.exit_code == 0
