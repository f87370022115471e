"""Typed remote errors (what a caller can ``except``) and the error types a handler's exception
is sent as."""

from __future__ import annotations

import uuid

import pytest

import pywatt
from pywatt.router import (
    ModuleUnavailable,
    NoSuchEndpoint,
    NoSuchModule,
    RemoteCrash,
    RemoteError,
)
from pywatt.router._errors import handler_error_type

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
