"""Streams between real module processes through the embedded orchestrator (docs/streams.md):
the size sweep for streams, requests and replies; what each side sees when the other gives up,
fails or dies; per-endpoint limits; restarts of the router and the hub mid-stream.

The modules are ``modules/streamer.py``; the test asks one of them to run a step (``run``)
and reads the outcome it reports, or the lines the other one logs."""

from __future__ import annotations

import json
import os
import signal
import sys
import uuid
import zlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
import trio
import trio.testing

from pywatt.channels import CHANNELS_ACTOR, declaration_frame, encode_module_frame
from pywatt.orchestrator import (
    ChannelOptions,
    ConsoleLine,
    Manifest,
    ModuleCallFailed,
    ModuleKind,
    ModuleSpec,
    Orchestrator,
    open_orchestrator,
)
from pywatt.router import RemoteInbound
from pywatt.wire import (
    NEED_DATA,
    REPLY_MARKER_PROPERTY,
    REPLY_MARKER_VALUE,
    EncodedMessage,
    EncodingFormat,
    FrameDecoder,
    FrameFormat,
    MessageMetadata,
    ModuleDeclaration,
    RoutedModuleResponse,
    RouteToModule,
    SecurityLevel,
    StreamAbort,
    StreamCredit,
    StreamData,
    StreamEnd,
    StreamOpen,
    decode_body,
    decode_stream_frame,
    encode_frame,
    encode_payload,
    encode_reply_ok,
    encode_stream_frame,
    parse_binary_routed,
)

MODULES = Path(__file__).parent / "modules"
STREAMER = str(MODULES / "streamer.py")
sys.path.insert(0, str(MODULES))
from streamer import body  # noqa: E402

KIB = 1024
MIB = 1024 * KIB
SIZES = [0, 1, 64 * KIB - 1, 64 * KIB, 64 * KIB + 1, 16 * MIB + 1]


