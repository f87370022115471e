"""The orchestrator link: the one stdin reader and the one stdout writer of a module.

docs/protocol.md §16 A7 and A10 are why it exists: the Rust SDK has several competing stdin
readers and several stdout writers, and loses lines. Here one actor owns both pipes. Its
background task reads stdin line by line; its mailbox serializes every write, so each line
leaves whole. What an inbound line answers (a secret, a port, a service request) the link
correlates itself; every other message it hands on through its dispatch table, an
:class:`actors.Subscriptions` like the channels' (:func:`link_subscriptions`: ``shutdown`` to
the lifecycle actor, ``rotated`` and pushed secrets to the secrets actor, ``http_request`` to
the HTTP actor), wrapped in the message that actor takes (``_ENVELOPES``).

Requests that wait for an answer on stdin (secrets, ports) are answered with deferred
replies, so a slow answer never blocks the mailbox, and each has its
protocol deadline (docs/architecture.md, decision 2).
"""

from __future__ import annotations

import functools
import logging
import os
import uuid
from collections.abc import Callable, Mapping
from typing import Any, Final

import trio

import actors
from pywatt.observe import tree_to_json
from pywatt.secrets import (
    AckRotation,
    ForwardedSecretFetch,
    RotationNotice,
    SecretNotFound,
    SecretPushed,
    SecretTimeout,
    SecretUnavailable,
)
from pywatt.wire import (
    NEED_DATA,
    DecodeError,
    GetSecretRequest,
    Heartbeat,
    InitBlob,
    IpcHttpRequest,
    IpcPortNegotiation,
    IpcPortNegotiationResponse,
    LineDecoder,
    ModuleTree,
    OrchestratorToModule,
    RemoteProtocolError,
    RotatedNotification,
    SecretError,
    SecretValueResponse,
    ServiceOperation,
    ServiceOperationResult,
    ServiceRequest,
    ServiceResponse,
    ServiceType,
    Shutdown,
    TreeRequest,
    decode_json,
    encode_json,
    encode_json_value,
    encode_line,
)

from ._errors import LinkClosed, LinkError, PortNegotiationFailed, ServiceFailed, StdioTimeout
from ._messages import (
    CallService,
    FetchRemoteSecret,
    HttpOverStdio,
    LinkShutdown,
    OpenService,
    RequestPort,
    Send,
    SendRaw,
)

log = logging.getLogger(__name__)

HTTP = "pywatt.http"
"""The actor that serves HTTP over stdio when the module serves an app."""

SECRET_DEADLINE = 5.0
PORT_DEADLINE = 10.0
SERVICE_DEADLINE = 30.0
_SERVICE_PREFIXES = {"Database": "db_request_", "Cache": "cache_request_", "Jwt": "jwt_request_"}

LinkMessage = (
    Send
    | SendRaw
    | AckRotation
    | FetchRemoteSecret
    | ForwardedSecretFetch
    | RequestPort
    | OpenService
    | CallService
)


def link_subscriptions(
    *, lifecycle: str | None = None, secrets: str = "pywatt.secrets", http: str = HTTP
) -> dict[type[Any], str]:
    """Who gets the stdin messages the link does not answer itself: ``shutdown`` (and stdin
    closing) goes to ``lifecycle``, ``rotated`` and pushed secret values to ``secrets``,
    ``http_request`` to ``http``."""
    table: dict[type[Any], str] = {
        RotatedNotification: secrets,
        SecretValueResponse: secrets,
        IpcHttpRequest: http,
    }
    if lifecycle is not None:
        table[Shutdown] = lifecycle
    return table


def _rotation(message: RotatedNotification) -> RotationNotice:
    return RotationNotice(tuple(message.keys), message.rotation_id)


def _pushed(message: SecretValueResponse) -> SecretPushed:
    return SecretPushed(message.name, message.value, message.rotation_id)


