"""The router crashed mid-traffic on a real channel, built as a module builds it: the endpoints
served before the crash are served after it without anyone registering them again, and
requests both ways go on by themselves."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import trio

import actors
import actors.testing
from actors import SupervisorSpec
from pywatt.module import ModuleConfig
from pywatt.module._messaging import communication_specs
from pywatt.router import ROUTER, GetRouterStatistics, RegisterHandler, SendRequest
from pywatt.wire import (
    REPLY_ENDPOINT,
    EncodedMessage,
    InitBlob,
    MessageMetadata,
    ReplyError,
    RoutedModuleMessage,
    RoutedModuleResponse,
    RouteToModule,
    SocketAddress,
    TcpChannelConfig,
    decode_payload_message,
    decode_reply,
    encode_payload,
    encode_reply_ok,
)
from tests.channels.fake import Peer, fake_orchestrator

from .test_router import _request, rig

ROUNDS, BATCH, CRASH_ROUND = 6, 10, 2


@asynccontextmanager
async def module_channel() -> AsyncIterator[tuple[actors.ActorSystem, Peer]]:
    """A module's channels and services tree (router, no discovery) on a TCP channel to a
    fake orchestrator; yields the system and the orchestrator's end of the channel."""
    async with fake_orchestrator() as orch:
        init = InitBlob(
            orchestrator_api="http://127.0.0.1:9", module_id="me", env={},
            listen="127.0.0.1:0",
            tcp_channel=TcpChannelConfig(
                address=SocketAddress.parse(orch.address), tls_enabled=False, required=False
            ),
        )  # fmt: skip
        config = ModuleConfig(enable_service_discovery=False)
        channels, _registrar, services, _runtime = communication_specs(config, init)
        async with actors.open_actor_system() as system:
            await system.start_supervisor(channels)
            await system.start_supervisor(SupervisorSpec("pywatt.services", services))
            yield system, await orch.next_peer()


async def test_a_router_crashed_mid_traffic_serves_the_same_endpoints_again_by_itself() -> None:
    with trio.fail_after(30):
        async with module_channel() as (system, peer):
            await exchange(system, peer)


async def exchange(system: actors.ActorSystem, peer: Peer) -> None:
    # What state.serve("echo", ...) asks; nobody registers anything again below.
    await system.ask(ROUTER, RegisterHandler("echo", lambda n: {"echo": n}))
    crashes: list[actors.Crashed] = []
    system.events.subscribe(
        lambda e: crashes.append(e) if isinstance(e, actors.Crashed) and e.name == ROUTER else None
    )
    sending = trio.Lock()  # the reader answers pings while the test sends requests
    replies_send, replies = trio.open_memory_channel[tuple[uuid.UUID, Any]](ROUNDS * BATCH)

    async def send(message: Any) -> None:
        async with sending:
            await peer.send(message)

    async def read_frames() -> None:
        while True:
            route = (await peer.read()).content
            if not isinstance(route, RouteToModule):
                continue
            if route.target_endpoint == REPLY_ENDPOINT:
                await replies_send.send((route.request_id, decode_reply(route.payload.data, Any)))
            else:  # the module's own request to "pong": answer it
                content = decode_payload_message(route.payload, Any).content
                data = encode_reply_ok({"pong": content})
                await send(RoutedModuleResponse(source_module_id="pong",
                                                request_id=route.request_id,
                                                payload=EncodedMessage(data=data)))  # fmt: skip

    outgoing: list[str] = []
    crashed = trio.Event()
    resumed = trio.Event()

    async def ask_pong() -> None:
        n = 0
        while True:
            n += 1
            try:
                answer = await system.ask(ROUTER, SendRequest("pong", "ping", n, timeout=10))
            except actors.ActorCrashed:  # in flight when its router crashed: a typed outcome
                outgoing.append("crashed")
                continue
            assert answer == {"pong": n}
            outgoing.append("ok")
            if crashed.is_set() and outgoing[-3:] == ["ok"] * 3:
                resumed.set()

    async with trio.open_nursery() as nursery:
        nursery.start_soon(read_frames)
        nursery.start_soon(ask_pong)
        outcomes: dict[uuid.UUID, Any] = {}
        for round_ in range(ROUNDS):
            sent = []
            for k in range(BATCH):
                request_id = uuid.uuid4()
                payload = encode_payload(round_ * BATCH + k, metadata=MessageMetadata(
                    destination="echo", properties={"pywatt_reply": "result"}))  # fmt: skip
                await send(RoutedModuleMessage(source_module_id="caller",
                                               original_request_id=request_id,
                                               payload=payload))  # fmt: skip
                sent.append(request_id)
                if round_ == CRASH_ROUND and k == BATCH // 2:
                    assert await actors.testing.crash(system, ROUTER) == 1
                    crashed.set()
            for _ in sent:
                request_id, value = await replies.receive()
                outcomes[request_id] = value
        await resumed.wait()
        nursery.cancel_scope.cancel()

    assert len(crashes) == 1
    errors = [v for v in outcomes.values() if isinstance(v, ReplyError)]
    assert errors == []  # before the fix: NoSuchEndpoint for every request after the crash
    assert sorted(v["echo"] for v in outcomes.values()) == list(range(ROUNDS * BATCH))
    assert set(outgoing) <= {"ok", "crashed"}
    stats = await system.ask(ROUTER, GetRouterStatistics())
    assert stats.endpoints == ("echo",)


async def test_a_caller_whose_handler_dies_with_the_router_hears_it_at_once() -> None:
    async with rig() as r:
        stuck = trio.Event()

        async def slow(n: int) -> int:
            if n == 1:  # the first request's handler never finishes
                stuck.set()
                await trio.sleep_forever()
            return n

        await r.ask(RegisterHandler("slow", slow))
        first = _request(1, destination="slow", marker="result")
        await r.inbound(first)
        await stuck.wait()
        await actors.testing.crash(r.system, ROUTER)
        with trio.fail_after(5):  # at once, not at the caller's deadline
            reply = await r.frames.receive()
        assert reply.request_id == first.original_request_id
        error = decode_reply(reply.payload.data, Any)
        assert isinstance(error, ReplyError)
        assert error.error_type == "RequestInterrupted"
        second = _request(2, destination="slow", marker="result")
        await r.inbound(second)  # the restarted router serves "slow" by itself
        reply = await r.frames.receive()
        assert (reply.request_id, decode_reply(reply.payload.data, Any)) == (
            second.original_request_id, 2,
        )  # fmt: skip


def test_replies_go_to_the_router_only_while_one_runs() -> None:
    from pywatt.router import DirectReplies

    direct = DirectReplies()
    reply = RoutedModuleResponse(
        source_module_id="pong", request_id=uuid.uuid4(), payload=EncodedMessage(data=b"{}")
    )
    assert not direct.on_reply("tcp", reply)  # no incarnation: the reader tells the router
    taken: list[tuple[str, RoutedModuleResponse]] = []
    direct.hook = lambda channel, message: taken.append((channel, message))
    assert direct.on_reply("tcp", reply)
    assert taken == [("tcp", reply)]