class Lines:
    """What the modules printed, and a way to wait for a line."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.changed = trio.Event()

    def keep(self, line: ConsoleLine) -> None:
        self.lines.append(f"[{line.module}] {line.text}")
        self.changed.set()
        self.changed = trio.Event()

    async def wait_for(self, text: str) -> str:
        while True:
            for line in self.lines:
                if text in line:
                    return line
            await self.changed.wait()


@asynccontextmanager
async def orchestrated(
    *ids: str, env: dict[str, str] | None = None, heartbeat_interval: float = 0.5
) -> AsyncIterator[tuple[Orchestrator, Lines]]:
    lines = Lines()
    manifest = Manifest(
        modules=tuple(ModuleSpec.from_command(i, STREAMER, env=env or {}) for i in ids),
        heartbeat_interval=heartbeat_interval, grace=2.0, term_grace=1.0,
    )  # fmt: skip
    async with open_orchestrator(manifest, on_output=lines.keep) as orch:
        for module_id in ids:
            await orch.module(module_id).wait_announced()
            await orch.wait_channels(module_id)
        yield orch, lines


async def step(orch: Orchestrator, module_id: str, **step: Any) -> Any:
    return await orch.request(module_id, "run", step)


def _with_a_rust_like_peer() -> Manifest:
    """Module ``a`` (this SDK) and ``r``, a Rust-like peer (no MessagePack, no streams) that
    sends ``a`` one request."""
    rust = ModuleSpec.from_command(
        "r", str(Path(__file__).parents[1] / "integration" / "modules" / "rust_peer.py"),
        kind=ModuleKind.FOREIGN, env={"RUST_TARGET": "a"},
        channels=ChannelOptions(security=SecurityLevel.NONE),
    )  # fmt: skip
    return Manifest(
        modules=(ModuleSpec.from_command("a", STREAMER), rust), heartbeat_interval=0.5,
        grace=2.0, term_grace=1.0,
    )  # fmt: skip


# -- the size sweep --------------------------------------------------------------------------


async def test_streams_of_every_size_arrive_whole_and_in_order() -> None:
    with trio.fail_after(120):
        async with orchestrated("a", "b") as (orch, lines):
            results = [
                await step(
                    orch,
                    "a",
                    upload="b:upload",
                    size=size,
                    chunk=MIB,
                    metadata={"name": f"{size}.bin"},
                )
                for size in SIZES
            ]
    for size, result in zip(SIZES, results, strict=True):
        reply = result["reply"]
        assert reply["bytes"] == size, (size, result, lines.lines[-10:])
        assert reply["crc32"] == result["sent_crc32"] == zlib.crc32(body(size))
        assert reply["chunks"] == -(-size // (64 * KIB))  # 64 KiB chunks, none for 0 B
        assert reply["source"] == "a"
        assert reply["metadata"] == {"name": f"{size}.bin"}
        assert reply["max_in_flight"] <= reply["window"] == 10
        assert result["max_in_flight"] <= 10


async def test_requests_and_replies_of_every_size_go_through_as_bytes() -> None:
    """Over 1 MiB of JSON a request and its reply switch to a stream by themselves: no
    PayloadTooLarge for 16 MiB + 1, and the bytes arrive as bytes."""
    with trio.fail_after(120):
        async with orchestrated("a", "b") as (orch, _):
            results = [await step(orch, "a", call="b:echo", size=size) for size in SIZES]
    for size, result in zip(SIZES, results, strict=True):
        assert result == {"same": True, "type": "bytes", "size": size}, (size, result)


async def test_notifications_of_every_size_arrive_whole_and_in_order() -> None:
    """A notification over 1 MiB of JSON switches to a stream as a request does: no
    PayloadTooLarge for 16 MiB + 1 (its value arrives as bytes, in a stream); smaller ones
    come in one frame as before (as JSON, a list of numbers)."""
    with trio.fail_after(120):
        async with orchestrated("a", "b") as (orch, lines):
            sent = [await step(orch, "a", notify="b:sink", size=size) for size in SIZES]
            sunk = await orch.request("b", "sunk", {"count": len(SIZES)})
            stats = await step(orch, "a", call="b:echo", size=3)  # the routers go on
    assert sent == [{"sent": size} for size in SIZES], (sent, lines.lines[-10:])
    assert [(s["size"], s["crc32"]) for s in sunk] == [
        (size, zlib.crc32(body(size))) for size in SIZES
    ]
    assert sunk[-1]["type"] == "bytes"  # the stream's MessagePack kept it bytes
    assert sunk[0]["type"] == "list"  # 0 B in one JSON frame: []
    assert stats["same"]


async def test_stream_replies_of_every_size_are_iterated_by_the_caller() -> None:
    with trio.fail_after(120):
        async with orchestrated("a", "b") as (orch, _lines):
            generated = [
                await step(orch, "a", download="b:download", request={"size": size})
                for size in SIZES
            ]
            replied = await step(orch, "a", download="b:download_reply", request={"size": 3 * MIB})
    for size, result in zip(SIZES, generated, strict=True):
        assert result == {"bytes": size, "crc_ok": True, "metadata": {}}, (size, result)
    assert replied == {"bytes": 3 * MIB, "crc_ok": True, "metadata": {"size": str(3 * MIB)}}


async def test_the_orchestrators_own_requests_get_big_and_stream_replies() -> None:
    """``orch.request`` is answered like a module's request: a value over 1 MiB of JSON in
    a stream the orchestrator reads whole (no ReplyTooLarge for 16 MiB + 1, bytes as bytes),
    a stream reply as the stream itself, iterated by the orchestrator's caller. The
    orchestrator's end lives in the hub's state: a crash of the hub mid-stream costs it
    nothing."""
    with trio.fail_after(120):
        async with orchestrated("a", "b") as (orch, _lines):
            values = [await orch.request("b", "make", {"size": size}) for size in SIZES]
            stream = await orch.request("b", "download", {"size": 3 * MIB + 5})
            assert isinstance(stream, RemoteInbound), type(stream)
            crc = size = 0
            async for chunk in stream:
                crc, size = zlib.crc32(chunk, crc), size + len(chunk)
                if size == 64 * KIB:  # one chunk in, the rest still to come
                    await orch.kill_hub()
    for size_, value in zip(SIZES, values, strict=True):
        data = bytes(value)  # a JSON list of numbers in one frame, bytes from a stream
        assert (len(data), zlib.crc32(data)) == (size_, zlib.crc32(body(size_)))
    assert isinstance(values[-1], bytes)
    assert (size, crc) == (3 * MIB + 5, zlib.crc32(body(3 * MIB + 5)))


async def test_the_orchestrators_own_requests_of_every_size_reach_the_module() -> None:
    """``orch.request`` with a value over 1 MiB of JSON sends it as a module's big request
    goes: a stream the orchestrator produces, bytes as ``bin`` (no PayloadTooLarge for
    16 MiB + 1); smaller ones in one frame, as JSON. The round trip of 16 MiB + 1 streams
    both ways, and the orchestrator's table keeps no stream afterwards."""
    with trio.fail_after(120):
        async with orchestrated("a", "b") as (orch, _lines):
            digests = [await orch.request("b", "digest", body(size)) for size in SIZES]
            big = body(16 * MIB + 1)
            echoed = await orch.request("b", "echo", big, response_type=bytes)
            stats = await orch.routing_statistics()
    for size, digest in zip(SIZES, digests, strict=True):
        assert (digest["size"], digest["crc32"]) == (size, zlib.crc32(body(size))), digest
    assert [d["type"] for d in digests] == ["list"] * 5 + ["bytes"]  # in a stream: bytes
    assert echoed == big
    assert stats.own_streams == 0, stats  # every body stream ended and was forgotten


async def test_an_orchestrator_request_in_flight_holds_up_neither_the_channel_nor_others() -> None:
    """While 64 MiB + 1 go to a module as the orchestrator's own request, its channel stays
    the same (the hub's loop is never held long enough for the module to reconnect) and
    the orchestrator's other requests to it are answered all along."""
    with trio.fail_after(120):
        async with orchestrated("a", "b") as (orch, lines):
            before = [c.label for c in await orch.channels("b")]
            done = trio.Event()
            digest: dict[str, Any] = {}
            slowest = 0.0
            answered = 0

            async def big() -> None:
                digest.update(await orch.request("b", "digest", body(64 * MIB + 1)))
                done.set()

            async with trio.open_nursery() as nursery:
                nursery.start_soon(big)
                while not done.is_set():
                    start = trio.current_time()
                    assert await orch.request("b", "echo", {"n": answered}) == {"n": answered}
                    slowest = max(slowest, trio.current_time() - start)
                    answered += 1
            after = [c.label for c in await orch.channels("b")]
    print(f"{answered} small requests answered during the big one; slowest {slowest:.3f} s")
    assert (digest["size"], digest["type"]) == (64 * MIB + 1, "bytes"), digest
    assert digest["crc32"] == zlib.crc32(body(64 * MIB + 1))
    assert after == before, (before, after)
    assert answered >= 3, answered
    assert not [line for line in lines.lines if "reconnect" in line.lower()], lines.lines


