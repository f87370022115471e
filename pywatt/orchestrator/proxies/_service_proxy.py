"""Service proxies of the embedded orchestrator (docs/protocol.md §13): a dispatcher by
``service_type`` that answers ``service_request`` / ``service_operation`` asynchronously.

The module-process actor hands every such line to :func:`request_service` and goes on
with its mailbox at once. The line is served by the ``pywatt.orchestrator.services`` actor
(started on first use) in a task of its own, so a slow query never blocks the module's
other traffic (secrets, rotation acks, heartbeats). The answer comes back to the process
actor as a :class:`ServiceAnswer` and is written by it, the only writer of the module's
stdin (docs/architecture.md, decision 2). Operation results echo the operation under ``params``,
the §13.2 correlation a Rust module needs.

Handlers, one per service type, share one signature::

    async def handle_database(
        host: ServiceHost, module_id: str, message: ServiceRequest | ServiceOperation
    ) -> JsonValue:
        ...

* For a :class:`~pywatt.wire.ServiceRequest` the handler returns the new connection's id
  (a ``str``); for a :class:`~pywatt.wire.ServiceOperation` the operation's result (any
  JSON value; ``None`` for "success flag only" operations).
* A failure the module should see is raised as :class:`ServiceError` (or any
  :class:`~pywatt.PywattError`): the answer is then ``success: false`` with its text.
  Any other exception is a bug: it crashes the services actor (the module's request then
  times out after its 30 s protocol deadline) and the actor restarts.
* Handlers run concurrently, in tasks of the services actor; they may block as long as
  they need. Per-orchestrator state lives in ``host.state`` under the handler's own key;
  ``host.on_module_gone(module_id, cleanup)`` registers an async cleanup run once when that
  module's process ends (its connections close, its transactions roll back).

Database: ``handle_database`` in ``_database_proxy``. Cache: ``handle_cache`` in
``_cache_proxy``. Jwt: ``handle_jwt`` in ``_jwt_proxy``. Custom services: a clear "not
available" error.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Final

import attrs
import trio

from actors import Actor, ActorError, Down, DuplicateName
from pywatt._errors import PywattError
from pywatt.wire import (
    OrchestratorToModule,
    ServiceOperation,
    ServiceOperationResult,
    ServiceRequest,
    ServiceResponse,
    ServiceType,
)

from ..console import Console
from ._host import ServiceError, ServiceHandler, ServiceHost

__all__ = [
    "SERVICES_NAME",
    "ServiceAnswer",
    "ServiceError",
    "ServiceHandler",
    "ServiceHost",
    "ServiceProxy",
    "answer_detail",
    "request_service",
]

log = logging.getLogger(__name__)

SERVICES_NAME: Final = "pywatt.orchestrator.services"
NOT_AVAILABLE: Final = "not available yet in the embedded orchestrator"

Cleanup = Callable[[], Awaitable[None]]


def _handler(service_type: ServiceType) -> ServiceHandler | None:
    if service_type == ServiceType.DATABASE:
        from ._database_proxy import handle_database

        return handle_database
    if service_type == ServiceType.CACHE:
        return _cache
    if service_type == ServiceType.JWT:
        from ._jwt_proxy import handle_jwt

        return handle_jwt
    return None


async def _cache(
    host: ServiceHost, module_id: str, message: ServiceRequest | ServiceOperation
) -> Any:
    """The Cache handler: ``_cache_proxy.handle_cache`` with one ``CacheProxy`` per
    orchestrator (it answers with whole wire messages, which :func:`dispatch` passes on)."""
    from ._cache_proxy import CacheProxy, handle_cache

    proxy = host.state.get("cache.proxy")
    if proxy is None:
        redis_url = host.environment.get("REDIS_URL")
        proxy = host.state["cache.proxy"] = CacheProxy(host.system, redis_url=redis_url)
    return await handle_cache(proxy, message)


async def dispatch(
    host: ServiceHost, module_id: str, message: ServiceRequest | ServiceOperation
) -> ServiceResponse | ServiceOperationResult:
    """Serve one line with the handler of its service type; the answer to send back."""
    service_type = message.service_type
    name = service_type.name or service_type.variant
    handler = _handler(service_type)
    try:
        if handler is None:
            raise ServiceError(f"{name} service proxies are {NOT_AVAILABLE}")
        result = await handler(host, module_id, message)
        if isinstance(result, ServiceResponse | ServiceOperationResult):
            return result  # a handler that builds the whole answer itself
    except PywattError as exc:
        error = str(exc)
        if isinstance(message, ServiceRequest):
            host.console.warning(f"{module_id} asked for a {name} connection: {error}", module_id)
            return ServiceResponse(
                id=message.id, service_type=service_type, success=False, error=error
            )
        return ServiceOperationResult(success=False, error=error, params=message)
    if isinstance(message, ServiceRequest):
        if not isinstance(result, str):
            raise TypeError(f"the {name} handler returned {result!r}, not a connection id")
        return ServiceResponse(
            id=message.id, service_type=service_type, success=True, connection_id=result
        )
    return ServiceOperationResult(success=True, result=result, params=message)


@attrs.frozen(kw_only=True)
class ServiceAnswer(ServiceOperation):
    """Internal, never on the wire: an answer computed by the services actor, put back in
    the module-process actor's mailbox (inside its ``FromModule``) so that the process
    actor writes it. A subclass of ``ServiceOperation`` so that the process actor's
    service branch receives it; it has no ``OP`` of its own, so the codecs never see it."""

    answer: OrchestratorToModule

    @classmethod
    def carrying(
        cls, message: ServiceRequest | ServiceOperation, answer: OrchestratorToModule
    ) -> ServiceAnswer:
        """The carrier of ``answer`` to ``message``."""
        return cls(
            connection_id="",
            service_type=message.service_type,
            operation="(answer)",
            params=None,
            answer=answer,
        )


@attrs.frozen
class Serve:
    """Serve ``message`` from ``module_id`` (process ``pid``); ``deliver`` sends the answer."""

    module_id: str
    pid: int
    message: ServiceRequest | ServiceOperation
    deliver: Callable[[OrchestratorToModule], Awaitable[None]]


class ServiceProxy(Actor[Serve | Down]):
    """Serves the service lines of every module (registered as ``pywatt.orchestrator.services``)."""

    def __init__(self, host: ServiceHost) -> None:
        self.host = host
        self.watched: dict[str, int] = {}
        self.names: dict[str, str] = {}

    async def receive(self, message: Serve | Down) -> None:
        if isinstance(message, Down):
            module_id = self.names.pop(message.name, None)
            if module_id is not None:
                self.watched.pop(module_id, None)
                self.ctx.start_task(self.host.module_gone, module_id)
            return
        if self.watched.get(message.module_id) != message.pid:
            self.watched[message.module_id] = message.pid
            from ..config import process_name

            name = process_name(message.module_id)
            self.names[name] = message.module_id
            self.ctx.monitor(name)
        self.ctx.start_task(self._serve, message)

    async def _serve(self, serve: Serve) -> None:
        answer = await dispatch(self.host, serve.module_id, serve.message)
        await serve.deliver(answer)

    async def on_stop(self) -> None:
        await self.host.all_gone()


async def request_service(
    system: Any,
    environment: Mapping[str, str],
    console: Console,
    served: Serve,
) -> None:
    """Hand one service line to the services actor (started on first use, with a
    :class:`ServiceHost` over ``system``, ``environment`` and ``console``); the answer goes
    to ``served.deliver``. Returns at once."""
    if system.lookup(SERVICES_NAME) is None:
        host = ServiceHost(system, environment, console)
        try:
            await system.spawn(lambda: ServiceProxy(host), name=SERVICES_NAME)
        except DuplicateName:
            pass  # another module's actor started it meanwhile
        except ActorError as exc:  # the orchestrator is shutting down
            log.debug("service proxy not started: %s", exc)
            error = f"the orchestrator is stopping ({exc})"
            await served.deliver(await _refused(served.message, error))
            return
    await system.tell(SERVICES_NAME, served)


def answer_detail(answer: OrchestratorToModule) -> str:
    """What names ``answer`` in the module's traffic record: its connection id or operation."""
    if isinstance(answer, ServiceResponse):
        return answer.id
    if isinstance(answer, ServiceOperationResult) and answer.params is not None:
        return answer.params.operation
    return ""


async def _refused(
    message: ServiceRequest | ServiceOperation, error: str
) -> ServiceResponse | ServiceOperationResult:
    await trio.lowlevel.checkpoint()
    if isinstance(message, ServiceRequest):
        return ServiceResponse(
            id=message.id, service_type=message.service_type, success=False, error=error
        )
    return ServiceOperationResult(success=False, error=error, params=message)
