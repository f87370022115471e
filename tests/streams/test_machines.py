"""The stream state machines under random schedules, over a faithful and a faulty transport.

Faithful: every body arrives whole and in order, and neither side ever holds more than the
window. Faulty (frames dropped, repeated, swapped, corrupted): the body is either delivered
whole and in order, or a side aborts with a clear ``StreamViolation``; only a dropped frame
may leave the stream stalled (the I/O layer's deadline ends that), and never with a
completed, wrong body.
"""

from __future__ import annotations

import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pywatt import wire as w

from ._sim import Sim

chunk_lists = st.lists(st.binary(min_size=0, max_size=40), max_size=25)
windows = st.integers(min_value=1, max_value=6)


def _run(sim: Sim, data: st.DataObject, *, faults: int, max_steps: int = 2000) -> None:
    """Run random enabled actions until none is left; at most ``faults`` transport faults."""
    for _ in range(max_steps):
        actions = sim.actions(faults > 0)
        if not actions:
            return
        name, act = data.draw(st.sampled_from(actions), label="action")
        if name.startswith(("drop", "repeat", "swap", "corrupt")):
            faults -= 1
        act()
    pytest.fail("the simulation did not settle")


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(chunks=chunk_lists, window=windows, batch=st.none() | st.integers(1, 8), data=st.data())
def test_a_faithful_transport_delivers_every_body_in_order_within_the_window(
    chunks: list[bytes], window: int, batch: int | None, data: st.DataObject
) -> None:
    sim = Sim.start(chunks, window, 40, grant_batch=batch)
    _run(sim, data, faults=0)
    assert sim.violations == []
    assert sim.receiver.state is w.StreamState.COMPLETE
    assert sim.sender.state is w.StreamState.ENDED
    assert sim.delivered == chunks
    assert sim.sender.max_in_flight <= window
    assert sim.receiver.max_buffered <= window