async def test_an_orchestrator_request_over_an_endpoint_limit_is_refused_typed() -> None:
    """The module reads the orchestrator's stream up to the endpoint's limit and refuses the
    rest (``RequestTooLarge``); the hub aborts what it had still to send, and forgets it."""
    with trio.fail_after(60):
        async with orchestrated("b") as (orch, _lines):
            with pytest.raises(ModuleCallFailed) as refused:
                await orch.request("b", "limited", body(16 * MIB + 1))
            after = await orch.request("b", "digest", body(2 * MIB))
            stats = await orch.routing_statistics()
            held = await orch.request("b", "streams", {})
    assert refused.value.error_type == "RequestTooLarge", refused.value
    assert "over the consumer's limit of 1000 bytes" in str(refused.value)
    assert (after["size"], after["type"]) == (2 * MIB, "bytes")
    assert stats.own_streams == 0, stats
    assert held == {"streams": 0, "bodies": 0}, held


async def test_a_hub_crash_mid_body_aborts_the_body_and_the_next_one_goes_through() -> None:
    """The hub crashes while the value of the orchestrator's request is on its way (the
    module is stopped, so the window is full and the body waits for credit): the request
    fails, the module gets the stream's abort (``cancelled``, by the producer) and refuses
    the request it announced, no stream is left on either side, and the next big request
    goes through by itself."""
    with trio.fail_after(90):
        async with orchestrated("b", heartbeat_interval=5.0) as (orch, lines):
            pid = orch.module("b").pid
            assert pid is not None
            failed: list[BaseException] = []

            async def big() -> None:
                try:
                    await orch.request("b", "digest", body(64 * MIB))
                except Exception as exc:
                    failed.append(exc)

            os.kill(pid, signal.SIGSTOP)
            try:
                async with trio.open_nursery() as nursery:
                    nursery.start_soon(big)
                    await trio.testing.wait_all_tasks_blocked()  # the body waits for credit
                    assert (await orch.routing_statistics()).own_streams == 1
                    await orch.kill_hub()
            finally:
                os.kill(pid, signal.SIGCONT)
            after = await orch.request("b", "digest", body(16 * MIB + 1))
            # b read the abort, and answered the request it announced (StreamAborted), on
            # the connection the next request and its reply came on after them: both done.
            held = await orch.request("b", "streams", {})
            stats = await orch.routing_statistics()
    assert [type(exc).__name__ for exc in failed] == ["ActorCrashed"], failed
    assert not [line for line in lines.lines if "digest of 67108864" in line]
    assert (after["size"], after["type"]) == (16 * MIB + 1, "bytes"), after
    assert after["crc32"] == zlib.crc32(body(16 * MIB + 1))
    assert stats.own_streams == 0, stats
    assert stats.late_replies == 1, stats  # b's refusal of the first: nobody waits for it
    assert held == {"streams": 0, "bodies": 0}, held


async def test_a_big_orchestrator_request_to_a_rust_module_goes_whole_or_fails_typed() -> None:
    """Toward a module that takes no streams (no MessagePack declared) the orchestrator's
    own request keeps the one-frame form: 400 KiB of bytes (1.4 MB of JSON) arrive in it,
    9 MiB (over 16 MiB of JSON) fail that request alone with ``PayloadTooLarge``, without
    being written first."""
    lines = Lines()
    manifest = _with_a_rust_like_peer()
    with trio.fail_after(60):
        async with open_orchestrator(manifest, on_output=lines.keep) as orch:
            await orch.module("a").wait_announced()
            await lines.wait_for("[r] reply from a")
            with trio.move_on_after(1):  # the Rust-like peer answers nothing
                await orch.request("r", "anything", body(400 * KIB))
            whole = await lines.wait_for("[r] ignored routed_module_message")
            with pytest.raises(ModuleCallFailed) as too_big:
                await orch.request("r", "anything", body(9 * MIB))
            after = await orch.request("a", "digest", body(5))
    assert int(whole.split("(")[1].split()[0]) > 400 * KIB * 3, whole  # the value itself
    assert too_big.value.error_type == "PayloadTooLarge"
    assert "takes no streams" in str(too_big.value)
    assert after["size"] == 5


# -- limits ----------------------------------------------------------------------------------


async def test_an_endpoint_limit_refuses_bigger_requests_with_a_typed_error() -> None:
    with trio.fail_after(60):
        async with orchestrated("a", "b") as (orch, _lines):
            fits = await step(orch, "a", call="b:limited", size=10)
            over = await step(orch, "a", call="b:limited", size=2000)
            streamed = await step(orch, "a", call="b:limited", size=16 * MIB + 1)
            after = await step(orch, "a", call="b:echo", size=5)
    assert fits == {"same": True, "type": "bytes", "size": 10}
    for result in (over, streamed):
        assert result["error"] == "RequestTooLarge", result
        assert result["error_type"] == "RequestTooLarge"
    assert "takes at most 1000" in over["message"]
    assert "over the consumer's limit of 1000 bytes" in streamed["message"]
    assert after["same"]  # the router goes on


# -- failures --------------------------------------------------------------------------------


