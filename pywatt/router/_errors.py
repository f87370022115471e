"""Errors of inter-module messaging. Each names the target and, where there is one, the
request id."""

from __future__ import annotations

import uuid

from pywatt._errors import PywattError


class RouterError(PywattError):
    """Base of every inter-module messaging error."""


class RemoteError(RouterError):
    """A request failed on the other side, or the orchestrator answered for the callee.

    The base of the typed remote errors (:class:`ModuleUnavailable`, :class:`NoSuchModule`,
    :class:`NoSuchEndpoint`, :class:`RemoteCrash`): ``except RemoteError`` catches them all.
    Rebuilt from the ``{"Err":{...}}`` reply (docs/protocol-extensions.md §5), never by
    importing the named class; :meth:`from_reply` picks the subclass from the reply's ``type``.
    A plain ``RemoteError`` is a failure of the delivery, not of the handler: ``ChannelLost``,
    ``RequestInterrupted``, ``ReplyTooLarge``.

    Attributes: ``error_type`` (the reply's ``type``: the remote exception's class name, or one
    of the types above), ``remote_message`` (its message), ``module`` (the module that failed
    or could not be reached), ``endpoint`` (the endpoint asked, ``None`` where not known) and
    ``request_id`` (``None`` for an error no request carried, like a wait that timed out).
    """

    def __init__(
        self,
        error_type: str,
        message: str,
        module: str,
        request_id: uuid.UUID | None,
        *,
        endpoint: str | None = None,
    ) -> None:
        self.error_type = error_type
        self.remote_message = message
        self.module = module
        self.endpoint = endpoint
        self.request_id = request_id
        super().__init__(self.describe())

    def describe(self) -> str:
        """The one-line message (``str(error)``)."""
        return f"{self._where()} failed: {self.error_type}: {self.remote_message}"

    def _where(self) -> str:
        if self.endpoint is None:
            return f"module {self.module!r}"
        return f"module {self.module!r} endpoint {self.endpoint!r}"

    @staticmethod
    def from_reply(
        error_type: str,
        message: str,
        module: str,
        request_id: uuid.UUID | None,
        *,
        endpoint: str | None = None,
    ) -> RemoteError:
        """The typed error for an ``Err`` reply of type ``error_type``: one of the subclasses
        for the types the router and orchestrator send, :class:`RemoteCrash` for a handler's
        exception."""
        cls = _BY_TYPE.get(error_type, RemoteCrash)
        return cls(error_type, message, module, request_id, endpoint=endpoint)


class ModuleUnavailable(RemoteError):
    """The module exists but cannot be reached now: it has no open channel (it is starting,
    restarting, stopped or gave up). Sent by the orchestrator as type ``ModuleUnavailable``;
    also raised by ``state.wait_for_module`` when its deadline passes (``waited`` is set)."""

    def __init__(
        self,
        error_type: str,
        message: str,
        module: str,
        request_id: uuid.UUID | None,
        *,
        endpoint: str | None = None,
        waited: float | None = None,
    ) -> None:
        self.waited = waited
        """Seconds ``wait_for_module`` waited before giving up; ``None`` for a request's."""
        super().__init__(error_type, message, module, request_id, endpoint=endpoint)

    def describe(self) -> str:
        if self.waited is not None:
            return (
                f"module {self.module!r} did not become reachable within {self.waited:g} s "
                "(no open channel, or it has not announced)"
            )
        return f"module {self.module!r} is not running (no open channel)"

    @classmethod
    def after_wait(cls, module: str, seconds: float) -> ModuleUnavailable:
        """The error of a ``wait_for_module`` whose deadline passed."""
        text = f"not reachable within {seconds:g} s"
        return cls("ModuleUnavailable", text, module, None, waited=seconds)


class NoSuchModule(RemoteError, LookupError):
    """No module of that id: the orchestrator runs none (type ``NoSuchModule``)."""

    def describe(self) -> str:
        return f"no module named {self.module!r}"


class NoSuchEndpoint(RemoteError, LookupError):
    """The module runs but does not serve that endpoint (type ``NoSuchEndpoint``)."""

    def describe(self) -> str:
        if self.endpoint is None:
            return f"module {self.module!r}: {self.remote_message}"
        return f"module {self.module!r} has no endpoint {self.endpoint!r}"


