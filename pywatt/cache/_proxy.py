"""The proxy backend: the orchestrator's cache, reached over the module's stdio link
(docs/protocol.md §13: ``service_request`` opens a connection, ``service_operation`` runs one
cache operation on it). The link actor (``pywatt.link``) correlates the lines; this actor
turns cache messages into operations (``_proxy_ops``) and results back into replies.

The protocol allows one operation per connection in flight, so this actor handles one
message at a time to the end (its mailbox queues the rest). It opens its connection on start;
if the orchestrator refuses or does not answer, it starts *down*: requests fail at once with
:class:`CacheUnavailable`, and the next request, or a timer (0.1 s doubling to 5 s), tries to
open the connection again. Each change is one log line and its entry on the backend board.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final

import actors
from pywatt.backends import BackendReporter
from pywatt.link import CallService, LinkError, OpenService, ServiceFailed
from pywatt.wire import (
    CacheConfig,
    CachePolicy,
    CacheType,
    PoolConfig,
    ServiceType,
    decode_json_value,
    encode_json,
)

from ._errors import CacheConfigError, CacheError, CacheUnavailable
from ._messages import CacheRequest
from ._proxy_ops import error_from_text, from_result, to_operation
from ._remote import RETRY_CAP, RETRY_FIRST, Reconnect
from ._stats import StatsRecorder

if TYPE_CHECKING:
    from ._config import ProxySettings

LINK: Final = "pywatt.link"


def proxy_config(config: Mapping[str, Any] | ProxySettings) -> CacheConfig:
    """The wire ``CacheConfig`` sent in ``service_request`` for a ``proxy`` cache_config:
    ``backend`` (``memory`` or ``redis``: what the orchestrator should serve from),
    ``namespace``, ``policy``, ``max_size_bytes``, ``default_ttl`` (seconds). Raises
    :class:`CacheConfigError`."""
    from ._config import ProxySettings, cache_settings

    settings = config if isinstance(config, ProxySettings) else cache_settings(config)
    if not isinstance(settings, ProxySettings):
        raise CacheConfigError("proxy_config needs a cache_config of type 'proxy'")
    backend = settings.backend.lower()
    kinds = {"memory": CacheType.IN_MEMORY, "in_memory": CacheType.IN_MEMORY,
             "redis": CacheType.REDIS}  # fmt: skip
    if backend not in kinds:
        raise CacheConfigError(f"cache_config backend for proxy is memory or redis, not {backend}")
    try:
        policy = CachePolicy(settings.policy.upper().replace("NONE", "None"))
    except ValueError:
        raise CacheConfigError(f"cache_config policy {settings.policy!r} is unknown") from None
    ttl = settings.default_ttl
    return CacheConfig(
        cache_type=kinds[backend],
        policy=policy,
        max_size_bytes=settings.max_size_bytes,
        default_ttl_seconds=int(ttl) if ttl else 0,
        hosts=[],
        connection_timeout_seconds=5,
        operation_timeout_seconds=int(settings.operation_timeout),
        namespace=settings.namespace or None,
        tls_enabled=False,
        pool=PoolConfig(),
        extra_params={},
    )


class ProxyCache(actors.Actor[CacheRequest | Reconnect]):
    """The proxy backend actor: answers the cache protocol through the orchestrator.

    ``config`` is the ``CacheConfig`` sent when opening the connection. Needs the link actor
    (``pywatt.link``), so it runs inside a module. Answers what the orchestrator's backend
    answers (:class:`NotAnInteger`, :class:`InvalidKey`, ...) and :class:`CacheUnavailable`
    when the link or the orchestrator cannot serve.
    """

    reply_errors = (CacheError,)

    def __init__(
        self,
        config: CacheConfig,
        *,
        operation_timeout: float = 30.0,
        link: str = LINK,
        required: bool = False,
    ) -> None:
        self.config = config
        self.operation_timeout = operation_timeout
        self.link = link
        self.required = required
        self.connection_id: str | None = None
        self.down: str | None = None
        self.stats = StatsRecorder("proxy")
        self.retry_delay = RETRY_FIRST
        self.retrying = False

    async def on_start(self) -> None:
        self.reporter = BackendReporter(
            self.ctx.system,
            self.ctx.name,
            "the orchestrator's cache (proxy)",
            required=self.required,
            settle_within=self.operation_timeout,
        )
        await self._open()

    async def _open(self) -> None:
        try:
            self.connection_id = await self.ctx.system.ask(
                self.link,
                OpenService(ServiceType.CACHE, decode_json_value(encode_json(self.config))),
            )
        except (LinkError, actors.ActorError) as exc:
            self.connection_id = None
            self.down = f"the orchestrator did not open a cache connection: {exc}"
            self.reporter.down(self.down)
            if not self.retrying:
                self.retrying = True
                self.ctx.send_after(self.retry_delay, Reconnect())
                self.retry_delay = min(RETRY_CAP, self.retry_delay * 2)
            return
        self.down = None
        self.retry_delay = RETRY_FIRST
        self.reporter.up()

    async def receive(self, message: CacheRequest | Reconnect) -> Any:
        if isinstance(message, Reconnect):
            self.retrying = False
            if self.connection_id is None:
                await self._open()
            return None
        start = time.perf_counter()
        try:
            return await self._call(message)
        except CacheError:
            self.stats.errors += 1
            raise
        finally:
            self.stats.observe(time.perf_counter() - start)

    async def _call(self, message: CacheRequest) -> Any:
        if self.connection_id is None:
            await self._open()
        if self.connection_id is None:
            raise CacheUnavailable("proxy", self.down or "no connection")
        operation, params = to_operation(message)
        call = CallService(self.connection_id, ServiceType.CACHE, operation, params)
        try:
            result = await self.ctx.system.ask(self.link, call)
        except ServiceFailed as exc:
            raise error_from_text(exc.error) from exc
        except (LinkError, actors.ActorError) as exc:
            raise CacheUnavailable("proxy", f"the orchestrator link failed: {exc}") from exc
        return from_result(message, result)
