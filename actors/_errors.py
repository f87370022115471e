"""Every error the actors runtime raises.

The vocabulary follows trio's: *stopped* means the actor ended (we or its supervisor stopped
it), *crashed* means its own code failed. Each error names the actor it is about.
"""

from __future__ import annotations

import trio


class ActorError(Exception):
    """Base of every error raised by :mod:`actors`."""


class NoSuchActor(ActorError, LookupError):
    """No actor is registered under this name."""

    def __init__(self, name: str) -> None:
        super().__init__(f"no actor is registered as {name!r}")
        self.name = name


class ActorCrashed(ActorError):
    """The actor crashed while handling this request; ``__cause__`` is what it raised."""

    def __init__(self, name: str, message_type: str) -> None:
        super().__init__(f"actor {name!r} crashed while handling {message_type}")
        self.name = name
        self.message_type = message_type


class ActorStopped(ActorError):
    """The actor stopped before it could answer this request."""

    def __init__(self, name: str, detail: str = "stopped before handling the request") -> None:
        super().__init__(f"actor {name!r} {detail}")
        self.name = name


class ReplyTimeout(ActorError, TimeoutError):
    """A :class:`~actors.PendingReplies` entry was not answered before its deadline."""

    def __init__(self, name: str, key: object, seconds: float) -> None:
        super().__init__(f"actor {name!r} got no answer for {key!r} within {seconds:g} s")
        self.name = name
        self.key = key
        self.seconds = seconds


class AskTimeout(ActorError, trio.TooSlowError, TimeoutError):
    """An ask made with ``timeout=`` or ``deadline=`` got no answer in time.

    A :class:`trio.TooSlowError` too, so code written for ``trio.fail_after`` around an ask
    keeps catching it.
    """

    def __init__(self, name: str, message_type: str, seconds: float) -> None:
        super().__init__(f"actor {name!r} did not answer {message_type} within {seconds:g} s")
        self.name = name
        self.message_type = message_type
        self.seconds = seconds


class MailboxFull(ActorError):
    """The mailbox is at capacity and its policy (or a ``*_nowait`` call) refuses to wait."""

    def __init__(self, name: str, capacity: int) -> None:
        super().__init__(f"mailbox of actor {name!r} is full ({capacity} messages)")
        self.name = name
        self.capacity = capacity


class DuplicateName(ActorError, ValueError):
    """An actor is already registered under this name."""

    def __init__(self, name: str) -> None:
        super().__init__(f"an actor is already registered as {name!r}")
        self.name = name


class UnacceptedMessage(ActorError, TypeError):
    """The actor does not declare this message type among those it accepts."""

    def __init__(self, name: str, message_type: str) -> None:
        super().__init__(f"actor {name!r} does not accept {message_type} messages")
        self.name = name
        self.message_type = message_type


class ProtocolMismatch(ActorError, TypeError):
    """An actor registered under a protocol's name does not accept all of its messages."""

    def __init__(self, name: str, protocol: str, missing: list[str]) -> None:
        super().__init__(
            f"actor for {name!r} must accept every message of protocol {protocol!r}; "
            f"missing: {', '.join(missing)}"
        )
        self.name = name
        self.protocol = protocol
        self.missing = missing


class StartFailed(ActorError):
    """A child could not be started: its factory or ``on_start`` raised ``__cause__``."""

    def __init__(self, name: str) -> None:
        super().__init__(f"{name!r} failed to start")
        self.name = name


class RestartIntensityExceeded(ActorError):
    """A supervisor saw more restarts than its intensity allows and gave up.

    ``__cause__`` is the failure that tipped it over.
    """

    def __init__(self, supervisor: str, max_restarts: int, within: float) -> None:
        super().__init__(
            f"supervisor {supervisor!r} gave up: more than {max_restarts} restarts "
            f"within {within:g} s"
        )
        self.supervisor = supervisor
        self.max_restarts = max_restarts
        self.within = within


class SystemClosed(ActorError):
    """The actor system is closed or shutting down; nothing new can start."""
