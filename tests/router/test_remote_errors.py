"""Typed remote errors (what a caller can ``except``), the error types a handler's exception is
sent as, and requests a module sends to itself (served in-process, with no channel up)."""

from __future__ import annotations

import uuid
from typing import Any

import attrs
import pytest
import trio

import actors
import pywatt
from pywatt.router import (
    ROUTER,
    GetRouterStatistics,
    ModuleUnavailable,
    NoSuchEndpoint,
    NoSuchModule,
    RegisterHandler,
    RemoteCrash,
    RemoteError,
    RequestTimeout,
    SendMessage,
    SendRequest,
    router_spec,
)
from pywatt.router._errors import handler_error_type
from pywatt.wire import READY_ENDPOINT

RID = uuid.UUID("a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d")


@pytest.mark.parametrize(
    ("error_type", "message", "cls", "text"),
    [
        ("ModuleUnavailable", "module 'x' is not running (no open channel)", ModuleUnavailable,
         "module 'x' is not running (no open channel)"),
        ("NoSuchModule", "no module named 'x'", NoSuchModule, "no module named 'x'"),
        ("NoSuchEndpoint", "module 'x' serves no endpoint 'y'", NoSuchEndpoint,
         "module 'x' has no endpoint 'y'"),
        ("ValueError", "bad input", RemoteCrash,
         "module 'x' endpoint 'y' failed: ValueError: bad input"),
        ("ActorCrashed", "actor 'w' crashed while handling Job: ValueError: bad input",
         RemoteCrash,
         "module 'x' endpoint 'y' crashed: actor 'w' crashed while handling Job: ValueError: "
         "bad input"),
        ("ChannelLost", "the channel of module 'x' closed before it replied", RemoteError,
         "module 'x' endpoint 'y' failed: ChannelLost: the channel of module 'x' closed before "
         "it replied"),
    ],
)  # fmt: skip
def test_a_reply_error_becomes_the_class_its_type_names(
    error_type: str, message: str, cls: type[RemoteError], text: str
) -> None:
    error = RemoteError.from_reply(error_type, message, "x", RID, endpoint="y")
    assert type(error) is cls
    assert isinstance(error, RemoteError)
    assert str(error) == text
    assert (error.error_type, error.remote_message, error.module, error.endpoint) == (
        error_type, message, "x", "y",
    )  # fmt: skip
    assert error.request_id == RID


def test_the_typed_errors_are_exported_from_the_top_level() -> None:
    assert pywatt.RemoteError is RemoteError
    assert pywatt.ModuleUnavailable is ModuleUnavailable
    assert pywatt.NoSuchModule is NoSuchModule
    assert pywatt.NoSuchEndpoint is NoSuchEndpoint
    assert pywatt.RemoteCrash is RemoteCrash


def test_a_remote_crash_says_whether_an_actor_crashed() -> None:
    raised = RemoteError.from_reply("KeyError", "'k'", "x", RID, endpoint="y")
    crashed = RemoteError.from_reply("ActorCrashed", "actor 'w' crashed", "x", RID, endpoint="y")
    assert isinstance(raised, RemoteCrash)
    assert not raised.crashed
    assert isinstance(crashed, RemoteCrash)
    assert crashed.crashed


def test_a_wait_that_timed_out_is_module_unavailable_with_the_seconds() -> None:
    error = ModuleUnavailable.after_wait("billing", 2.5)
    assert error.waited == 2.5
    assert error.request_id is None
    assert str(error) == (
        "module 'billing' did not become reachable within 2.5 s (no open channel, or it has "
        "not announced)"
    )


def test_a_handler_exception_named_like_a_wire_error_goes_out_qualified() -> None:
    # A handler whose own call failed must not make its caller think the callee is down.
    inner = ModuleUnavailable("ModuleUnavailable", "down", "ledger", RID)
    assert handler_error_type(inner) == "pywatt.router._errors.ModuleUnavailable"
    assert handler_error_type(ValueError("x")) == "ValueError"
    outer = RemoteError.from_reply(handler_error_type(inner), str(inner), "billing", RID)
    assert type(outer) is RemoteCrash


@attrs.frozen
class Double(actors.Request[int]):
    n: int


class Doubler(actors.Actor[Double]):
    async def receive(self, message: Double) -> int:
        if message.n < 0:
            raise ValueError("negative")
        return 2 * message.n


async def test_a_module_asks_and_tells_its_own_endpoints_with_no_channel_up() -> None:
    seen: list[Any] = []
    # No channel at all (no channels actor): the router never needs one here.
    async with actors.open_actor_system() as system:
        await system.root.start_child(router_spec("me", default_timeout=2.0))
        await system.spawn(Doubler, name="doubler")

        async def slow(request: Any) -> Any:
            await trio.lowlevel.checkpoint()
            return {"slow": request}

        await system.ask(ROUTER, RegisterHandler("sync", lambda r: {"sync": r}))
        await system.ask(ROUTER, RegisterHandler("async", slow))
        await system.ask(ROUTER, RegisterHandler("actor", "doubler", Double))
        await system.ask(ROUTER, RegisterHandler("note", seen.append))
        with trio.fail_after(5):
            assert await system.ask(ROUTER, SendRequest("me", "sync", 1)) == {"sync": 1}
            assert await system.ask(ROUTER, SendRequest("me", "async", 2)) == {"slow": 2}
            assert await system.ask(ROUTER, SendRequest("me", "actor", Double(3), int)) == 6
            assert await system.ask(ROUTER, SendRequest("me", READY_ENDPOINT, None)) is True
            with pytest.raises(RemoteCrash) as crashed:
                await system.ask(ROUTER, SendRequest("me", "actor", Double(-1), int))
            with pytest.raises(NoSuchEndpoint, match="module 'me' has no endpoint 'nope'"):
                await system.ask(ROUTER, SendRequest("me", "nope", 1))
            await system.ask(ROUTER, SendMessage("me", "note", "hello"))
            stats = await system.ask(ROUTER, GetRouterStatistics())
    assert crashed.value.crashed
    assert str(crashed.value) == (
        "module 'me' endpoint 'actor' crashed: actor 'doubler' crashed while handling Double: "
        "ValueError: negative"
    )
    assert seen == ["hello"]
    assert (stats.sent, stats.notifications, stats.in_flight) == (6, 1, 0)


async def test_a_request_to_itself_still_has_a_deadline() -> None:
    async with actors.open_actor_system() as system:
        await system.root.start_child(router_spec("me", default_timeout=0.1))

        async def never(request: Any) -> None:
            await trio.sleep_forever()

        await system.ask(ROUTER, RegisterHandler("never", never))
        with trio.fail_after(5), pytest.raises(RequestTimeout):
            await system.ask(ROUTER, SendRequest("me", "never", 1))