async def test_a_cancelled_producer_aborts_the_consumer_with_cancelled() -> None:
    with trio.fail_after(60):
        async with orchestrated("a", "b") as (orch, lines):
            result = await step(
                orch, "a", upload="b:upload", size=8 * MIB, chunk=64 * KIB,
                cancel_after=2 * MIB,
            )  # fmt: skip
            line = await lines.wait_for("upload aborted")
            after = await step(orch, "a", upload="b:upload", size=MIB)
    assert result["cancelled"] is True
    assert "reason=cancelled by=producer: the producer was cancelled" in line
    assert after["reply"]["bytes"] == MIB  # the next stream is fine


async def test_a_consumer_that_fails_or_stops_early_aborts_the_producer() -> None:
    with trio.fail_after(60):
        async with orchestrated("a", "b") as (orch, _lines):
            failed = await step(
                orch, "a", upload="b:upload", size=8 * MIB, metadata={"fail_after": "3"}
            )
            stopped = await step(
                orch, "a", upload="b:upload", size=8 * MIB, metadata={"stop_after": "3"}
            )
    assert (failed["error"], failed["reason"], failed["by"]) == (
        "StreamAborted", "crashed", "consumer",
    )  # fmt: skip
    assert "ValueError: failed after 3 chunks on purpose" in failed["message"]
    assert (stopped["error"], stopped["reason"], stopped["by"]) == (
        "StreamAborted", "cancelled", "consumer",
    )  # fmt: skip
    assert "returned before the end" in stopped["message"]


async def test_a_stream_to_an_endpoint_or_module_that_is_not_there_fails_typed() -> None:
    with trio.fail_after(60):
        async with orchestrated("a", "b") as (orch, _lines):
            no_endpoint = await step(orch, "a", upload="b:nope", size=0)
            no_module = await step(orch, "a", upload="zz:upload", size=MIB)
    assert no_endpoint["error"] == "NoSuchEndpoint", no_endpoint
    assert no_module["error"] in ("StreamAborted", "NoSuchModule"), no_module
    if no_module["error"] == "StreamAborted":
        assert no_module["reason"] == "refused"
        assert "no module named 'zz'" in no_module["message"]


async def test_a_reply_stream_closed_early_ends_and_a_failing_source_aborts() -> None:
    with trio.fail_after(60):
        async with orchestrated("a", "b") as (orch, _lines):
            stopped = await step(
                orch, "a", download="b:download", request={"size": 64 * MIB}, stop_after=MIB
            )
            failed = await step(
                orch, "a", download="b:download", request={"size": 8 * MIB, "fail_at": MIB}
            )
            after = await step(orch, "a", download="b:download", request={"size": MIB})
    assert stopped["bytes"] == MIB
    assert stopped["crc_ok"]
    assert (failed["error"], failed["reason"], failed["by"]) == (
        "StreamAborted", "crashed", "producer",
    )  # fmt: skip
    assert "RuntimeError: the download's source failed on purpose" in failed["message"]
    assert after == {"bytes": MIB, "crc_ok": True, "metadata": {}}


async def _slow_upload(orch: Orchestrator, size: int) -> Any:
    return await step(
        orch, "a", upload="b:upload", size=size, chunk=64 * KIB,
        metadata={"sleep": "0.02", "slow_chunks": "100000"},
    )  # fmt: skip


async def test_a_consumer_module_killed_mid_stream_aborts_the_producer() -> None:
    with trio.fail_after(60):
        async with orchestrated("a", "b") as (orch, lines), trio.open_nursery() as nursery:
            outcome: list[Any] = []

            async def upload() -> None:
                outcome.append(await _slow_upload(orch, 64 * MIB))

            nursery.start_soon(upload)
            await lines.wait_for("upload receiving from a")
            pid = orch.module("b").pid
            assert pid is not None
            os.kill(pid, signal.SIGKILL)
    (result,) = outcome
    assert (result["error"], result["reason"], result["by"]) == (
        "StreamAborted", "stopped", "consumer",
    ), result  # fmt: skip
    # From the relay ("lost its channel mid-stream") or from the announcing request
    # ("ChannelLost"), whichever comes first: the same abort.
    assert "module 'b'" in result["message"]


async def test_a_producer_module_killed_mid_stream_aborts_the_consumer() -> None:
    with trio.fail_after(60):
        async with orchestrated("a", "b") as (orch, lines), trio.open_nursery() as nursery:

            async def upload() -> None:
                with pytest.raises(ModuleCallFailed):  # a dies under its own request
                    await _slow_upload(orch, 64 * MIB)

            nursery.start_soon(upload)
            await lines.wait_for("upload receiving from a")
            pid = orch.module("a").pid
            assert pid is not None
            os.kill(pid, signal.SIGKILL)
            line = await lines.wait_for("upload aborted")
    assert "reason=stopped by=producer: module 'a' lost its channel mid-stream" in line


async def test_a_reply_stream_nobody_reads_ends_idle_on_both_sides() -> None:
    """A caller that takes a reply stream and never iterates it would hold the producer for
    ever: after the idle timeout (1 s here, 120 s by default) both sides get ``idle``."""
    with trio.fail_after(60):
        async with orchestrated("a", "b", env={"STREAMER_IDLE": "1"}) as (orch, lines):
            unread = await step(
                orch, "a", download="b:download", request={"size": 16 * MIB}, unread=True
            )
            producer = await lines.wait_for("a stream the module sent ended early")

            after = await step(orch, "a", download="b:download", request={"size": 3 * MIB})
    assert (unread["error"], unread["reason"]) == ("StreamAborted", "idle"), unread
    assert "idle timeout" in unread["message"]
    assert producer.startswith("[b]"), producer
    assert "reason=idle" in producer
    assert "idle timeout" in producer
    assert after == {"bytes": 3 * MIB, "crc_ok": True, "metadata": {}}  # read: not idle


