"""A pywatt module for the stream tests between modules (tests/streams/test_module_streams.py).

Endpoints it serves:

* ``upload`` (streamed): reads the stream to the end, sleeping ``metadata["sleep"]`` seconds
  per chunk for the first ``metadata["slow_chunks"]`` chunks; answers ``{"bytes", "chunks",
  "crc32", "source", "metadata"}``. With ``metadata["fail_after"]`` it raises after that many
  chunks; with ``metadata["stop_after"]`` it returns early.
* ``digest``: answers ``{"type", "size", "crc32"}`` of its request (bytes, or the JSON list of
  numbers a small bytes value is in one frame); it logs ``digest of <size> bytes``.
* ``make``: answers ``{"size": n}`` with ``n`` bytes of the test pattern (a value).
* ``echo``: answers its request as it is (bytes stay bytes); ``limited``: the same, for
  requests of at most 1000 bytes (``max_request_size``).
* ``download``: answers ``{"size": n}`` with a stream of ``n`` bytes (an async generator);
  ``download_reply``: the same through ``state.stream_reply``; ``{"fail_at": k}`` makes the
  generator raise after ``k`` bytes.
* ``run``: one step, as the test orchestrator asks it: ``{"upload": "module:endpoint",
  "size", "chunk", "metadata", "cancel_after"}``, ``{"call": "module:endpoint", "size"}`` (a
  bytes payload of that size, compared with the echo; with ``"request"`` instead, that
  request, and the type and size of the bytes reply), ``{"download": "module:endpoint",
  "size", "stop_after", "unread", "slow_chunks", "sleep"}`` (``unread``: read nothing
  until the stream is aborted, then iterate it; ``sleep`` seconds after each of the first
  ``slow_chunks`` chunks; ``download receiving`` logged at the first),
  ``{"notify": "module:endpoint", "size"}`` (a notification of that many bytes); answered
  with the outcome or ``{"error": class, "message", "reason", "by", "cause"}``.
* ``sink``: takes notifications of bytes; ``sunk`` (``{"count": n}``) waits for the first
  ``n`` and answers their ``{"size", "crc32", "type"}`` in order of arrival.
* ``hold``: parks, for the crash tests (the process is killed under it).
* ``start`` / ``result``: run a ``run`` step in the actor ``background`` (outside the
  router, so a crash of the router does not take the step with it), and wait for its outcome.
* ``streams``: the ``{"streams", "bodies"}`` the module's router holds now (its
  ``RouterStatistics``).
* ``crash``: crashes the module's actor ``{"actor": name}`` (from an actor outside its tree);
  ``incarnation``: that actor's incarnation number (1 until it restarts).

It logs ``upload receiving from <module>`` at an upload's first chunk and ``upload aborted:
reason=<code> by=<side>: <detail>`` when one is aborted.
"""

from __future__ import annotations

import logging
import zlib
from collections.abc import AsyncIterator
from typing import Any

import attrs
import trio

import actors
import actors.testing
from actors import StreamAborted
from pywatt import AppState, run_module
from pywatt.router import ROUTER, GetRouterStatistics, RemoteInbound

log = logging.getLogger("streamer")


@attrs.frozen
class CrashIt:
    actor: str


@attrs.frozen
class Start:
    step: dict[str, Any]


@attrs.frozen
class GetResult(actors.Request[Any]):
    pass


class Background(actors.Actor[Start | GetResult]):
    """Runs one step in a task of its own, outside the router (whose crash it outlives)."""

    def __init__(self, run: Any) -> None:
        self.run = run
        self.result: Any = None
        self.done = trio.Event()

    async def receive(self, message: Start | GetResult) -> Any:
        if isinstance(message, Start):
            self.done = trio.Event()

            async def work() -> None:
                self.result = await self.run(message.step)
                self.done.set()

            self.ctx.start_task(work)
            return None
        reply = self.ctx.defer_reply()

        async def answer() -> None:
            await self.done.wait()
            reply.reply(self.result)

        self.ctx.start_task(answer)
        return None


class Crasher(actors.Actor[CrashIt]):
    """Outside the module's tree, so that no crash it causes restarts it."""

    async def receive(self, message: CrashIt) -> None:
        await actors.testing.crash(self.ctx.system, message.actor)


BLOCK = bytes((i * 7 + 3) % 251 for i in range(1 << 16)) * 16  # 1 MiB, no 64 KiB period


