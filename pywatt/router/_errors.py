"""Errors of inter-module messaging. Each names the target and, where there is one, the
request id."""

from __future__ import annotations

import uuid

from pywatt._errors import PywattError


class RouterError(PywattError):
    """Base of every inter-module messaging error."""


class RemoteError(RouterError):
    """The remote handler raised: its error type name, message, module and the request id.

    Rebuilt from the ``{"Err":{...}}`` reply, never by importing the named class.
    """

    def __init__(self, error_type: str, message: str, module: str, request_id: uuid.UUID) -> None:
        super().__init__(f"{module} raised {error_type}: {message} (request {request_id})")
        self.error_type = error_type
        self.remote_message = message
        self.module = module
        self.request_id = request_id


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