# -- let it crash ----------------------------------------------------------------------------

SLOWLY = {"sleep": "0.01", "slow_chunks": "60"}


async def _start_slow_upload(
    orch: Orchestrator, lines: Lines, slowly: dict[str, str] = SLOWLY
) -> None:
    """Module a uploads 16 MiB to b, slowly at first, from its actor ``background``."""
    await orch.request(
        "a", "start", {"upload": "b:upload", "size": 16 * MIB, "chunk": 64 * KIB,
                       "metadata": slowly},
    )  # fmt: skip
    await lines.wait_for("upload receiving from a")


async def test_a_stream_goes_on_across_a_restart_of_the_hub() -> None:
    """The hub keeps the relay in its state: a crash of it mid-stream costs the stream
    nothing."""
    with trio.fail_after(60):
        async with orchestrated("a", "b") as (orch, lines):
            await _start_slow_upload(orch, lines)
            await orch.kill_hub()
            result = await orch.request("a", "result", {})
    assert "reply" in result, (result, lines.lines[-20:])
    assert result["reply"]["bytes"] == 16 * MIB
    assert result["reply"]["crc32"] == zlib.crc32(body(16 * MIB))


@pytest.mark.parametrize("module", ["a", "b"])
async def test_a_stream_goes_on_across_a_crash_of_either_router(module: str) -> None:
    """The streams table, the consumer's handler (a lasting task) and the producer's wait for
    the answer (held by the table) all outlive a crash of the router, of the producer (a) or
    of the consumer (b): the stream in flight finishes by itself, every byte once and in
    order, and the next stream goes through."""
    with trio.fail_after(90):
        async with orchestrated("a", "b") as (orch, lines):
            # 2 s slow at first (10 chunks in flight at most): the crash comes mid-stream.
            await _start_slow_upload(orch, lines, {"sleep": "0.02", "slow_chunks": "100"})
            await _crash(orch, module, "pywatt.router")
            result = await orch.request("a", "result", {})
            after = await step(orch, "a", upload="b:upload", size=3 * MIB)
            restarts = await orch.request(module, "incarnation", {"actor": "pywatt.router"})
    assert "reply" in result, (result, lines.lines[-20:])
    assert result["reply"]["bytes"] == 16 * MIB
    assert result["reply"]["chunks"] == 16 * MIB // (64 * KIB)
    assert result["reply"]["crc32"] == result["sent_crc32"] == zlib.crc32(body(16 * MIB))
    assert after["reply"]["bytes"] == 3 * MIB
    assert restarts >= 2, "the router did not crash"


@pytest.mark.parametrize("module", ["a", "b"])
async def test_a_stream_goes_on_across_a_crash_of_either_channels_actor(module: str) -> None:
    """The connections are the channels actor's name's, not its incarnation's: a crash of
    it, in the producer (a) or the consumer (b), mid-stream, costs the stream nothing. The
    stream finishes by itself, every byte once and in order, and the next one goes
    through."""
    with trio.fail_after(90):
        async with orchestrated("a", "b") as (orch, lines):
            before = {m: [c.label for c in await orch.channels(m)] for m in ("a", "b")}
            await _start_slow_upload(orch, lines, {"sleep": "0.02", "slow_chunks": "100"})
            await orch.request(module, "crash", {"actor": CHANNELS_ACTOR})
            result = await orch.request("a", "result", {})
            after = await step(orch, "a", upload="b:upload", size=3 * MIB)
            restarts = await orch.request(module, "incarnation", {"actor": CHANNELS_ACTOR})
            held = [await orch.request(m, "streams", {}) for m in ("a", "b")]
            stats = await orch.routing_statistics()
            now = {m: [c.label for c in await orch.channels(m)] for m in ("a", "b")}
    assert "reply" in result, (result, lines.lines[-20:])
    assert result["reply"]["bytes"] == 16 * MIB
    assert result["reply"]["chunks"] == 16 * MIB // (64 * KIB)
    assert result["reply"]["crc32"] == result["sent_crc32"] == zlib.crc32(body(16 * MIB))
    assert after["reply"]["bytes"] == 3 * MIB
    assert restarts >= 2, "the channels actor did not crash"
    assert now == before  # the same connections all along
    assert held == [{"streams": 0, "bodies": 0}] * 2, held
    assert stats.relayed_streams <= 2, stats  # ended ones are kept a while (ENDED_TTL)


@pytest.mark.parametrize("actor", ["pywatt.router", CHANNELS_ACTOR])
@pytest.mark.parametrize("module", ["a", "b"])
async def test_a_stream_reply_goes_on_across_a_crash_of_either_router(
    module: str, actor: str
) -> None:
    """A stream reply's sending (b, a lasting task) and its reading (a, the caller's task
    with the stream in the table) both outlive a crash of their router, or of their
    channels actor (the connections are its name's, not its incarnation's)."""
    with trio.fail_after(90):
        async with orchestrated("a", "b") as (orch, lines):
            await orch.request(
                "a", "start", {"download": "b:download", "request": {"size": 16 * MIB},
                               "slow_chunks": 100, "sleep": 0.02},
            )  # fmt: skip
            await lines.wait_for("download receiving from b:download")
            await _crash(orch, module, actor)
            result = await orch.request("a", "result", {})
            restarts = await orch.request(module, "incarnation", {"actor": actor})
    assert result == {"bytes": 16 * MIB, "crc_ok": True, "metadata": {}}, (result, lines.lines)
    assert restarts >= 2, f"{actor} did not crash"


