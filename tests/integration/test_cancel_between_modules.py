"""Cancels across modules, on real processes under the embedded orchestrator: when a caller
gives up before its deadline (its cancel scope, its module's death, the orchestrator's own
ask), the callee's handler for that request is cancelled at once, not at the deadline; other
requests keep flowing; a cancel for an unknown or finished id, or for another module's
request, changes nothing."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
import trio

from actors import ActorError
from pywatt.channels import encode_module_frame
from pywatt.orchestrator import (
    ConsoleLine,
    Manifest,
    ModuleCallFailed,
    ModuleKind,
    ModuleSpec,
    Orchestrator,
    open_orchestrator,
)
from pywatt.wire import (
    NEED_DATA,
    REPLY_ENDPOINT,
    CancelRequest,
    EncodedMessage,
    FrameDecoder,
    RouteToModule,
)

from ..orchestrator.helpers import raw
from .conftest import MODULES, remember

CANCELLER = str(MODULES / "canceller.py")
DEADLINE = 60.0
"""The callers' timeout: every cancel must land far sooner than this."""


@asynccontextmanager
async def orchestrated(*specs: ModuleSpec) -> AsyncIterator[Orchestrator]:
    lines: list[str] = []

    def keep(line: ConsoleLine) -> None:
        lines.append(f"[{line.module}] {line.text}")

    manifest = Manifest(modules=specs, heartbeat_interval=0.5, grace=2.0, term_grace=1.0)
    async with open_orchestrator(manifest, on_output=keep) as orch:
        yield orch
    remember({}, *lines)


def canceller(module_id: str, *, lines: bool = True) -> ModuleSpec:
    env = {} if lines else {"PYWATT_DIRECT_LINES": "0"}
    return ModuleSpec.from_command(module_id, CANCELLER, env=env)


async def ready(orch: Orchestrator, *module_ids: str) -> None:
    for module_id in module_ids:
        await orch.module(module_id).wait_announced()
        await orch.wait_channels(module_id)


async def _line_up(orch: Orchestrator) -> None:
    """Until a→b requests go on a direct line: their cancels go there too."""
    while True:
        before = (await orch.routing_statistics()).routed
        assert await orch.request("a", "call", {"target": "b:echo", "payload": 1}) == 1
        if (await orch.routing_statistics()).routed == before:
            return


@pytest.mark.parametrize("lines", [False, True], ids=["through_orchestrator", "direct_line"])
async def test_a_caller_that_gives_up_cancels_the_callees_handler(lines: bool) -> None:
    """Through the orchestrator (which forwards the cancel) or on the direct line between
    the two modules (the cancel goes straight to the callee)."""
    with trio.fail_after(45):
        async with orchestrated(canceller("a", lines=lines), canceller("b", lines=lines)) as orch:
            await ready(orch, "a", "b")
            if lines:
                await _line_up(orch)
            for endpoint in ("hold", "hold_actor"):  # an async handler, an actor's
                key = f"scope-{endpoint}"
                start = trio.current_time()
                assert await orch.request("a", "give_up", {"target": f"b:{endpoint}", "key": key})
                assert await orch.request("b", "wait_cancelled", key)
                assert trio.current_time() - start < DEADLINE / 2
                assert await orch.request("b", "state", key) == "cancelled"
            # Other requests keep flowing, both ways.
            assert await orch.request("a", "call", {"target": "b:echo", "payload": 7}) == 7
            assert await orch.request("b", "call", {"target": "a:echo", "payload": 8}) == 8
            stats = await orch.routing_statistics()
            assert stats.cancelled == (0 if lines else 2)
            assert stats.cancels_ignored == 0
            assert stats.lines_granted == (2 if lines else 0)  # a→b, and b→a for its call
            assert await orch.request("a", "stats", None) == {
                "gave_up": 2,
                "cancelled_by_caller": 0,
            }
            assert await orch.request("b", "stats", None) == {
                "gave_up": 0,
                "cancelled_by_caller": 2,
            }


