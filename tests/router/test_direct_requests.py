"""Requests sent in the asker's own task (``DirectRequests``), on a real channel to a fake
orchestrator, built as a module builds them: they go out without a hop through the router's
mailbox, those in flight when the router crashes fail typed at once, and the requests go on
by themselves through the next incarnation."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import trio

import actors
import actors.testing
from actors import SupervisorSpec
from pywatt.module import AppState, ModuleConfig
from pywatt.module._messaging import communication_specs
from pywatt.router import (
    ROUTER,
    DirectRequests,
    GetRouterStatistics,
    RegisterHandler,
    SendRequest,
)
from pywatt.router._payloads import request_payload
from pywatt.wire import (
    REPLY_ENDPOINT,
    REPLY_MARKER_VALUE,
    EncodedMessage,
    InitBlob,
    RoutedModuleMessage,
    RoutedModuleResponse,
    RouteToModule,
    SocketAddress,
    TcpChannelConfig,
    decode_payload_message,
    decode_reply,
    encode_reply_ok,
)
from tests.channels.fake import Peer, fake_orchestrator

ASKERS = 16


@asynccontextmanager
async def module_state() -> AsyncIterator[tuple[AppState[None], DirectRequests, Peer]]:
    """A module's channels and router on a TCP channel to a fake orchestrator; yields the
    module's state, the router's request hook and the orchestrator's end of the channel."""
    async with fake_orchestrator() as orch:
        init = InitBlob(
            orchestrator_api="http://127.0.0.1:9", module_id="me", env={},
            listen="127.0.0.1:0",
            tcp_channel=TcpChannelConfig(
                address=SocketAddress.parse(orch.address), tls_enabled=False, required=False
            ),
        )  # fmt: skip
        config = ModuleConfig(enable_service_discovery=False)
        channels, _registrar, services, runtime = communication_specs(config, init)
        assert runtime.requests is not None
        async with actors.open_actor_system() as system:
            await system.start_supervisor(channels)
            await system.start_supervisor(SupervisorSpec("pywatt.services", services))
            peer = await orch.next_peer()
            yield AppState(system, init, None, config, runtime), runtime.requests, peer


async def answer_pings(peer: Peer) -> None:
    """The orchestrator's side: answer every request for pong with {"pong": n}."""
    while True:
        route = (await peer.read()).content
        if isinstance(route, RouteToModule) and route.target_module_id == "pong":
            content = decode_payload_message(route.payload, Any).content
            await peer.send(
                RoutedModuleResponse(
                    source_module_id="pong",
                    request_id=route.request_id,
                    payload=EncodedMessage(data=encode_reply_ok({"pong": content})),
                )
            )


async def test_requests_go_out_in_the_askers_task_and_survive_a_router_crash() -> None:
    with trio.fail_after(60):
        async with module_state() as (state, direct, peer):
            started: list[int] = []  # requests the running router's hook took, by round
            for_round = [0]

            def counting(hook: Any) -> Any:
                def count(message: SendRequest) -> Any:
                    handle = hook(message)
                    if handle is not None:
                        started.append(for_round[0])
                    return handle

                return count

            await state.system.ask(ROUTER, GetRouterStatistics())  # started: its hook is lent
            assert direct.hook is not None
            first = direct.hook = counting(direct.hook)
            outcomes: list[str] = []
            answered = [0, 0]  # round 0 (before the crash), round 1 (after)
            enough = [trio.Event(), trio.Event()]

            async def ask(k: int) -> None:
                n = 0
                while True:
                    n += 1
                    value = ASKERS * n + k
                    try:
                        answer = await state.send_request("pong:ping", value, timeout=20)
                    except actors.ActorCrashed:  # in flight when the router crashed: typed
                        outcomes.append("crashed")
                        continue
                    assert answer == {"pong": value}
                    outcomes.append("ok")
                    answered[for_round[0]] += 1
                    if answered[for_round[0]] >= 200:
                        enough[for_round[0]].set()

            async with trio.open_nursery() as nursery:
                nursery.start_soon(answer_pings, peer)
                for k in range(ASKERS):
                    nursery.start_soon(ask, k)
                await enough[0].wait()
                for_round[0] = 1
                assert await actors.testing.crash(state.system, ROUTER) == 1
                await state.system.ask(ROUTER, GetRouterStatistics())  # the next incarnation's
                assert direct.hook is not None
                assert direct.hook is not first
                direct.hook = counting(direct.hook)
                await enough[1].wait()  # traffic resumed by itself
                nursery.cancel_scope.cancel()
            assert set(outcomes) <= {"ok", "crashed"}
            # The requests went through the hooks, not the mailbox (but for each asker's
            # first, sent before the hook was counted, and those sent during the restart).
            assert started.count(0) >= answered[0] - ASKERS
            assert started.count(1) >= 200 - ASKERS
            stats = await state.system.ask(ROUTER, GetRouterStatistics())
            assert stats.sent >= 200  # the new incarnation counts what it sent


async def test_without_a_running_router_a_request_is_asked_of_the_router() -> None:
    direct = DirectRequests()
    request = SendRequest("pong", "ping", 1)
    assert direct.start(request) is None  # no incarnation: the asker asks the router
    handles: list[SendRequest] = []
    direct.hook = lambda message: handles.append(message)  # type: ignore[func-returns-value]
    assert direct.start(request) is None
    assert handles == [request]


async def test_requests_to_a_function_are_served_in_the_readers_step_across_a_router_crash() -> (
    None
):
    """Requests from the orchestrator for an endpoint served by a function do not pass
    through the router's mailbox; a crash mid-traffic costs nothing but the crash, and the
    next incarnation serves the same endpoint the same way by itself."""
    with trio.fail_after(60):
        async with module_state() as (state, _, peer):
            await state.system.ask(ROUTER, RegisterHandler("echo", lambda n: {"echo": n}))
            before = state.system.statistics(ROUTER).mailbox.processed
            total, crash_at = 400, 200
            answers: dict[uuid.UUID, Any] = {}
            sent: list[uuid.UUID] = []

            async def read_replies() -> None:
                while len(answers) < total:
                    route = (await peer.read()).content
                    if isinstance(route, RouteToModule) and route.target_endpoint == REPLY_ENDPOINT:
                        answers[route.request_id] = decode_reply(route.payload.data, Any)

            async with trio.open_nursery() as nursery:
                nursery.start_soon(read_replies)
                for n in range(total):
                    request_id = uuid.uuid4()
                    payload = request_payload(n, "echo", REPLY_MARKER_VALUE, None, 20_000)
                    await peer.send(
                        RoutedModuleMessage(
                            source_module_id="caller",
                            original_request_id=request_id,
                            payload=payload,
                        )
                    )
                    sent.append(request_id)
                    if n == crash_at:
                        assert await actors.testing.crash(state.system, ROUTER) == 1
            assert sorted(answers) == sorted(sent)
            assert sorted(v["echo"] for v in answers.values()) == list(range(total))
            stats = state.system.statistics(ROUTER)
            assert stats.incarnation == 2  # it crashed once, and serves on by itself
            # Served in the reader's step: far fewer messages than requests went through
            # the mailbox (those read while the router restarted did, and the first ones).
            assert stats.mailbox.processed - before < total // 2