@settings(max_examples=600, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(chunks=chunk_lists, window=windows, faults=st.integers(1, 3), data=st.data())
def test_a_faulty_transport_never_completes_a_wrong_body(
    chunks: list[bytes], window: int, faults: int, data: st.DataObject
) -> None:
    sim = Sim.start(chunks, window, 40)
    _run(sim, data, faults=faults)
    s, r = sim.sender, sim.receiver
    if r.state is w.StreamState.COMPLETE:
        assert sim.delivered == chunks
    elif s.state is not w.StreamState.ABORTED and r.state is not w.StreamState.ABORTED:
        assert "drop" in sim.faults, "stalled although no frame was lost"
    if "corrupt" not in sim.faults:
        assert sim.delivered == chunks[: len(sim.delivered)]
    for v in sim.violations:
        assert v.code in (w.AbortCode.PROTOCOL, w.AbortCode.INTEGRITY), v
        assert v.detail
    if not sim.faults:
        assert r.state is w.StreamState.COMPLETE
        assert sim.delivered == chunks
    assert s.max_in_flight <= window
    assert r.max_buffered <= window


@pytest.mark.parametrize(
    "size",
    [0, 1, 64 * 1024 - 1, 64 * 1024, 64 * 1024 + 1, 5 * 1024 * 1024 + 7],
    ids=["0B", "1B", "64KiB-1", "64KiB", "64KiB+1", "5MiB+7"],
)
def test_bodies_of_every_size_arrive_whole_through_the_codec(size: int) -> None:
    body = bytes(i * 7 % 251 for i in range(min(size, 4096))) * (size // 4096 + 1)
    body = body[:size]
    sender = w.StreamSender("blob", metadata={"name": "b.bin"})
    receiver = w.StreamReceiver()

    def pump() -> None:
        for f in sender.frames_to_send():
            receiver.receive(w.decode_stream_frame(w.encode_stream_frame(f)))
        for f in receiver.frames_to_send():
            sender.receive(w.decode_stream_frame(w.encode_stream_frame(f)))

    sender.open()
    pump()
    assert receiver.opened is not None
    assert receiver.opened.metadata == {"name": "b.bin"}
    out: list[bytes] = []
    offset = 0
    while offset < len(body):
        while sender.credit and offset < len(body):
            sender.send(body[offset : offset + sender.chunk_size])
            offset += sender.chunk_size
        pump()
        while (chunk := receiver.next_chunk()) is not None:
            out.append(chunk)
        pump()
    sender.end()
    pump()
    while (chunk := receiver.next_chunk()) is not None:
        out.append(chunk)
    assert receiver.state is w.StreamState.COMPLETE
    assert b"".join(out) == body
    assert len(out) == -(-size // w.DEFAULT_CHUNK_SIZE)
    assert all(len(c) <= w.DEFAULT_CHUNK_SIZE for c in out)
    assert sender.max_in_flight <= w.DEFAULT_WINDOW


def _opened(window: int = 2, chunk_size: int = 4) -> tuple[w.StreamSender, w.StreamReceiver]:
    s = w.StreamSender("e", window=window, chunk_size=chunk_size)
    r = w.StreamReceiver(max_window=window, max_chunk_size=chunk_size)
    s.open()
    for f in s.frames_to_send():
        r.receive(f)
    return s, r


def test_the_sender_cannot_send_without_credit_or_over_the_chunk_size() -> None:
    s, _ = _opened()
    with pytest.raises(w.ChunkTooLarge, match="5-byte chunk is over this stream's chunk size of 4"):
        s.send(b"12345")
    s.send(b"a")
    s.send(b"b")
    with pytest.raises(w.NoCredit, match="2 chunks in flight fill the window of 2"):
        s.send(b"c")
    assert s.state is w.StreamState.OPEN  # refusals leave the state alone


def test_a_gap_and_a_repeat_abort_the_receiver_naming_the_seq() -> None:
    s, r = _opened()
    with pytest.raises(w.StreamViolation, match=r"StreamData.seq is 1, expected 0 \(a gap\)"):
        r.receive(w.StreamData(stream_id=s.sid, seq=1, payload=b""))
    assert r.state is w.StreamState.ABORTED
    (abort,) = r.frames_to_send()
    assert isinstance(abort, w.StreamAbort)
    assert abort.code is w.AbortCode.PROTOCOL
    s.receive(abort)
    assert s.state is w.StreamState.ABORTED
    assert s.aborted_by_peer
    with pytest.raises(w.StreamStateError, match="the peer aborted the stream \\(protocol: "):
        s.send(b"x")

    s, r = _opened()
    r.receive(w.StreamData(stream_id=s.sid, seq=0, payload=b""))
    with pytest.raises(w.StreamViolation, match=r"seq is 0, expected 1 \(a repeat\)"):
        r.receive(w.StreamData(stream_id=s.sid, seq=0, payload=b""))


def test_the_receiver_refuses_a_window_over_its_limit() -> None:
    s = w.StreamSender("e", window=11)
    r = w.StreamReceiver()
    s.open()
    for f in s.frames_to_send():
        r.receive(f)
    assert r.state is w.StreamState.ABORTED
    (abort,) = r.frames_to_send()
    assert isinstance(abort, w.StreamAbort)
    assert abort.code is w.AbortCode.REFUSED
    assert abort.reason == "window 11 is over this receiver's limit of 10"


def test_an_end_that_does_not_match_names_the_field() -> None:
    s, r = _opened()
    r.receive(w.StreamData(stream_id=s.sid, seq=0, payload=b"ab"))
    with pytest.raises(w.StreamViolation, match=r"integrity: StreamEnd.crc32 is 1 but \d+ arrived"):
        r.receive(w.StreamEnd(stream_id=s.sid, chunks=1, length=2, crc32=1))
    s, r = _opened()
    with pytest.raises(w.StreamViolation, match=r"StreamEnd\.chunks is 3 but 0 arrived"):
        r.receive(w.StreamEnd(stream_id=s.sid, chunks=3, length=0, crc32=0))


def test_a_data_frame_over_the_window_is_a_violation() -> None:
    s, r = _opened(window=1)
    r.receive(w.StreamData(stream_id=s.sid, seq=0, payload=b""))
    with pytest.raises(w.StreamViolation, match="over the window of 1"):
        r.receive(w.StreamData(stream_id=s.sid, seq=1, payload=b""))


def test_credit_frames_that_repeat_or_skip_are_violations() -> None:
    s, _ = _opened(window=2)
    s.send(b"a")
    with pytest.raises(w.StreamViolation, match="granted is 2 but only 1 chunks were sent"):
        s.receive(w.StreamCredit(stream_id=s.sid, credit=2, granted=2))
    s, _r = _opened(window=2)
    s.send(b"a")
    s.send(b"b")
    s.receive(w.StreamCredit(stream_id=s.sid, credit=1, granted=1))
    with pytest.raises(
        w.StreamViolation, match=r"granted is 1, expected 2 .*repeated or reordered"
    ):
        s.receive(w.StreamCredit(stream_id=s.sid, credit=1, granted=1))


def test_frames_for_another_stream_are_violations() -> None:
    _s, r = _opened()
    other = uuid.UUID(int=7)
    with pytest.raises(w.StreamViolation, match=f"StreamData for another stream {other}"):
        r.receive(w.StreamData(stream_id=other, seq=0, payload=b""))


def test_either_side_can_abort_and_later_frames_are_ignored() -> None:
    s, r = _opened()
    s.abort(w.AbortCode.APPLICATION, "changed my mind")
    (frame,) = s.frames_to_send()
    r.receive(frame)
    assert r.state is w.StreamState.ABORTED
    assert r.abort_frame == frame
    r.receive(w.StreamData(stream_id=s.sid, seq=5, payload=b""))  # ignored, no raise
    s.abort(w.AbortCode.CANCELLED)  # a second abort does nothing
    assert s.frames_to_send() == []


def test_an_empty_body_completes_at_the_end_frame() -> None:
    s, r = _opened()
    s.end()
    for f in s.frames_to_send():
        r.receive(f)
    assert r.state is w.StreamState.COMPLETE
    assert r.next_chunk() is None


def test_credit_goes_back_in_batches_of_half_the_window() -> None:
    s, r = _opened(window=4)
    for payload in (b"a", b"b", b"c", b"d"):
        s.send(payload)
    for f in s.frames_to_send():
        r.receive(f)
    assert s.credit == 0
    assert r.next_chunk() == b"a"
    assert r.frames_to_send() == []  # one taken: not yet worth a frame
    assert r.next_chunk() == b"b"
    (credit,) = r.frames_to_send()
    assert credit == w.StreamCredit(stream_id=s.sid, credit=2, granted=2)
    s.receive(credit)
    assert s.credit == 2
    assert s.in_flight == 2