_ENVELOPES: Final[Mapping[type[Any], Callable[[Any], object]]] = {
    RotatedNotification: _rotation,
    SecretValueResponse: _pushed,
    IpcHttpRequest: HttpOverStdio,
}
"""What the subscriber of each forwarded stdin type is told: the message its actor takes.
(``shutdown`` closes the link first, which tells the subscriber of ``Shutdown``
:class:`LinkShutdown`, as stdin closing does.)"""


_OWN: Final = frozenset(
    {
        SecretValueResponse,  # answered here; a push or a rotation is forwarded too
        SecretError,
        IpcPortNegotiationResponse,
        ServiceResponse,
        ServiceOperationResult,
        Shutdown,  # closes the link, which tells the table's subscriber of Shutdown
        Heartbeat,
        TreeRequest,
        InitBlob,
    }
)
"""The stdin lines the link handles itself: the answers it correlates, and the few that
concern the link. Every other line goes by its dispatch table."""


def _timeout(what: str) -> Callable[[str, float], StdioTimeout]:
    """The ``timeout_error`` of a table of stdio requests (their keys are not for users)."""
    return lambda _key, seconds: StdioTimeout(what, seconds)


class StdioLink(actors.Actor[LinkMessage]):
    """Owns the module's stdin and stdout (registered as ``pywatt.link``).

    Inbound messages for other actors go by ``subscriptions`` (by default
    :func:`link_subscriptions` of ``notify`` and ``secrets``): when the orchestrator sends
    ``shutdown`` or closes stdin, the subscriber of ``Shutdown`` (the module's lifecycle
    actor, which stops the tree) is told :class:`LinkShutdown`, once. An ``http_request``
    whose subscriber is not running is refused with a 503. A table given is kept as it is
    (by the spec, for every incarnation): what was added to it survives a restart.
    """

    reply_errors = (LinkError, SecretNotFound, SecretTimeout, SecretUnavailable)

    def __init__(
        self,
        *,
        stdin: trio.abc.ReceiveStream,
        stdout: trio.abc.SendStream,
        decoder: LineDecoder,
        module_id: str,
        notify: str | None = None,
        secrets: str = "pywatt.secrets",
        subscriptions: actors.Subscriptions | None = None,
        secret_deadline: float = SECRET_DEADLINE,
        port_deadline: float = PORT_DEADLINE,
        service_deadline: float = SERVICE_DEADLINE,
    ) -> None:
        self.stdin = stdin
        self.stdout = stdout
        self.decoder = decoder
        self.module_id = module_id
        if subscriptions is not None and notify is not None:
            raise TypeError("StdioLink: give notify or subscriptions, not both")
        self.subscriptions = (
            subscriptions
            if subscriptions is not None
            else actors.Subscriptions(link_subscriptions(lifecycle=notify, secrets=secrets))
        )
        self.secret_deadline = secret_deadline
        self.port_deadline = port_deadline
        self.service_deadline = service_deadline
        self.closed = False
        self.malformed = 0

    async def on_start(self) -> None:
        # What waits for an answer on stdin, by the key the answer carries; each entry fails
        # with its protocol's timeout at its deadline, and with the incarnation.
        pending = actors.PendingReplies[str]
        self.secrets_waiting = pending(self.ctx, timeout_error=SecretTimeout)
        self.ports = pending(self.ctx, timeout_error=_timeout("a port request"))
        self.services = pending(self.ctx, timeout_error=_timeout("a service request"))
        self.operations = pending(self.ctx, timeout_error=_timeout("a service operation"))
        self.ctx.start_task(self._read_stdin)

    # -- requests from the module ----------------------------------------------------------

    async def receive(self, message: LinkMessage) -> Any:
        match message:
            case Send(outgoing):
                await self._write(encode_json(outgoing))
            case AckRotation(ack):
                await self._write(encode_json(ack))
            case SendRaw(payload):
                await self._write(payload)
            case FetchRemoteSecret(name):
                return await self._fetch_secret(name, self.ctx.defer_reply())
            case ForwardedSecretFetch(name, reply):
                return await self._fetch_secret(name, reply)
            case RequestPort(specific):
                return await self._request_port(specific)
            case OpenService(service_type, config):
                return await self._open_service(service_type, config)
            case CallService(connection_id, service_type, operation, params):
                return await self._call_service(connection_id, service_type, operation, params)
        return None

    async def _write(self, payload: bytes) -> None:
        await self.stdout.send_all(encode_line(payload))

    async def _fetch_secret(self, name: str, reply: actors.DeferredReply) -> None:
        if self.closed:
            reply.fail(SecretUnavailable(name, "stdin is closed: the orchestrator cannot answer"))
            return
        if self.secrets_waiting.join(name, reply):  # one get_secret line serves every asker
            return
        self.secrets_waiting.add(name, reply, timeout=self.secret_deadline)
        await self._write(encode_json(GetSecretRequest(name=name)))

    async def _request_port(self, specific: int | None) -> None:
        if self.closed:
            raise LinkClosed("stdin is closed: the orchestrator cannot answer")
        request_id = str(uuid.uuid4())
        self.ports.add(request_id, self.ctx.defer_reply(), timeout=self.port_deadline)
        await self._write(
            encode_json(IpcPortNegotiation(request_id=request_id, specific_port=specific))
        )

    async def _open_service(self, service_type: ServiceType, config: Any) -> None:
        # Service proxies (docs/protocol.md §13): correlated by id, 30 s deadline (decision 2).
        if self.closed:
            raise LinkClosed("stdin is closed: the orchestrator cannot answer")
        prefix = _SERVICE_PREFIXES.get(service_type.variant, "service_request_")
        request_id = f"{prefix}{uuid.uuid4()}"
        self.services.add(request_id, self.ctx.defer_reply(), timeout=self.service_deadline)
        await self._write(
            encode_json(ServiceRequest(id=request_id, service_type=service_type, config=config))
        )

    async def _call_service(
        self, connection_id: str, service_type: ServiceType, operation: str, params: Any
    ) -> None:
        if self.closed:
            raise LinkClosed("stdin is closed: the orchestrator cannot answer")
        if connection_id in self.operations:
            # Results carry no id of their own (§13.2): one operation per connection.
            raise LinkError(f"an operation on service connection {connection_id!r} is in flight")
        self.operations.add(connection_id, self.ctx.defer_reply(), timeout=self.service_deadline)
        operation_line = ServiceOperation(
            connection_id=connection_id,
            service_type=service_type,
            operation=operation,
            params=params,
        )
        await self._write(encode_json(operation_line))

    # -- stdin -----------------------------------------------------------------------------

    async def _read_stdin(self) -> None:
        decoder = self.decoder
        while True:
            try:
                line = decoder.next_line()
            except RemoteProtocolError as exc:
                log.error("stdin is unusable, shutting down: %s", exc)
                self._close(f"broken stdin: {exc}")
                return
            if line is NEED_DATA:
                data = await self.stdin.receive_some(65536)
                if not data:
                    tail = decoder.at_eof()
                    if tail:
                        await self._dispatch(tail)
                    self._close("the orchestrator closed stdin")
                    return
                decoder.feed(data)
                continue
            await self._dispatch(line)

    async def _dispatch(self, line: bytes) -> None:
        try:
            message = decode_json(line, OrchestratorToModule)
        except DecodeError as exc:
            self.malformed += 1
            log.error("ignored a malformed stdin line (%d bytes): %s", len(line), exc)
            return
        if type(message) not in _OWN:
            await self._forward(message)
            return
        match message:
            case SecretValueResponse():
                await self._on_secret(message)
            case SecretError(name=name, message=text):
                self.secrets_waiting.fail(name, lambda: SecretNotFound(name, text))
            case IpcPortNegotiationResponse(request_id=request_id):
                self._on_port(message, request_id)
            case ServiceResponse():
                self._on_service_response(message)
            case ServiceOperationResult():
                self._on_operation_result(message)
            case Shutdown():
                self._close("the orchestrator asked the module to shut down")
            case Heartbeat():
                pass  # heartbeats on stdin are not acknowledged (docs/protocol.md §16 A25)
            case TreeRequest(request_id=request_id):  # extension: answered from a snapshot
                tree = tree_to_json(self.ctx.system.tree())
                await self._write(encode_json(ModuleTree(request_id=request_id, tree=tree)))
            case InitBlob():
                log.warning("ignored an init line after startup")

    async def _forward(self, message: OrchestratorToModule) -> None:
        """Hand ``message`` to its subscriber, wrapped in the message that actor takes."""
        name = self.subscriptions.target(message)
        envelope = _ENVELOPES.get(type(message))
        if isinstance(message, IpcHttpRequest) and (
            name is None or self.ctx.system.lookup(name) is None
        ):
            await self._refuse_http(message)
        elif name is None or envelope is None:
            log.warning("ignored %s on stdin: not handled by this module", message.OP)
        else:
            await self.ctx.system.tell(name, envelope(message))

    async def _on_secret(self, message: SecretValueResponse) -> None:
        answered = self.secrets_waiting.resolve(message.name, message.value)
        if answered and message.rotation_id is None:
            return
        # Unsolicited (a push) or carrying a rotation id: the secrets actor caches it.
        await self._forward(message)

    def _on_port(self, message: IpcPortNegotiationResponse, request_id: str) -> None:
        ports = self.ports
        if request_id not in ports and len(ports) == 1:
            # Rust accepts a mismatched request id (§8); so do we when only one is pending.
            log.warning("port_response with an unknown request id %r: used anyway", request_id)
            (request_id,) = ports
        if message.success and message.port != 0:
            answered = ports.resolve(request_id, message)
        else:
            refusal = message.error_message or "port request refused"
            answered = ports.fail(request_id, lambda: PortNegotiationFailed(refusal))
        if not answered:
            log.warning("ignored a port_response nobody waits for (%r)", request_id)

    async def _refuse_http(self, request: IpcHttpRequest) -> None:
        # A module that serves no app still answers: a clear 503 in the stdout wrapper of
        # docs/protocol.md §9.2, instead of silence (the Rust SDK loses such requests, §16 A4).
        body = b'{"status":"error","data":null,"message":"this module serves no HTTP app"}'
        wrapper = {
            "content": {
                "body": list(body),
                "headers": {"content-type": "application/json"},
                "request_id": request.request_id,
                "status_code": 503,
            },
            "metadata": {
                "id": str(uuid.uuid4()),
                "properties": {"correlation_id": request.request_id},
                "source": os.environ.get("PYWATT_MODULE_ID", self.module_id),
            },
        }
        await self.ctx.self_ref.tell(SendRaw(encode_json_value(wrapper)))

    def _on_service_response(self, message: ServiceResponse) -> None:
        services, key = self.services, message.id
        if message.success and message.connection_id:
            answered = services.resolve(key, message.connection_id)
        else:
            error = message.error or "Unknown error"
            if message.success:
                error = "the answer has no connection_id"
            answered = services.fail(key, lambda: ServiceFailed("a service request", error))
        if not answered:
            log.warning("ignored a service_response nobody waits for (%r)", key)

    def _on_operation_result(self, message: ServiceOperationResult) -> None:
        operations = self.operations
        key = message.params.connection_id if message.params is not None else None
        if key is None and len(operations) == 1:
            # No §13.2 echo (a foreign orchestrator): usable only with one operation pending.
            (key,) = operations
        if key is None:
            answered = False
        elif message.success:
            answered = operations.resolve(key, message.result)
        else:
            error = message.error or "Unknown error"
            answered = operations.fail(key, lambda: ServiceFailed("a service operation", error))
        if not answered:
            log.warning("ignored a service_operation_result nobody waits for (%r)", key)

    def _close(self, reason: str) -> None:
        if self.closed:
            return
        self.closed = True
        for name in self.secrets_waiting:
            self.secrets_waiting.fail(name, functools.partial(SecretUnavailable, name, reason))
        for table in (self.ports, self.services, self.operations):
            for key in table:
                table.fail(key, functools.partial(LinkClosed, reason))
        lifecycle = self.subscriptions.target_of(Shutdown)
        if lifecycle is not None:
            self.ctx.system.tell_nowait(lifecycle, LinkShutdown(reason))
