"""The orchestrator link's requests answered on stdin: keyed, with protocol deadlines, and
never left waiting when stdin ends or the link restarts."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import attrs
import pytest
import trio
import trio.testing

import actors
from actors.testing import settle
from pywatt.link import (
    CallService,
    FetchRemoteSecret,
    LinkClosed,
    LinkShutdown,
    PortNegotiationFailed,
    RequestPort,
    StdioLink,
    StdioTimeout,
)
from pywatt.secrets import ForwardedSecretFetch, SecretNotFound, SecretUnavailable
from pywatt.wire import (
    GetSecretRequest,
    IpcPortNegotiation,
    IpcPortNegotiationResponse,
    LineDecoder,
    SecretError,
    SecretValueResponse,
    ServiceOperation,
    ServiceOperationResult,
    ServiceType,
)

from .harness import Peer

LINK = "pywatt.link"


@attrs.define
class Rig:
    system: actors.ActorSystem
    peer: Peer
    shutdowns: list[str]
    outcomes: list[object] = attrs.field(factory=list)

    def ask_soon(self, nursery: trio.Nursery, message: Any, name: str = LINK) -> None:
        async def ask() -> None:
            try:
                self.outcomes.append(await self.system.ask(name, message))
            except Exception as exc:
                self.outcomes.append(exc)

        nursery.start_soon(ask)


class Shutdowns(actors.Actor[LinkShutdown]):
    """Stands in for the module's lifecycle actor: keeps the reasons the link tells."""

    def __init__(self, into: list[str]) -> None:
        self.into = into

    async def receive(self, message: LinkShutdown) -> None:
        self.into.append(message.reason)


@asynccontextmanager
async def rig(**options: Any) -> AsyncIterator[Rig]:
    stdin_send, stdin_receive = trio.testing.memory_stream_one_way_pair()
    stdout_send, stdout_receive = trio.testing.memory_stream_one_way_pair()
    shutdowns: list[str] = []
    async with actors.open_actor_system() as system:
        await system.spawn(lambda: Shutdowns(shutdowns), name="test.lifecycle")
        await system.spawn(
            lambda: StdioLink(
                stdin=stdin_receive,
                stdout=stdout_send,
                decoder=LineDecoder(first_line_max=None),
                notify="test.lifecycle",
                module_id="m",
                **options,
            ),
            name=LINK,
        )
        yield Rig(system, Peer(stdin_send, stdout_receive), shutdowns)


async def test_a_port_request_times_out_then_a_late_answer_is_ignored(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with rig(port_deadline=10.0) as r:
        start = trio.current_time()
        async with trio.open_nursery() as nursery:
            r.ask_soon(nursery, RequestPort())
            request = await r.peer.read()
        assert trio.current_time() - start == pytest.approx(10.0)
        assert isinstance(r.outcomes[0], StdioTimeout)
        assert "a port request within 10 s" in str(r.outcomes[0])
        assert isinstance(request, IpcPortNegotiation)
        late = IpcPortNegotiationResponse(request_id=request.request_id, success=True, port=80)
        await r.peer.send(late)
        await settle()  # nothing waits for it: dropped, and the link serves on
        async with trio.open_nursery() as nursery:
            r.ask_soon(nursery, RequestPort(8080))
            request = await r.peer.read()
            assert isinstance(request, IpcPortNegotiation)
            await r.peer.send(IpcPortNegotiationResponse(request_id="other", success=False, port=0))
        assert isinstance(r.outcomes[1], PortNegotiationFailed)  # the only one pending: used


async def test_askers_of_one_secret_share_a_line_and_each_gets_an_error_of_its_own() -> None:
    async with rig() as r:
        async with trio.open_nursery() as nursery:
            r.ask_soon(nursery, FetchRemoteSecret("DB"))
            r.ask_soon(nursery, FetchRemoteSecret("DB"))
            assert await r.peer.read() == GetSecretRequest(name="DB")
            await settle()
            await r.peer.send(SecretError(name="DB", message="no such secret"))
        assert [type(e) for e in r.outcomes] == [SecretNotFound, SecretNotFound]
        assert r.outcomes[0] is not r.outcomes[1]
        async with trio.open_nursery() as nursery:
            r.ask_soon(nursery, FetchRemoteSecret("DB"))
            assert await r.peer.read() == GetSecretRequest(name="DB")  # a new line
            await r.peer.send(SecretValueResponse(name="DB", value="v"))
        assert r.outcomes[2] == "v"


async def test_one_operation_per_connection_and_a_result_without_echo_is_the_only_ones() -> None:
    call = CallService("c1", ServiceType.DATABASE, "query", {"sql": "select 1"})
    async with rig() as r:
        async with trio.open_nursery() as nursery:
            r.ask_soon(nursery, call)
            assert isinstance(await r.peer.read(), ServiceOperation)
            await settle()
            r.ask_soon(nursery, call)
            await settle()
            await r.peer.send(ServiceOperationResult(success=True, result=[1]))
        assert "is in flight" in str(r.outcomes[0])
        assert r.outcomes[1] == [1]


async def test_when_stdin_ends_everything_waiting_fails_at_once() -> None:
    async with rig() as r:
        async with trio.open_nursery() as nursery:
            r.ask_soon(nursery, FetchRemoteSecret("DB"))
            r.ask_soon(nursery, RequestPort())
            await r.peer.read()
            await r.peer.read()
            await settle()
            await r.peer.close_stdin()
        assert sorted(type(e).__name__ for e in r.outcomes) == ["LinkClosed", "SecretUnavailable"]
        await settle()  # the link's LinkShutdown reaches the stand-in
        assert r.shutdowns == ["the orchestrator closed stdin"]
        with pytest.raises(LinkClosed):
            await r.system.ask(LINK, RequestPort())
        with pytest.raises(SecretUnavailable):
            await r.system.ask(LINK, FetchRemoteSecret("DB"))


class Forwarder(actors.Actor[FetchRemoteSecret]):
    """Defers each fetch and hands its reply to the link (as the secrets provider does)."""

    async def receive(self, message: FetchRemoteSecret) -> None:
        await self.ctx.system.tell(LINK, ForwardedSecretFetch(message.name, self.ctx.defer_reply()))


async def test_a_forwarded_fetch_fails_when_the_link_crashes_instead_of_hanging() -> None:
    async with rig() as r:
        await r.system.spawn(Forwarder, name="forwarder")
        async with trio.open_nursery() as nursery:
            r.ask_soon(nursery, FetchRemoteSecret("DB"), name="forwarder")
            assert await r.peer.read() == GetSecretRequest(name="DB")
            await settle()
            await actors.testing.crash(r.system, LINK)
        (error,) = r.outcomes
        assert isinstance(error, actors.ActorCrashed)
        assert error.name == LINK