async def _crash(orch: Orchestrator, module_id: str, actor: str) -> None:
    """Crash ``actor`` in ``module_id`` and return once its next incarnation runs. The crash
    is told, not done, when ``crash`` answers: a request the old router takes meanwhile (a
    long ``result``) is one the crash interrupts, rightly (``RequestInterrupted``). A plain
    function serves ``incarnation``: answered at once, never interrupted."""
    await orch.request(module_id, "crash", {"actor": actor})
    while await orch.request(module_id, "incarnation", {"actor": actor}) < 2:  # noqa: ASYNC110 (asked of the module)
        await trio.sleep(0.01)


async def _held(orch: Orchestrator, module_id: str) -> dict[str, int]:
    held: dict[str, int] = await orch.request(module_id, "streams", {})
    return held


@pytest.mark.parametrize("kind", ["request", "reply"])
async def test_a_router_crash_mid_body_aborts_the_body_on_both_sides(kind: str) -> None:
    """The caller's router crashes while the value of its big request (``request``: b is
    stopped, so the body waits for credit) or of the reply (``reply``: 256 MiB coming) is
    on its way: the asker gets a typed error, the body stream is aborted on both sides, no
    stream is left in either module's table nor in the orchestrator's relay, and the next
    big request goes through by itself."""
    with trio.fail_after(120):
        async with orchestrated("a", "b", heartbeat_interval=5.0) as (orch, lines):
            pid = orch.module("b").pid
            assert pid is not None
            if kind == "request":
                os.kill(pid, signal.SIGSTOP)  # b reads nothing: the body waits for credit
                work: dict[str, Any] = {"call": "b:echo", "size": 64 * MIB}
            else:
                work = {"call": "b:make", "request": {"size": 256 * MIB}}
            try:
                await orch.request("a", "start", work)
                while not (await _held(orch, "a"))["streams"]:  # noqa: ASYNC110 (a's table)
                    await trio.sleep(0.001)
                await _crash(orch, "a", "pywatt.router")
                result = await orch.request("a", "result", {})
            finally:
                if kind == "request":
                    os.kill(pid, signal.SIGCONT)
            # The abort goes through the relay, and b reads it once it runs again.
            while (await orch.routing_statistics()).relayed_streams:  # noqa: ASYNC110 (hub's)
                await trio.sleep(0.01)
            for module_id in ("a", "b"):
                while await _held(orch, module_id) != {"streams": 0, "bodies": 0}:  # noqa: ASYNC110
                    await trio.sleep(0.01)
            # The other side's typed end. Reply: b's sending of the value sees a's abort.
            # Request: a's router told the hub it gave up on the request (cancelled), and
            # b's answer to it (StreamAborted: its value was aborted) comes late to the hub.
            if kind == "reply":
                told = await lines.wait_for(
                    "[b] INFO a stream the module sent ended early: reason=cancelled "
                    "by=consumer: the consumer was cancelled"
                )
            else:
                while (stats := await orch.routing_statistics()).late_replies < 1:  # noqa: ASYNC110
                    await trio.sleep(0.01)
                told = f"cancelled={stats.cancelled} late_replies={stats.late_replies}"
                assert stats.cancelled == 1, stats
            after = await step(orch, "a", call="b:echo", size=16 * MIB + 1)
            restarts = await orch.request("a", "incarnation", {"actor": "pywatt.router"})
    assert told
    assert result["error"] == "ActorCrashed", (result, lines.lines[-20:])
    assert "pywatt.router" in result["message"]
    assert after == {"same": True, "type": "bytes", "size": 16 * MIB + 1}, after
    assert restarts >= 2, "the router did not crash"


# -- a producer that breaks the rules ----------------------------------------------------------


async def _raw_producer(orch: Orchestrator, module_id: str) -> trio.abc.Stream:
    """A raw connection as module ``module_id``, declared pywatt with MessagePack."""
    endpoints = orch.endpoints(module_id)
    assert endpoints.socket_path is not None
    stream = await trio.open_unix_socket(endpoints.socket_path)
    declared = ModuleDeclaration(
        version="0.1.0", auth_token=endpoints.token, formats=frozenset({"json", "msgpack"})
    )
    await stream.send_all(declaration_frame(declared))
    return stream


async def _abort_and_reply(
    stream: trio.abc.Stream, decoder: FrameDecoder
) -> tuple[StreamAbort, dict[str, Any]]:
    """The abort frame and the reply to the announcing request, as the producer gets them."""
    abort: StreamAbort | None = None
    reply: dict[str, Any] | None = None
    while abort is None or reply is None:
        frame = decoder.next_frame()
        if frame is NEED_DATA:
            data = await stream.receive_some(65536)
            assert data, f"the orchestrator closed the connection (abort {abort}, reply {reply})"
            decoder.feed(data)
            continue
        if frame.format is FrameFormat.MSGPACK:
            routed = parse_binary_routed(frame.payload)  # a reply in the binary form
            if isinstance(routed, RoutedModuleResponse):
                reply = json.loads(routed.payload.data)
                continue
            decoded = decode_stream_frame(frame.payload)
            if isinstance(decoded, StreamAbort):
                abort = decoded
            continue
        body = json.loads(frame.payload)
        if body.get("op") == "routed_module_response":
            reply = json.loads(bytes(body["payload"]["data"]))
    return abort, reply