async def test_a_cancel_reaches_the_callee_after_a_crash_of_the_hub() -> None:
    with trio.fail_after(45):  # through the hub, the subject here: no direct line
        async with orchestrated(canceller("a", lines=False), canceller("b")) as orch:
            await ready(orch, "a", "b")
            async with trio.open_nursery() as nursery:

                async def give_up() -> None:
                    request = {"target": "b:hold", "key": "k", "gate": True}
                    # The hub's incarnation that routed this ask crashes: its asker hears it.
                    with contextlib.suppress(ActorError):
                        await orch.request("a", "give_up", request)

                nursery.start_soon(give_up)
                assert await orch.request("b", "wait_started", "k")
                await orch.kill_hub()  # mid-traffic: b's handler runs for a
                assert await orch.request("a", "go", "k")  # now a gives up
                assert await orch.request("b", "wait_cancelled", "k")
            assert await orch.request("a", "call", {"target": "b:echo", "payload": 2}) == 2
            assert (await orch.routing_statistics()).cancelled == 1


async def test_a_module_calling_itself_cancels_in_process() -> None:
    with trio.fail_after(45):
        async with orchestrated(canceller("a")) as orch:
            await ready(orch, "a")
            assert await orch.request("a", "give_up", {"target": "a:hold", "key": "self"})
            assert await orch.request("a", "wait_cancelled", "self")
            assert (await orch.routing_statistics()).cancelled == 0  # never on the wire


async def test_the_callers_module_dying_cancels_its_requests_at_the_callee() -> None:
    with trio.fail_after(45):
        async with orchestrated(canceller("a"), canceller("b")) as orch:
            await ready(orch, "a", "b")
            pid = orch.module("a").pid
            assert pid is not None
            async with trio.open_nursery() as nursery:

                async def call() -> None:
                    try:
                        await orch.request(
                            "a", "call", {"target": "b:hold", "payload": {"key": "k"}}
                        )
                    except ModuleCallFailed as exc:  # a died with our request in hand
                        assert exc.error_type == "ChannelLost"

                nursery.start_soon(call)
                assert await orch.request("b", "wait_started", "k")
                os.kill(pid, signal.SIGKILL)
                assert await orch.request("b", "wait_cancelled", "k")
            # b goes on serving; a comes back and is served again.
            await orch.module("a").wait_until(lambda h: h.pid not in (None, pid))
            await ready(orch, "a")
            assert await orch.request("a", "call", {"target": "b:echo", "payload": 1}) == 1


async def test_the_orchestrators_own_request_is_cancelled_when_its_asker_gives_up() -> None:
    with trio.fail_after(45):
        async with orchestrated(canceller("b")) as orch:
            await ready(orch, "b")
            async with trio.open_nursery() as nursery:
                nursery.start_soon(orch.request, "b", "hold", {"key": "own"})
                assert await orch.request("b", "wait_started", "own")
                nursery.cancel_scope.cancel()
            assert await orch.request("b", "wait_cancelled", "own")
            assert (await orch.routing_statistics()).cancelled == 1


async def _raw_peer(orch: Orchestrator, module_id: str) -> trio.abc.Stream:
    stream = await trio.open_unix_socket(orch.endpoints(module_id).socket_path or "")
    await orch.wait_channels(module_id)
    return stream


def _request(target: str, endpoint: str, request_id: uuid.UUID, content: object) -> bytes:
    metadata = {"destination": endpoint, "properties": {"pywatt_reply": "result"}}
    payload = {"id": str(uuid.uuid4()), "content": content, "metadata": metadata}
    return encode_module_frame(
        RouteToModule(
            target_module_id=target, target_endpoint=endpoint, request_id=request_id,
            payload=EncodedMessage(data=json.dumps(payload).encode()),
        )
    )  # fmt: skip


def _cancel(target: str, request_id: uuid.UUID) -> bytes:
    return encode_module_frame(CancelRequest(target_module_id=target, request_id=request_id))


async def _reply(stream: trio.abc.Stream, decoder: FrameDecoder) -> bytes:
    """The payload of the next frame that is not a heartbeat."""
    while True:
        frame = decoder.next_frame()
        if frame is NEED_DATA:
            data = await stream.receive_some(65536)
            assert data, "the orchestrator closed the connection"
            decoder.feed(data)
            continue
        if b'"op":"heartbeat"' not in frame.payload:
            return bytes(frame.payload)


