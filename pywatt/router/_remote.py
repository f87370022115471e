"""A remote actor ref: ``module_id/endpoint`` told or asked like a local actor."""

from __future__ import annotations

import sys
import typing
from typing import Any, TypeVar

from actors import ActorSystem, Request
from pywatt.tracing import client_span

from ._messages import ROUTER, SendMessage, SendRequest, parse_target

__all__ = ["RemoteRef", "reply_type_of"]

R = TypeVar("R")


def reply_type_of(message: object) -> Any:
    """The ``R`` of a ``Request[R]`` message class (``Any`` for anything else); a string
    (forward reference) is resolved in the module that defines the class."""
    for klass in type(message).__mro__:
        for base in getattr(klass, "__orig_bases__", ()):
            if typing.get_origin(base) is Request:
                (arg,) = typing.get_args(base)
                if isinstance(arg, typing.ForwardRef):
                    namespace = vars(sys.modules[klass.__module__])
                    return eval(arg.__forward_arg__, namespace)  # a type name, in its own module
                return arg
    return Any


class RemoteRef:
    """A handle to endpoint ``endpoint`` of module ``module_id`` (name ``module/endpoint``).

    ``tell`` sends a notification (no reply); ``ask`` sends a request and returns the reply
    decoded as the message's ``Request[R]`` type. Both go through the module's router, so
    they raise what :class:`~pywatt.router.SendRequest` raises.
    """

    __slots__ = ("endpoint", "module_id", "system", "timeout")

    def __init__(self, system: ActorSystem, name: str, *, timeout: float | None = None) -> None:
        self.system = system
        self.module_id, self.endpoint = parse_target(name)
        self.timeout = timeout

    @property
    def name(self) -> str:
        return f"{self.module_id}/{self.endpoint}"

    def __repr__(self) -> str:
        return f"<RemoteRef {self.name!r}>"

    async def tell(self, message: object) -> None:
        """Send a one-way message; returns once it is queued on a channel.

        Raises :class:`~pywatt.channels.NoChannel` when no channel is connected.
        """
        with client_span(self.module_id, self.endpoint, notify=True) as trace:
            await self.system.ask(
                ROUTER, SendMessage(self.module_id, self.endpoint, message, trace)
            )

    async def ask(self, message: Request[R] | Any) -> R:
        """Send a request and wait for its reply (the router's deadline applies)."""
        with client_span(self.module_id, self.endpoint) as trace:
            result: R = await self.system.ask(
                ROUTER,
                SendRequest(
                    self.module_id,
                    self.endpoint,
                    message,
                    reply_type_of(message),
                    self.timeout,
                    trace,
                ),
            )
        return result
