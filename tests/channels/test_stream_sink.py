"""A connection given a stream sink (the router's stream table, in a module) hands it every
stream frame as it reads it, in order and with the connection's name, instead of a message
to a subscriber per chunk; other frames still go to their subscribers; and the sink, given
when the tree is built, still gets the frames after the connection actor crashed and
reconnected. And the producer's side: ``Writer.offer_on`` queues a chunk on its stream's
connection only while that connection is up and has room."""

from __future__ import annotations

import math
import uuid

import trio

import actors
import actors.testing
from pywatt.channels import (
    CHANNELS_ACTOR,
    ChannelConfig,
    ChannelDirectory,
    ChannelInbound,
    ConnectionStatus,
    FixedInterval,
    GetWriter,
    Subscribe,
    heartbeat_ack_frame,
)
from pywatt.wire import (
    ChannelType,
    FrameFormat,
    HeartbeatAck,
    Shutdown,
    StreamCredit,
    StreamData,
    StreamFrame,
    encode_frame,
    encode_stream_data,
    encode_stream_frame,
)

from .fake import Peer, fake_orchestrator, running_channels

SID = uuid.UUID("0b5e1c2d-3a4f-4b6c-8d7e-9f0a1b2c3d4e")
CONNECTION = "pywatt.channels.tcp.0"


class Sink(actors.Actor[ChannelInbound]):
    def __init__(self, into: trio.MemorySendChannel[ChannelInbound]) -> None:
        self.into = into

    async def receive(self, message: ChannelInbound) -> None:
        await self.into.send(message)


async def _connected(directory: ChannelDirectory) -> None:
    while not all(s.status is ConnectionStatus.CONNECTED for s in directory.states.values()):
        await directory.wait_changed()


async def _send_chunks(peer: Peer, seqs: range) -> None:
    # Several frames in one write: the reader takes them out of one read, in order.
    await peer.send_raw(
        b"".join(encode_stream_data(SID.bytes, seq, bytes([seq % 256]) * 3000) for seq in seqs)
    )


async def test_stream_frames_go_to_the_sink_in_order_and_survive_a_connection_crash() -> None:
    got_send, got = trio.open_memory_channel[tuple[str, StreamFrame]](math.inf)
    inbound_send, inbound = trio.open_memory_channel[ChannelInbound](8)

    def sink(channel: str, frame: StreamFrame) -> None:
        got_send.send_nowait((channel, frame))

    with trio.fail_after(20):
        async with fake_orchestrator() as orch:
            config = ChannelConfig(
                kind=ChannelType.TCP,
                address=orch.address,
                policy=FixedInterval(delay_s=0.05, max_attempts=5),
            )
            async with running_channels([config], stream_sink=sink) as (system, directory):
                await system.spawn(lambda: Sink(inbound_send), name="test.sink")
                # The sink must win over a subscriber of the same types.
                await system.ask(
                    CHANNELS_ACTOR, Subscribe((StreamData, StreamCredit, Shutdown), "test.sink")
                )
                peer = await orch.next_peer()
                await _connected(directory)

                await _send_chunks(peer, range(0, 40))
                credit = StreamCredit(stream_id=SID, credit=5, granted=5)
                await peer.send_raw(encode_frame(FrameFormat.MSGPACK, encode_stream_frame(credit)))
                await peer.send(Shutdown())
                for seq in range(40):
                    channel, frame = await got.receive()
                    assert channel == CONNECTION
                    assert frame == StreamData(
                        stream_id=SID, seq=seq, payload=bytes([seq % 256]) * 3000
                    )
                assert await got.receive() == (CONNECTION, credit)
                # Anything else still goes to its subscriber.
                assert await inbound.receive() == ChannelInbound(CONNECTION, Shutdown())

                # The connection crashes mid-traffic; the next one hands frames to the same
                # sink without anyone telling it again.
                await _send_chunks(peer, range(40, 45))
                await actors.testing.crash(system, CONNECTION)
                peer = await orch.next_peer()
                await _connected(directory)
                await _send_chunks(peer, range(100, 103))
                seen: list[int] = []
                while not seen or seen[-1] != 102:
                    channel, frame = await got.receive()
                    assert channel == CONNECTION
                    assert isinstance(frame, StreamData)
                    seen.append(frame.seq)
                # What the first connection read before its crash, then the new one's, in order.
                assert seen[-3:] == [100, 101, 102]
                assert seen[:-3] == list(range(40, 40 + len(seen) - 3))
                assert got.statistics().current_buffer_used == 0
                assert inbound.statistics().current_buffer_used == 0


async def test_offer_on_queues_on_that_connection_only_while_it_has_room() -> None:
    with trio.fail_after(20):
        async with fake_orchestrator() as orch:
            config = ChannelConfig(kind=ChannelType.TCP, address=orch.address)
            async with running_channels([config]) as (system, directory):
                peer = await orch.next_peer()
                await _connected(directory)
                writer = await system.ask(CHANNELS_ACTOR, GetWriter())
                assert writer.offer_on(CONNECTION, heartbeat_ack_frame())
                assert isinstance((await peer.read()).content, HeartbeatAck)
                assert not writer.offer_on("pywatt.channels.nowhere.0", heartbeat_ack_frame())
                outbox = directory.states[CONNECTION].outbox
                assert outbox is not None
                outbox.size = outbox.high_water  # as if the writer were behind
                assert not writer.offer_on(CONNECTION, heartbeat_ack_frame())
                outbox.size = 0
                await actors.testing.crash(system, CHANNELS_ACTOR)
                assert writer.revoked
                assert not writer.offer_on(CONNECTION, heartbeat_ack_frame())