def _stream_frame(frame: Any) -> bytes:
    return encode_frame(FrameFormat.MSGPACK, encode_stream_frame(frame))


@pytest.mark.parametrize(
    ("broken", "code", "detail"),
    [
        ("gap", "protocol", "StreamData.seq is 3, expected 2 (a gap)"),
        ("repeat", "protocol", "StreamData.seq is 1, expected 2 (a repeat)"),
        ("crc", "integrity", "StreamEnd.crc32 is 12345 but"),
        ("count", "integrity", "StreamEnd.chunks is 5 but 2 arrived"),
        # The orchestrator's own check: a producer past its window is cut off on both sides
        # before the consumer sees the chunk (so no process holds more than a window).
        (
            "window",
            "protocol",
            "module 'x' sent 3 chunks with 0 credited back, over the window of 2",
        ),
    ],
)
async def test_a_gap_a_repeat_or_a_bad_checksum_aborts_both_sides_with_a_clear_message(
    broken: str, code: str, detail: str
) -> None:
    """A raw producer (module x) sends a stream with one rule broken through the relay to a
    real module: the producer gets an abort frame with the code and a reason naming the
    field, and its request fails with the same words."""
    spec = ModuleSpec.from_command("x", str(Path(__file__).parents[1] / "orchestrator"
                                            / "modules" / "raw_module.py"),
                                   kind=ModuleKind.FOREIGN)  # fmt: skip
    lines = Lines()
    manifest = Manifest(
        modules=(ModuleSpec.from_command("b", STREAMER), spec), heartbeat_interval=0.5,
        grace=2.0, term_grace=1.0,
    )  # fmt: skip
    with trio.fail_after(60):
        async with open_orchestrator(manifest, on_output=lines.keep) as orch:
            await orch.module("b").wait_announced()
            await orch.wait_channels("b")
            raw = await _raw_producer(orch, "x")
            sid = uuid.uuid4()
            frames = [
                _stream_frame(
                    StreamOpen(
                        stream_id=sid, endpoint="upload", peer="b",
                        window=2 if broken == "window" else 10,
                    )
                ),
                encode_module_frame(
                    RouteToModule(
                        target_module_id="b", target_endpoint="upload", request_id=uuid.uuid4(),
                        payload=encode_payload(
                            {"pywatt_stream": str(sid)},
                            metadata=MessageMetadata(
                                destination="upload",
                                properties={REPLY_MARKER_PROPERTY: REPLY_MARKER_VALUE},
                            ),
                        ),
                    )
                ),
                _stream_frame(StreamData(stream_id=sid, seq=0, payload=b"ab")),
                _stream_frame(StreamData(stream_id=sid, seq=1, payload=b"cd")),
            ]  # fmt: skip
            crc = zlib.crc32(b"abcd")
            last = {
                "gap": StreamData(stream_id=sid, seq=3, payload=b"ef"),
                "repeat": StreamData(stream_id=sid, seq=1, payload=b"cd"),
                "crc": StreamEnd(stream_id=sid, chunks=2, length=4, crc32=12345),
                "count": StreamEnd(stream_id=sid, chunks=5, length=4, crc32=crc),
                "window": StreamData(stream_id=sid, seq=2, payload=b"ef"),
            }[broken]
            frames.append(_stream_frame(last))
            await raw.send_all(b"".join(frames))
            abort, reply = await _abort_and_reply(raw, FrameDecoder())
            await raw.aclose()
    assert (abort.stream_id, abort.code.value) == (sid, code)
    # The consumer's router found it as the frames came (the handler may not have run yet):
    # the request that announced the stream fails with the same words.
    assert reply["Err"]["type"].endswith("StreamAborted"), reply
    assert f"({code})" in reply["Err"]["message"]
    assert detail in reply["Err"]["message"]
    assert detail in abort.reason


