"""The Redis-backed discovery actor: one registry for modules on many hosts.

Providers live in one hash per service type (``<prefix>:providers:<type>``, field = provider
id, value = the ``ServiceProviderInfo`` JSON). Every change is published on
``<prefix>:updates`` as a ``discovery_update`` JSON, and each actor's subscriber connection
pushes what it receives to local subscribers: updates arrive through Redis pub/sub, never by
polling.

A provider lives only as long as its **lease**, ``<prefix>:lease:<provider id>``, a key with a
TTL (``ttl`` seconds, 15 by default) that the module's actor refreshes every third of the TTL.
A host that crashes refreshes nothing, so its providers expire by themselves: every live actor
sweeps, on each refresh and before each discovery, the providers whose lease is gone out of
the hashes (atomically, in one Lua script, so only one sweeper publishes ``left`` for each);
the types to sweep are kept in the set ``<prefix>:types``. A refresh also puts back a provider
that was swept while its module lived (a long pause, a Redis restart) and publishes
``appeared`` again.

What this module registered belongs to the actor's *name*, not to an incarnation (pass the
same ``registered`` dict to every incarnation): after a crash the next incarnation reconnects
and refreshes them at once. A requested stop removes them and publishes ``left``.
"""

from __future__ import annotations

import logging
import math
import uuid
from typing import Any, Final

import attrs

from actors import Actor
from pywatt.cache import CacheError, RedisConnection, open_redis
from pywatt.wire import (
    DecodeError,
    DiscoveryEvent,
    DiscoveryUpdate,
    OrchestratorToModule,
    ServiceProviderInfo,
    decode_json,
    encode_json,
)

from ._errors import RegistryUnavailable
from ._messages import (
    DiscoverProviders,
    RegisterProvider,
    SubscribeUpdates,
    UnregisterProvider,
    UnsubscribeUpdates,
)
from ._subscribers import Subscribers
from ._types import matches, service_key

__all__ = ["DEFAULT_TTL", "RedisDiscovery"]

log = logging.getLogger("pywatt.discovery")

DEFAULT_PREFIX: Final = "pywatt:discovery"
DEFAULT_TTL: Final = 15.0
"""Seconds a provider outlives the last lease refresh of its module."""

_SWEEP: Final = """
local gone = {}
local all = redis.call('HGETALL', KEYS[1])
for i = 1, #all, 2 do
  if redis.call('EXISTS', ARGV[1] .. all[i]) == 0 then
    redis.call('HDEL', KEYS[1], all[i])
    gone[#gone + 1] = all[i + 1]
  end
end
return gone
"""
"""Remove the providers of one hash (KEYS[1]) whose lease (ARGV[1] .. id) is gone; returns
their records. One script, so a provider is removed, and announced as left, exactly once."""


@attrs.frozen
class _Pushed:
    update: DiscoveryUpdate


@attrs.frozen
class _Refresh:
    """Internal timer tick: refresh our leases, sweep the expired providers."""


RedisDiscoveryMessage = (
    RegisterProvider
    | UnregisterProvider
    | DiscoverProviders
    | SubscribeUpdates
    | UnsubscribeUpdates
    | _Pushed
    | _Refresh
)


