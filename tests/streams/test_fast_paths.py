"""The fast paths of a stream's data: the data-frame codec, the relay's direct forwarding
and the scatter-gather writer, each against the general path it stands in for."""

from __future__ import annotations

import socket
import uuid

import trio
import trio.testing
from hypothesis import given
from hypothesis import strategies as st

from pywatt.channels import send_buffers
from pywatt.orchestrator.hub._connection import ServerConnection
from pywatt.orchestrator.hub._stream_relay import RelayedStreamFrame, StreamRelay
from pywatt.wire import (
    FrameDecoder,
    FrameFormat,
    ModuleDeclaration,
    StreamCredit,
    StreamData,
    StreamFrameError,
    StreamOpen,
    decode_stream_data,
    decode_stream_frame,
    encode_frame,
    encode_stream_data,
    encode_stream_frame,
    frame_header,
    stream_frame_head,
)

SID = uuid.UUID("3f2c6a9e-8b1d-4c52-9a47-0e5d2b7f1c11")
U64 = 2**64 - 1


@given(
    seq=st.one_of(st.sampled_from([0, 127, 128, 255, 256, 65535, 65536, 2**32 - 1, 2**32, U64]),
                  st.integers(0, U64)),
    payload=st.one_of(st.binary(max_size=300), st.integers(0, 70000).map(bytes)),
)  # fmt: skip
def test_the_data_codec_writes_and_reads_what_the_general_one_does(
    seq: int, payload: bytes
) -> None:
    frame = StreamData(stream_id=SID, seq=seq, payload=payload)
    general = encode_frame(FrameFormat.MSGPACK, encode_stream_frame(frame))
    assert encode_stream_data(SID.bytes, seq, memoryview(payload)) == general
    assert frame_header(FrameFormat.MSGPACK, len(general) - 5) == general[:5]
    assert decode_stream_data(general[5:]) == frame
    assert decode_stream_frame(general[5:]) == frame


def _general(data: bytes) -> object:
    try:
        return decode_stream_frame(bytearray(data))  # bytearray: never the fast path
    except StreamFrameError:
        return "refused"


@given(
    st.integers(0, U64),
    st.binary(max_size=40),
    st.data(),
)
def test_a_damaged_data_frame_is_read_fast_only_as_the_general_decoder_reads_it(
    seq: int, payload: bytes, data: st.DataObject
) -> None:
    good = encode_stream_data(SID.bytes, seq, payload)[5:]
    at = data.draw(st.integers(0, len(good)))
    damaged = data.draw(
        st.sampled_from(
            [
                good[:at],  # cut short
                good[:at] + bytes([data.draw(st.integers(0, 255))]) + good[at + 1 :],
                good + b"\x00",  # a trailing byte
            ]
        )
    )
    fast = decode_stream_data(damaged)
    assert fast is None or fast == _general(damaged)


def _relayed(frame: StreamOpen | StreamData | StreamCredit) -> RelayedStreamFrame:
    raw = encode_stream_frame(frame)
    head = stream_frame_head(raw)
    assert head is not None
    return RelayedStreamFrame(head[0], head[1], raw)


async def test_the_relay_forwards_directly_only_behind_what_the_hub_still_holds() -> None:
    a, b = trio.testing.memory_stream_pair()
    producer = ServerConnection("a", "ipc", a)
    consumer = ServerConnection("b", "ipc", b)
    consumer.declaration = ModuleDeclaration(version="0", formats=frozenset({"msgpack"}))
    relay = StreamRelay()
    opened = _relayed(StreamOpen(stream_id=SID, endpoint="sink", peer="b"))
    data = [_relayed(StreamData(stream_id=SID, seq=n, payload=b"x")) for n in range(3)]

    def hub(frame: RelayedStreamFrame) -> None:
        relay.on_frame(
            producer, frame, lambda m: consumer if m == "b" else None, {"b"}.__contains__
        )

    # The listener reads the open and the first chunk before the hub handled either.
    assert not relay.forward_direct(producer, opened)
    relay.queue(opened)
    assert not relay.forward_direct(producer, data[0])  # no leg yet
    relay.queue(data[0])
    hub(opened)  # the hub takes the open: the leg exists, but chunk 0 still waits for it
    assert not relay.forward_direct(producer, data[1])
    relay.queue(data[1])
    hub(data[0])
    hub(data[1])
    assert relay.forward_direct(producer, data[2])  # nothing of it left with the hub
    assert not relay.queued
    decoder = FrameDecoder()
    decoder.feed(b"".join(consumer.outbox))  # as the consumer reads it
    sent = [decode_stream_frame(f.payload) for f in decoder.frames()]
    assert [getattr(f, "seq", None) for f in sent] == [None, 0, 1, 2]
    assert relay.legs[SID].data == 3
    # A frame from a connection that is neither end is left to the hub (which drops it).
    stranger = ServerConnection("c", "ipc", trio.testing.memory_stream_pair()[0])
    assert not relay.forward_direct(stranger, data[2])


async def test_send_buffers_writes_every_piece_in_order_through_partial_writes() -> None:
    left, right = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    left.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 16 * 1024)  # partial writes
    writer = trio.SocketStream(trio.socket.from_stdlib_socket(left))
    reader = trio.SocketStream(trio.socket.from_stdlib_socket(right))
    pieces = [bytes([n % 251]) * size for n, size in enumerate([5, 0, 70000, 1, 3] * 300)]
    pieces += [b"x"] * 1500  # more pieces than one sendmsg takes
    expected = b"".join(pieces)
    got = bytearray()

    async def read() -> None:
        while len(got) < len(expected):
            got.extend(await reader.receive_some(65536))

    async with trio.open_nursery() as nursery:
        nursery.start_soon(read)
        await send_buffers(writer, pieces)
    assert got == expected
    # Any other stream (TLS, here a memory stream) gets the pieces joined.
    mem_a, mem_b = trio.testing.memory_stream_pair()
    await send_buffers(mem_a, [b"ab", b"", b"cd"])
    assert await mem_b.receive_some() == b"abcd"
    await writer.aclose()
    await reader.aclose()