async def test_only_the_caller_can_cancel_its_request_and_stray_cancels_are_harmless() -> None:
    with trio.fail_after(45):
        async with orchestrated(
            raw("a", kind=ModuleKind.FOREIGN), raw("evil", kind=ModuleKind.FOREIGN),
            canceller("b"),
        ) as orch:  # fmt: skip
            await ready(orch, "b")
            for module_id in ("a", "evil"):  # raw modules: the test is their channel
                await orch.module(module_id).wait_announced()
            a, evil = await _raw_peer(orch, "a"), await _raw_peer(orch, "evil")
            request_id = uuid.uuid4()
            await a.send_all(_request("b", "hold", request_id, {"key": "mine"}))
            assert await orch.request("b", "wait_started", "mine")
            # Another module cannot cancel a's request, even knowing its id; an unknown id
            # and one for a module that does not exist do nothing either.
            await evil.send_all(_cancel("b", request_id))
            await evil.send_all(_cancel("b", uuid.uuid4()))
            await a.send_all(_cancel("nosuchmodule", request_id))
            await a.send_all(_cancel("b", uuid.uuid4()))
            stats = await orch.routing_statistics()
            while stats.cancels_ignored < 4:  # the hub took them in turn
                await orch.request("b", "echo", None)
                stats = await orch.routing_statistics()
            assert stats.cancelled == 0
            assert await orch.request("b", "state", "mine") == "running"
            # The caller itself can; a second cancel of the finished request is ignored.
            await a.send_all(_cancel("b", request_id))
            assert await orch.request("b", "wait_cancelled", "mine")
            await a.send_all(_cancel("b", request_id))
            # Other traffic flows: a's next request is answered on a's connection.
            echo_id = uuid.uuid4()
            await a.send_all(_request("b", "echo", echo_id, "still here"))
            reply = json.loads(await _reply(a, FrameDecoder()))
            assert reply["request_id"] == str(echo_id)
            assert bytes(reply["payload"]["data"]) == b'{"Ok":"still here"}'
            stats = await orch.routing_statistics()
            assert (stats.cancelled, stats.cancels_ignored) == (1, 5)


async def test_a_readiness_probe_the_orchestrator_holds_is_dropped_by_its_cancel() -> None:
    with trio.fail_after(45):
        async with orchestrated(
            raw("a", kind=ModuleKind.FOREIGN), raw("c", kind=ModuleKind.FOREIGN)
        ) as orch:
            for module_id in ("a", "c"):
                await orch.module(module_id).wait_announced()
            a = await _raw_peer(orch, "a")
            # c has no channel: the orchestrator itself holds a's probe for it.
            probe_id = uuid.uuid4()
            await a.send_all(_request("c", "pywatt.ready", probe_id, {"wait": 30}))
            await a.send_all(_cancel("c", probe_id))
            stats = await orch.routing_statistics()
            while stats.cancelled + stats.cancels_ignored < 1:  # the hub took it in turn
                await orch.wait_channels("a")
                stats = await orch.routing_statistics()
            assert (stats.cancelled, stats.cancels_ignored) == (1, 0)
            # c comes up: the probe is gone (else a would be answered for it now), so the
            # first frame a gets is the reply c sends to a's next request.
            c = await _raw_peer(orch, "c")
            echo_id = uuid.uuid4()
            await a.send_all(_request("c", "echo", echo_id, "hi"))
            routed = json.loads(await _reply(c, FrameDecoder()))
            assert routed["original_request_id"] == str(echo_id)
            reply = RouteToModule(
                target_module_id="a", target_endpoint=REPLY_ENDPOINT, request_id=echo_id,
                payload=EncodedMessage(data=b'{"Ok":"hi"}'),
            )  # fmt: skip
            await c.send_all(encode_module_frame(reply))
            answer = json.loads(await _reply(a, FrameDecoder()))
            assert answer["request_id"] == str(echo_id)