class RedisDiscovery(Actor[RedisDiscoveryMessage]):
    """Answers the discovery protocol from a Redis registry (see the module docstring).

    ``ttl``: seconds a provider outlives its module (refreshed every third of it).
    ``registered``: where the providers this module registered are kept; share one dict
    between the incarnations of the name so that they survive a restart.
    """

    reply_errors = (RegistryUnavailable,)

    def __init__(
        self,
        url: str,
        module_id: str,
        *,
        prefix: str = DEFAULT_PREFIX,
        ttl: float = DEFAULT_TTL,
        registered: dict[str, ServiceProviderInfo] | None = None,
        subscribers: Subscribers | None = None,
    ) -> None:
        if not (math.isfinite(ttl) and ttl > 0):
            raise ValueError(f"the discovery ttl must be a positive number of seconds, not {ttl}")
        self.url = url
        self.module_id = module_id
        self.prefix = prefix
        self.ttl = ttl
        # Handed in by the factory, they outlive this incarnation: who subscribed keeps
        # hearing updates after a restart (docs/architecture.md, decision 11).
        self.subscribers = subscribers if subscribers is not None else Subscribers()
        self.mine = registered if registered is not None else {}
        self.redis: RedisConnection | None = None

    @property
    def channel(self) -> str:
        return f"{self.prefix}:updates"

    def _hash(self, key: str) -> str:
        return f"{self.prefix}:providers:{key}"

    def _lease(self, provider_id: str) -> str:
        return f"{self.prefix}:lease:{provider_id}"

    @property
    def _types(self) -> str:
        return f"{self.prefix}:types"

    @property
    def client_name(self) -> str:
        """The name its Redis connections carry (``CLIENT LIST``)."""
        return "pywatt-discovery:" + "".join(
            c if c.isalnum() or c in "-_.:" else "_" for c in self.module_id
        )

    async def _open(self) -> RedisConnection:
        try:
            return await open_redis(self.url, self.ctx.start_task, name=self.client_name)
        except CacheError as exc:
            raise RegistryUnavailable(f"cannot use the Redis registry: {exc}") from exc

    async def on_start(self) -> None:
        # Each connection's reader runs as a task of this incarnation: a connection that
        # breaks crashes it, and the supervisor connects again.
        self.redis = await self._open()
        listener = await self._open()
        try:
            await listener.subscribe(self.channel)  # before serving: no update is missed
        except CacheError as exc:
            await listener.aclose()
            raise RegistryUnavailable(f"cannot subscribe to {self.channel}: {exc}") from exc
        except BaseException:
            await listener.aclose()
            raise
        self.ctx.start_task(self._listen, listener)
        # At once: a restarted incarnation re-announces what the module registered.
        self.ctx.send_interval(self.ttl / 3, _Refresh(), first=0.0)

    async def on_stop(self) -> None:
        redis = self.redis
        if redis is None:
            return
        try:
            # Only when asked to stop: after a crash (of a handler, or of the listener, which
            # also ends the incarnation through a stop) the next incarnation refreshes them.
            if self.ctx.stopping and self.ctx.failure is None:
                for provider_id in list(self.mine):
                    await self._remove(provider_id)
        except RegistryUnavailable as exc:
            log.warning("could not remove this module's providers from Redis: %s", exc)
        finally:
            await redis.aclose()

    async def _listen(self, listener: RedisConnection) -> None:
        try:
            async for data in listener.messages():
                try:
                    update = decode_json(data, OrchestratorToModule)
                except DecodeError as exc:
                    log.warning("ignored a malformed discovery update from Redis: %s", exc)
                    continue
                if isinstance(update, DiscoveryUpdate):
                    await self.ctx.self_ref.tell(_Pushed(update))
        finally:
            await listener.aclose()

    async def receive(self, message: RedisDiscoveryMessage) -> Any:
        if isinstance(message, RegisterProvider):
            provider_id = str(uuid.uuid4())
            record = message.info.to_wire(provider_id, self.module_id)
            await self._put(record)
            self.mine[provider_id] = record
            await self._publish(DiscoveryEvent.APPEARED, record)
            return provider_id
        if isinstance(message, UnregisterProvider):
            return await self._remove(message.provider_id)
        if isinstance(message, DiscoverProviders):
            key = service_key(message.service_type)
            await self._sweep(key)
            raw = await self._command("HVALS", self._hash(key))
            providers = sorted(
                (decode_json(item, ServiceProviderInfo) for item in raw),
                key=lambda p: (p.name, p.provider_id),
            )
            found = [p for p in providers if matches(p, message.capabilities)]
            if not message.all_providers:
                found = [p for p in found if p.is_healthy][:1]
            return found
        if isinstance(message, _Refresh):
            try:
                await self._refresh()
            except RegistryUnavailable as exc:
                # A broken connection would fail every later command too: crash, so that the
                # supervisor reconnects; the next incarnation refreshes our providers at once.
                raise ConnectionError(f"lost the Redis discovery registry: {exc}") from exc
        elif isinstance(message, SubscribeUpdates):
            self.subscribers.add(message.send, message.service_type)
        elif isinstance(message, UnsubscribeUpdates):
            self.subscribers.remove(message.send)
        else:
            self.subscribers.publish(message.update)
        return None

    async def _command(self, *args: str | bytes | int) -> Any:
        assert self.redis is not None
        try:
            return await self.redis.command(*args)
        except CacheError as exc:
            raise RegistryUnavailable(str(exc)) from exc

    async def _put(self, record: ServiceProviderInfo) -> bool:
        """Lease first, then the record, so that a sweep never sees the record unleased.
        Returns whether the record was new in its hash."""
        key = service_key(record.service_type)
        await self._command(
            "SET", self._lease(record.provider_id), self.module_id,
            "PX", max(1, round(self.ttl * 1000)),
        )  # fmt: skip
        added = await self._command(
            "HSET", self._hash(key), record.provider_id,
            encode_json(record, as_type=ServiceProviderInfo),
        )  # fmt: skip
        await self._command("SADD", self._types, key)
        return bool(added)

    async def _refresh(self) -> None:
        for record in list(self.mine.values()):
            if await self._put(record):  # it had been swept while we lived: it is back
                await self._publish(DiscoveryEvent.APPEARED, record)
        for key in await self._command("SMEMBERS", self._types):
            await self._sweep(key.decode())

    async def _sweep(self, key: str) -> None:
        gone = await self._command("EVAL", _SWEEP, 1, self._hash(key), self._lease(""))
        for data in gone:
            record = decode_json(data, ServiceProviderInfo)
            log.info("provider %s (%s) expired", record.name, record.provider_id)
            await self._publish(DiscoveryEvent.LEFT, record)

    async def _remove(self, provider_id: str) -> bool:
        record = self.mine.pop(provider_id, None)
        if record is None:
            return False
        await self._command("DEL", self._lease(provider_id))
        removed = await self._command(
            "HDEL", self._hash(service_key(record.service_type)), provider_id
        )
        if removed:  # else a sweep already removed it, and published its departure
            await self._publish(DiscoveryEvent.LEFT, record)
        return True

    async def _publish(self, event: DiscoveryEvent, record: ServiceProviderInfo) -> None:
        update = DiscoveryUpdate(event=event, provider=record)
        await self._command("PUBLISH", self.channel, encode_json(update))
