"""The one hook by which a tracer follows an ask across a mailbox.

A context variable does not cross a mailbox: the actor handles the message in its own task.
So an ask carries its tracing context in its envelope (:class:`~actors._mailbox.Ask`'s
``trace``), and the actor handles it with that context attached: what the handler asks in turn
is a child of the ask. A tell (and ``ask_nowait``) sent inside a trace carries it too: a tell
in a :class:`~actors._mailbox.Told` envelope, made only while a tracer is installed. The
runtime knows nothing of any tracing library; a tracer (pywatt's, on OpenTelemetry)
installs itself with :func:`set_ask_tracer`. With none installed, an ask or a tell costs
one test more.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Protocol

__all__ = ["AskTracer", "ask_tracer", "set_ask_tracer"]


class AskTracer(Protocol):
    """What the runtime asks of a tracer."""

    def ask_span(self, actor: str, message: object) -> AbstractContextManager[object | None]:
        """Entered around one ask of ``actor``, until its outcome; yields the context the
        envelope carries to the actor (``None``: nothing to carry)."""
        ...

    def tell_context(self, actor: str, message: object) -> object | None:
        """The context a one-way message to ``actor`` carries (``None``: nothing, the
        message is queued as it is)."""
        ...

    def attach(self, context: object) -> object:
        """Make ``context`` current in this task; returns what :meth:`detach` takes."""
        ...

    def detach(self, token: object) -> None:
        """Undo one :meth:`attach`."""
        ...


class _Hook:
    __slots__ = ("tracer",)

    def __init__(self) -> None:
        self.tracer: AskTracer | None = None


HOOK = _Hook()
"""The process's tracer (``HOOK.tracer``), read by every ask."""


def set_ask_tracer(tracer: AskTracer | None) -> None:
    """Install ``tracer`` for every actor system of this process (``None`` removes it)."""
    HOOK.tracer = tracer


def ask_tracer() -> AskTracer | None:
    """The tracer installed, if any."""
    return HOOK.tracer
