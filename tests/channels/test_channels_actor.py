"""The channels actor: the one owner of the directory, answering typed messages on a real
socket, and what it was told surviving its crash."""

from __future__ import annotations

from typing import Any

import pytest
import trio

import actors
import actors.testing
from pywatt.channels import (
    CHANNELS_ACTOR,
    ChannelConfig,
    ChannelDirectory,
    ChannelHealth,
    ChannelInbound,
    ConnectionStatus,
    GetWriter,
    NoChannel,
    Send,
    Subscribe,
    WriterRevoked,
    heartbeat_ack_frame,
)
from pywatt.wire import ChannelType, HeartbeatAck, Shutdown

from .fake import Peer, fake_orchestrator, running_channels


class Sink(actors.Actor[ChannelInbound]):
    """Keeps what the channels hand it."""

    def __init__(self, into: trio.MemorySendChannel[ChannelInbound]) -> None:
        self.into = into

    async def receive(self, message: ChannelInbound) -> None:
        await self.into.send(message)


async def _connected(directory: ChannelDirectory) -> None:
    """Until every connection is up (the directory says when one changes)."""
    while not all(s.status is ConnectionStatus.CONNECTED for s in directory.states.values()):
        await directory.wait_changed()


async def _acked(peer: Peer) -> Any:
    return (await peer.read()).content


async def test_send_queues_a_frame_and_health_reports_the_connection() -> None:
    with trio.fail_after(10):
        async with fake_orchestrator() as orch:
            config = ChannelConfig(kind=ChannelType.TCP, address=orch.address)
            async with running_channels([config]) as (system, directory):
                peer = await orch.next_peer()
                await _connected(directory)
                name = await system.ask(CHANNELS_ACTOR, Send(heartbeat_ack_frame()))
                assert name == "pywatt.channels.tcp.0"
                assert isinstance(await _acked(peer), HeartbeatAck)
                (health,) = await system.ask(CHANNELS_ACTOR, ChannelHealth())
                assert health.name == name
                assert health.frames_out >= 1


async def test_without_a_connection_send_fails_with_no_channel() -> None:
    with trio.fail_after(10):
        async with running_channels([]) as (system, _):
            with pytest.raises(NoChannel, match="carry the test frame"):
                await system.ask(CHANNELS_ACTOR, Send(b"x", what="the test frame"))
            writer = await system.ask(CHANNELS_ACTOR, GetWriter())
            with pytest.raises(NoChannel):
                await writer.send(b"x")


async def test_a_crash_revokes_the_writer_and_keeps_subscriptions_and_connections() -> None:
    received_send, received = trio.open_memory_channel[ChannelInbound](8)
    with trio.fail_after(20):
        async with fake_orchestrator() as orch:
            config = ChannelConfig(kind=ChannelType.TCP, address=orch.address)
            async with running_channels([config]) as (system, directory):
                peer = await orch.next_peer()
                await system.spawn(lambda: Sink(received_send), name="test.sink")
                await system.ask(CHANNELS_ACTOR, Subscribe((Shutdown,), "test.sink"))
                await _connected(directory)
                writer = await system.ask(CHANNELS_ACTOR, GetWriter())
                assert writer.offer(heartbeat_ack_frame()) == "pywatt.channels.tcp.0"
                assert isinstance(await _acked(peer), HeartbeatAck)

                assert await actors.testing.crash(system, CHANNELS_ACTOR) == 1
                assert writer.revoked
                assert writer.offer(heartbeat_ack_frame()) is None
                with pytest.raises(WriterRevoked):
                    await writer.send(heartbeat_ack_frame())
                # The next incarnation hands out a new writer, on the same connection: the
                # connection actors never noticed the crash.
                fresh = await system.ask(CHANNELS_ACTOR, GetWriter())
                assert fresh is not writer
                assert await fresh.send(heartbeat_ack_frame()) == "pywatt.channels.tcp.0"
                assert isinstance(await _acked(peer), HeartbeatAck)
                # What the sink subscribed to before the crash still reaches it.
                await peer.send(Shutdown())
                inbound = await received.receive()
                assert inbound == ChannelInbound("pywatt.channels.tcp.0", Shutdown())
                stats = system.statistics(CHANNELS_ACTOR)
                assert stats.incarnation == 2
                (health,) = await system.ask(CHANNELS_ACTOR, ChannelHealth())
                assert health.connects == 1  # the same connection throughout