async def test_the_orchestrator_sends_a_big_value_in_the_wire_form_and_within_the_window() -> None:
    """As a raw module (x, MessagePack declared) sees the orchestrator's own big request:
    the open (``peer`` ``pywatt.orchestrator``, ``pywatt.body`` metadata), the request whose
    ``pywatt_body`` names the stream, then no more data frames than the window until credit
    comes back, the end with the count, length and CRC-32, and a body that is the value as
    MessagePack ``bin``. The raw module's reply answers ``orch.request``."""
    spec = ModuleSpec.from_command("x", str(Path(__file__).parents[1] / "orchestrator"
                                            / "modules" / "raw_module.py"),
                                   kind=ModuleKind.FOREIGN)  # fmt: skip
    manifest = Manifest(modules=(spec,), heartbeat_interval=0.5, grace=2.0, term_grace=1.0)
    payload = body(MIB + 5)
    answer: list[Any] = []
    with trio.fail_after(60):
        async with open_orchestrator(manifest) as orch, trio.open_nursery() as nursery:
            raw = await _raw_producer(orch, "x")
            await orch.wait_channels("x")

            async def ask() -> None:
                answer.append(await orch.request("x", "take", payload))

            nursery.start_soon(ask)
            frames = _Frames(raw)
            opened: StreamOpen | None = None
            request: dict[str, Any] | None = None
            while opened is None or request is None:
                frame = await frames.next()
                if frame.format is FrameFormat.MSGPACK:
                    decoded = decode_stream_frame(frame.payload)
                    assert isinstance(decoded, StreamOpen), decoded
                    opened = decoded
                elif json.loads(frame.payload).get("op") == "routed_module_message":
                    request = json.loads(frame.payload)
            assert (opened.peer, opened.endpoint) == ("pywatt.orchestrator", "take")
            assert opened.metadata.get("pywatt.body") == "value"
            inner = json.loads(bytes(request["payload"]["data"]))
            assert inner["content"] is None
            assert inner["metadata"]["properties"]["pywatt_body"] == str(opened.stream_id)
            # Without credit the orchestrator sends a window of chunks and then waits.
            chunks: list[bytes] = []
            with trio.move_on_after(1.0):
                while True:
                    frame = await frames.next()
                    if frame.format is FrameFormat.MSGPACK:
                        data = decode_stream_frame(frame.payload)
                        assert isinstance(data, StreamData), data
                        assert data.seq == len(chunks)
                        chunks.append(data.payload)
            assert len(chunks) == opened.window == 10
            end: StreamEnd | None = None
            granted = 0  # beyond the window: one more chunk for each credit frame
            while end is None:
                granted += 1
                credit = StreamCredit(stream_id=opened.stream_id, credit=1, granted=granted)
                await raw.send_all(_stream_frame(credit))
                while len(chunks) < opened.window + granted and end is None:
                    frame = await frames.next()
                    if frame.format is not FrameFormat.MSGPACK:
                        continue  # a heartbeat
                    got = decode_stream_frame(frame.payload)
                    if isinstance(got, StreamEnd):
                        end = got
                    else:
                        assert isinstance(got, StreamData), got
                        assert got.seq == len(chunks), got
                        chunks.append(got.payload)
            value = b"".join(chunks)
            assert (end.chunks, end.length, end.crc32) == (
                len(chunks), len(value), zlib.crc32(value)
            )  # fmt: skip
            assert decode_body(value, Any) == payload  # bytes as bin
            answered = EncodedMessage(data=encode_reply_ok(len(value)), format=EncodingFormat.JSON)
            reply = RouteToModule(
                target_module_id="pywatt.orchestrator", target_endpoint="pywatt.reply",
                request_id=uuid.UUID(request["original_request_id"]), payload=answered,
            )  # fmt: skip
            await raw.send_all(encode_module_frame(reply))
    assert answer == [len(value)]


class _Frames:
    """The frames a raw connection reads, one at a time (a cancelled read loses none)."""

    def __init__(self, stream: trio.abc.Stream) -> None:
        self.stream = stream
        self.decoder = FrameDecoder()

    async def next(self) -> Any:
        while (frame := self.decoder.next_frame()) is NEED_DATA:
            data = await self.stream.receive_some(65536)
            assert data, "the orchestrator closed the connection"
            self.decoder.feed(data)
        return frame


# -- toward a module that takes no streams ------------------------------------------------------


async def test_a_big_request_to_a_rust_module_goes_whole_as_before_or_fails_too_large() -> None:
    """The orchestrator refuses the stream of the value (the target did not declare
    MessagePack) and answers the request that names it, so the Rust module never sees it;
    the caller sends the value in the request itself, as it always did: 400 KiB of bytes (1.4 MB
    of JSON) arrive (the Rust-like peer ignores them, so the call times out), 9 MiB (over
    16 MiB of JSON) are MessageTooLarge."""
    lines = Lines()
    manifest = _with_a_rust_like_peer()
    with trio.fail_after(60):
        async with open_orchestrator(manifest, on_output=lines.keep) as orch:
            await orch.module("a").wait_announced()
            await orch.wait_channels("a")
            await lines.wait_for("[r] reply from a")
            whole = await step(orch, "a", call="r:anything", size=400 * KIB, timeout=3)
            too_big = await step(orch, "a", call="r:anything", size=9 * MIB, timeout=3)
            after = await step(orch, "a", call="a:echo", size=5)
    assert whole["error"] == "RequestTimeout", whole
    ignored = [line for line in lines.lines if "[r] ignored routed_module_message" in line]
    assert len(ignored) == 1, lines.lines[-20:]  # the request sent whole, not the announcing one
    assert too_big["error"] == "MessageTooLarge", too_big
    assert after["same"]


async def test_a_big_notification_to_a_rust_module_goes_whole_or_is_dropped_and_logged() -> None:
    """A notification's stream is refused like a request's: the orchestrator drops the
    announcing notification and answers StreamRefused, and the router sends the value whole
    (400 KiB of bytes, 1.4 MB of JSON); over the frame limit (9 MiB) it is dropped and
    logged, since nobody waits for an answer."""
    lines = Lines()
    manifest = _with_a_rust_like_peer()
    with trio.fail_after(60):
        async with open_orchestrator(manifest, on_output=lines.keep) as orch:
            await orch.module("a").wait_announced()
            await orch.wait_channels("a")
            await lines.wait_for("[r] reply from a")
            await step(orch, "a", notify="r:anything", size=400 * KIB)
            first = await lines.wait_for("[r] ignored routed_module_message")
            await step(orch, "a", notify="r:anything", size=9 * MIB)
            lost = await lines.wait_for("is lost")
            await step(orch, "a", notify="r:anything", size=10)
            while len(ignored := [x for x in lines.lines if "ignored routed_module" in x]) < 2:
                await lines.changed.wait()
    assert first == ignored[0]
    whole = int(first.split("(")[1].split()[0])
    assert whole > 400 * KIB * 3, first  # the value itself, as JSON, not the announcement
    assert int(ignored[1].split("(")[1].split()[0]) < 1000, ignored  # the 10 B one next
    assert "a notification to r/anything is lost" in lost
    assert "MessageTooLarge" in lost or "limit" in lost, lost
