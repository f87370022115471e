"""A transport simulation for the stream state machines: two queues of encoded frames that
may drop, repeat, swap or corrupt what they carry, and a scheduler driven by hypothesis."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs

from pywatt import wire as w


@attrs.define
class Link:
    """One direction: frames in flight, as bytes (every frame goes through the codec)."""

    queue: list[bytes] = attrs.field(factory=list)

    def put(self, frames: list[w.StreamFrame]) -> None:
        self.queue.extend(w.encode_stream_frame(f) for f in frames)


@attrs.define
class Sim:
    """A sender, a receiver and the two links between them."""

    chunks: list[bytes]
    sender: w.StreamSender
    receiver: w.StreamReceiver
    to_receiver: Link = attrs.field(factory=Link)
    to_sender: Link = attrs.field(factory=Link)
    delivered: list[bytes] = attrs.field(factory=list)
    violations: list[w.StreamViolation] = attrs.field(factory=list)
    faults: list[str] = attrs.field(factory=list)
    next_chunk: int = 0

    @classmethod
    def start(cls, chunks: list[bytes], window: int, chunk_size: int, **receiver: Any) -> Sim:
        sim = cls(
            chunks,
            w.StreamSender("upload", window=window, chunk_size=chunk_size),
            w.StreamReceiver(max_window=window, max_chunk_size=chunk_size, **receiver),
        )
        sim.sender.open()
        sim.flush()
        return sim

    def flush(self) -> None:
        self.to_receiver.put(self.sender.frames_to_send())
        self.to_sender.put(self.receiver.frames_to_send())

    # -- the actions a scheduler picks from ------------------------------------------------------

    def actions(self, faults: bool) -> list[tuple[str, Callable[[], None]]]:
        out: list[tuple[str, Callable[[], None]]] = []
        s, r = self.sender, self.receiver
        if s.state is w.StreamState.OPEN and self.next_chunk < len(self.chunks) and s.credit:
            out.append(("send", self._send))
        if s.state is w.StreamState.OPEN and self.next_chunk == len(self.chunks):
            out.append(("end", self._end))
        if self.to_receiver.queue:
            out.append(("to_receiver", lambda: self._deliver(self.to_receiver, r)))
        if self.to_sender.queue:
            out.append(("to_sender", lambda: self._deliver(self.to_sender, s)))
        if r.buffered and r.state is not w.StreamState.ABORTED:
            out.append(("consume", self._consume))
        if faults:
            for name, link in (("r", self.to_receiver), ("s", self.to_sender)):
                if link.queue:
                    out.append((f"drop_{name}", lambda link=link: self._drop(link)))
                    out.append((f"repeat_{name}", lambda link=link: self._repeat(link)))
                if len(link.queue) > 1:
                    out.append((f"swap_{name}", lambda link=link: self._swap(link)))
            if self.to_receiver.queue and self._corruptible():
                out.append(("corrupt", self._corrupt))
        return out

    def _send(self) -> None:
        self.sender.send(self.chunks[self.next_chunk])
        self.next_chunk += 1
        self.flush()

    def _end(self) -> None:
        self.sender.end()
        self.flush()

    def _consume(self) -> None:
        chunk = self.receiver.next_chunk()
        assert chunk is not None
        self.delivered.append(chunk)
        self.flush()

    def _deliver(self, link: Link, machine: w.StreamSender | w.StreamReceiver) -> None:
        frame = w.decode_stream_frame(link.queue.pop(0))
        try:
            machine.receive(frame)
        except w.StreamViolation as exc:
            assert machine.state is w.StreamState.ABORTED or machine.finished
            self.violations.append(exc)
        self.flush()

    def _drop(self, link: Link) -> None:
        self.faults.append("drop")
        link.queue.pop(0)

    def _repeat(self, link: Link) -> None:
        self.faults.append("repeat")
        link.queue.insert(0, link.queue[0])

    def _swap(self, link: Link) -> None:
        self.faults.append("swap")
        link.queue[0], link.queue[1] = link.queue[1], link.queue[0]

    def _corruptible(self) -> bool:
        frame = w.decode_stream_frame(self.to_receiver.queue[0])
        return isinstance(frame, w.StreamData) and len(frame.payload) > 0

    def _corrupt(self) -> None:
        self.faults.append("corrupt")
        frame = w.decode_stream_frame(self.to_receiver.queue[0])
        assert isinstance(frame, w.StreamData)
        bad = bytes([frame.payload[0] ^ 0x01]) + frame.payload[1:]
        self.to_receiver.queue[0] = w.encode_stream_frame(attrs.evolve(frame, payload=bad))