def body(size: int) -> bytes:
    """``size`` bytes of the test pattern."""
    whole, rest = divmod(size, len(BLOCK))
    return BLOCK * whole + BLOCK[:rest]


async def pieces(size: int, chunk: int) -> AsyncIterator[bytes]:
    sent = 0
    while sent < size:
        start = sent % len(BLOCK)
        n = min(chunk, size - sent, len(BLOCK) - start)
        yield BLOCK[start : start + n]
        sent += n


def failure(exc: BaseException) -> dict[str, Any]:
    return {
        "error": type(exc).__name__,
        "message": str(exc),
        "reason": getattr(getattr(exc, "reason", None), "value", None),
        "by": getattr(exc, "by", None),
        "cause": type(exc.__cause__).__name__ if exc.__cause__ is not None else None,
        "error_type": getattr(exc, "error_type", None),
    }


async def main(state: AppState[Any]) -> None:
    async def upload(stream: RemoteInbound) -> dict[str, Any]:
        meta = stream.metadata
        sleep = float(meta.get("sleep", 0))
        slow = int(meta.get("slow_chunks", 0))
        fail_after = int(meta.get("fail_after", -1))
        stop_after = int(meta.get("stop_after", -1))
        size = chunks = crc = 0
        try:
            async for chunk in stream:
                if chunks == fail_after:
                    raise ValueError(f"failed after {chunks} chunks on purpose")
                if chunks == stop_after:
                    return {"stopped": chunks}
                size += len(chunk)
                crc = zlib.crc32(chunk, crc)
                chunks += 1
                if chunks == 1:
                    log.info("upload receiving from %s", stream.source)
                if chunks <= slow:
                    await trio.sleep(sleep)
        except StreamAborted as exc:
            log.info("upload aborted: reason=%s by=%s: %s", exc.reason.value, exc.by, exc.detail)
            raise
        stats = stream.statistics()
        return {
            "bytes": size, "chunks": chunks, "crc32": crc, "source": stream.source,
            "metadata": meta, "max_in_flight": stats.max_in_flight, "window": stats.window,
        }  # fmt: skip

    def echo(request: Any) -> Any:
        return request

    def digest(request: Any) -> dict[str, Any]:
        data = bytes(request)
        log.info("digest of %d bytes", len(data))
        return {"type": type(request).__name__, "size": len(data), "crc32": zlib.crc32(data)}

    def make(request: dict[str, int]) -> bytes:
        return body(int(request["size"]))

    async def download(request: dict[str, Any]) -> AsyncIterator[bytes]:
        fail_at = request.get("fail_at")
        sent = 0
        async for piece in pieces(int(request["size"]), 65536):
            if fail_at is not None and sent >= fail_at:
                raise RuntimeError("the download's source failed on purpose")
            sent += len(piece)
            yield piece

    def download_reply(request: dict[str, Any]) -> Any:
        size = int(request["size"])
        return state.stream_reply(pieces(size, 65536), {"size": str(size)})

    async def run(step: dict[str, Any]) -> Any:
        try:
            if "upload" in step:
                size, chunk = int(step["size"]), int(step.get("chunk", 1 << 20))
                cancel_after = step.get("cancel_after")
                crc = 0
                with trio.CancelScope() as scope:
                    async with state.open_stream(
                        step["upload"], step.get("metadata", {}), window=step.get("window", 10)
                    ) as stream:
                        sent = 0
                        async for piece in pieces(size, chunk):
                            if cancel_after is not None and sent >= cancel_after:
                                scope.cancel()  # the next send sees the cancellation
                            await stream.send(piece)
                            crc = zlib.crc32(piece, crc)
                            sent += len(piece)
                if scope.cancelled_caught:
                    return {"cancelled": True, "stats": repr(stream.statistics())}
                stats = stream.statistics()
                return {
                    "reply": stream.reply, "sent_crc32": crc,
                    "max_in_flight": stats.max_in_flight,
                }  # fmt: skip
            if "notify" in step:
                await state.send_message(step["notify"], body(int(step["size"])))
                return {"sent": int(step["size"])}
            if "call" in step and "request" in step:  # a bytes reply: its type and size
                value = await state.send_request(
                    step["call"], step["request"], response_type=bytes,
                    timeout=float(step.get("timeout", 120)),
                )  # fmt: skip
                return {"type": type(value).__name__, "size": len(value)}
            if "call" in step:
                payload = body(int(step["size"]))
                value = await state.send_request(
                    step["call"], payload, response_type=bytes,
                    timeout=float(step.get("timeout", 120)),
                )  # fmt: skip
                return {"same": value == payload, "type": type(value).__name__,
                        "size": len(value)}  # fmt: skip
            if "download" in step:
                reply = await state.send_request(step["download"], step["request"], timeout=60)
                assert isinstance(reply, RemoteInbound), type(reply)
                if step.get("unread"):  # hold it unread until the idle timeout ends it
                    with trio.fail_after(60):
                        while reply.aborted is None:
                            await reply.lot.park()  # woken by each frame and by the abort
                    async for _ in reply:
                        raise AssertionError("a chunk came out of a stream aborted idle")
                size = crc = chunks = 0
                stop_after = step.get("stop_after")
                slow, pause = int(step.get("slow_chunks", 0)), float(step.get("sleep", 0))
                async for chunk in reply:
                    size += len(chunk)
                    crc = zlib.crc32(chunk, crc)
                    chunks += 1
                    if chunks == 1:
                        log.info("download receiving from %s", step["download"])
                    if chunks <= slow:
                        await trio.sleep(pause)
                    if stop_after is not None and size >= stop_after:
                        await reply.aclose()
                        break
                expected = zlib.crc32(body(size))
                return {"bytes": size, "crc_ok": crc == expected, "metadata": reply.metadata}
        except (Exception, StreamAborted) as exc:
            return failure(exc)
        raise ValueError(f"unknown step {step!r}")

    async def hold(request: Any) -> None:
        await trio.sleep_forever()

    async def crash(request: dict[str, str]) -> str:
        await state.system.tell("crasher", CrashIt(request["actor"]))
        return "crashing"

    sunk: list[dict[str, Any]] = []
    sunk_changed = trio.Event()

    def sink(notification: Any) -> None:
        nonlocal sunk_changed
        data = bytes(notification)  # bytes if it came in a stream, else a JSON list of ints
        kind = type(notification).__name__
        sunk.append({"size": len(data), "crc32": zlib.crc32(data), "type": kind})
        sunk_changed.set()
        sunk_changed = trio.Event()

    async def sunk_after(request: dict[str, int]) -> list[dict[str, Any]]:
        while len(sunk) < int(request["count"]):
            await sunk_changed.wait()
        return sunk[: int(request["count"])]

    async def streams(request: Any) -> dict[str, int]:
        stats = await state.system.ask(ROUTER, GetRouterStatistics())
        return {"streams": stats.streams, "bodies": stats.bodies}

    def incarnation(request: dict[str, str]) -> int:
        return state.system.statistics(request["actor"]).incarnation or 0

    await state.system.spawn(Crasher, name="crasher")
    await state.spawn(lambda: Background(run), name="background")

    async def start(step: dict[str, Any]) -> str:
        await state.system.tell("background", Start(step))
        return "started"

    async def result(request: Any) -> Any:
        return await state.system.ask("background", GetResult())

    await state.serve("start", start)
    await state.serve("result", result)
    await state.serve("crash", crash)
    await state.serve("incarnation", incarnation)
    await state.serve("streams", streams)
    await state.serve("sink", sink)
    await state.serve("sunk", sunk_after)
    await state.serve_stream("upload", upload)
    await state.serve("echo", echo)
    await state.serve("make", make)
    await state.serve("digest", digest)
    await state.serve("limited", echo, max_request_size=1000)
    await state.serve("download", download)
    await state.serve("download_reply", download_reply)
    await state.serve("run", run)
    await state.serve("hold", hold)
    await state.serve("greet", lambda request: "hi", for_module="r")  # the Rust-like peer r


if __name__ == "__main__":
    import faulthandler
    import os

    if os.environ.get("STREAMER_DUMP"):  # debugging: where is it stuck?
        faulthandler.dump_traceback_later(float(os.environ["STREAMER_DUMP"]), repeat=True)
    # STREAMER_IDLE: the stream idle timeout in seconds (the idle test makes it short).
    idle = float(os.environ.get("STREAMER_IDLE", "120"))
    raise SystemExit(
        run_module(main, log_level="INFO", messaging_config={"stream_idle_timeout": idle})
    )
