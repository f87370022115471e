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
    ChannelFailed,
    ChannelHealth,
    ChannelInbound,
    ConnectionStatus,
    FixedInterval,
    GetWriter,
    NoChannel,
    Send,
    Subscribe,
    WriterRevoked,
    channels_supervisor_spec,
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


class DownWaiter(actors.Actor[actors.Down]):
    """Monitors ``name`` and hands its Down to ``into``."""

    def __init__(self, name: str, into: trio.MemorySendChannel[actors.Down]) -> None:
        self.name = name
        self.into = into

    async def on_start(self) -> None:
        self.ctx.monitor(self.name)

    async def receive(self, message: actors.Down) -> None:
        await self.into.send(message)


async def test_a_channel_that_gave_up_while_the_channels_actor_was_away_is_still_reported() -> None:
    """By construction, not by timing: the channels actor is stopped, the required channel's
    policy gives up meanwhile, and the channels actor started again from the same spec
    (the directory and subscriptions of its name) finds out on start and reports it."""
    fatal_send, fatal = trio.open_memory_channel[ChannelFailed](4)
    downs_send, downs = trio.open_memory_channel[actors.Down](4)

    async def refuse(config: ChannelConfig) -> trio.abc.Stream:
        raise OSError("connection refused (test)")

    required = ChannelConfig(
        kind=ChannelType.TCP,
        address="127.0.0.1:9",
        required=True,
        policy=FixedInterval(delay_s=0.5, max_attempts=3),  # ~1 s: long past the stop below
    )
    spec = channels_supervisor_spec(
        [required], opener=refuse, services=frozenset(), subscriptions={ChannelFailed: "fatal"}
    )
    (connection_supervisor, channels_actor) = spec.children
    assert channels_actor.name == CHANNELS_ACTOR
    with trio.fail_after(20):
        async with actors.open_actor_system() as system:
            await system.spawn(lambda: FatalSink(fatal_send), name="fatal")
            supervisor = await system.start_supervisor(spec)
            await supervisor.stop_child(CHANNELS_ACTOR)
            await system.spawn(lambda: DownWaiter(connection_supervisor.name, downs_send))
            down = await downs.receive()  # the policy gave up, with nobody of ours watching
            assert isinstance(down.reason, actors.RestartIntensityExceeded)
            assert fatal.statistics().current_buffer_used == 0
            await supervisor.start_child(channels_actor)
            reported = await fatal.receive()
            assert reported.required
            assert reported.channel == "pywatt.channels.tcp.0"
            assert "gave up after 3 failed attempt(s)" in str(reported.error)
            (health,) = await system.ask(CHANNELS_ACTOR, ChannelHealth())
            assert health.status is ConnectionStatus.FAILED


class FatalSink(actors.Actor[ChannelFailed]):
    def __init__(self, into: trio.MemorySendChannel[ChannelFailed]) -> None:
        self.into = into

    async def receive(self, message: ChannelFailed) -> None:
        await self.into.send(message)