class RemoteCrash(RemoteError):
    """The endpoint's handler raised: ``error_type`` is the remote exception's class name and
    ``remote_message`` its message. When the handler is an actor that crashed on the request,
    ``error_type`` is ``ActorCrashed`` (:attr:`crashed` is true) and ``remote_message`` names
    the actor and what it raised (``actor 'worker' crashed while handling Job: ValueError:
    bad input``)."""

    @property
    def crashed(self) -> bool:
        """The handler is an actor and it crashed (rather than the handler raising)."""
        return self.error_type == "ActorCrashed"

    def describe(self) -> str:
        if self.crashed:
            return f"{self._where()} crashed: {self.remote_message}"
        return super().describe()


class RequestTooLarge(RemoteError, ValueError):
    """The request is over the size limit its endpoint set (``state.serve(...,
    max_request_size=...)``); the handler did not run. Sent by the callee's router as type
    ``RequestTooLarge``."""


_BY_TYPE: dict[str, type[RemoteError]] = {
    "ModuleUnavailable": ModuleUnavailable,
    "NoSuchModule": NoSuchModule,
    "NoSuchEndpoint": NoSuchEndpoint,
    "ChannelLost": RemoteError,
    "RequestInterrupted": RemoteError,
    "ReplyTooLarge": RemoteError,
    "RequestTooLarge": RequestTooLarge,
    "StreamAborted": RemoteError,
}

WIRE_ERROR_TYPES: frozenset[str] = frozenset(_BY_TYPE)
"""The ``type`` values the router and the orchestrator send themselves. A handler's exception
of one of these class names goes out under its qualified name (see ``handler_error_type``)."""


def handler_error_type(exc: BaseException) -> str:
    """The reply ``type`` of an exception a handler raised: its class name, qualified
    (``pywatt.router._errors.ModuleUnavailable``) when the bare name is one the router or the
    orchestrator sends, so that a caller never takes a failure inside the handler (a call it
    made to a module that is down) for a failure of the callee itself."""
    cls = type(exc)
    if cls.__name__ in WIRE_ERROR_TYPES:
        return f"{cls.__module__}.{cls.__qualname__}"
    return cls.__name__


class RequestTimeout(RouterError, TimeoutError):
    """No reply within the request's deadline (30 s unless configured)."""

    def __init__(self, target: str, endpoint: str, request_id: uuid.UUID, seconds: float) -> None:
        super().__init__(
            f"no reply from {target}/{endpoint} within {seconds:g} s (request {request_id})"
        )
        self.target = target
        self.endpoint = endpoint
        self.request_id = request_id
        self.seconds = seconds


class RequestInterrupted(RouterError, ConnectionError):
    """The connection that carried the request closed before its reply arrived."""

    def __init__(self, target: str, endpoint: str, request_id: uuid.UUID, reason: str) -> None:
        super().__init__(
            f"request {request_id} to {target}/{endpoint} lost its channel before a reply: {reason}"
        )
        self.target = target
        self.endpoint = endpoint
        self.request_id = request_id
        self.reason = reason


class BadReply(RouterError, ValueError):
    """The reply arrived but is not a ``{"Ok":...}``/``{"Err":...}`` of the expected type."""

    def __init__(self, target: str, endpoint: str, request_id: uuid.UUID, problem: str) -> None:
        super().__init__(f"bad reply from {target}/{endpoint} (request {request_id}): {problem}")
        self.target = target
        self.endpoint = endpoint
        self.request_id = request_id


class MessageTooLarge(RouterError, ValueError):
    """A request or notification whose frame would be over the frame limit; nothing was sent.

    Only that message fails: the router and the requests beside it go on. A reply over the
    limit reaches its caller as a :class:`RemoteError` of type ``ReplyTooLarge`` instead.
    """

    def __init__(self, target: str, endpoint: str, size: int, limit: int) -> None:
        super().__init__(
            f"a message to {target}/{endpoint} would be a {size}-byte frame; "
            f"the limit is {limit} bytes"
        )
        self.target = target
        self.endpoint = endpoint
        self.size = size
        self.limit = limit


class BadTarget(RouterError, ValueError):
    """A target is not ``module:endpoint`` / ``module/endpoint`` (or a module and endpoint)."""
