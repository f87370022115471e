"""The Redis-backed discovery actor: one registry for modules on many hosts.

Providers live in one hash per service type (``<prefix>:providers:<type>``, field = provider
id, value = the ``ServiceProviderInfo`` JSON). Every change is published on
``<prefix>:updates`` as a ``discovery_update`` JSON, and each actor's subscriber connection
pushes what it receives to local subscribers: updates arrive through Redis pub/sub, never by
polling. Providers this actor registered are removed (and ``left`` published) when it stops.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any, Final

import attrs

from actors import Actor
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
from ._resp import RespConnection, open_resp
from ._subscribers import Subscribers
from ._types import matches, service_key

__all__ = ["RedisDiscovery"]

log = logging.getLogger("pywatt.discovery")

DEFAULT_PREFIX: Final = "pywatt:discovery"


@attrs.frozen
class _Pushed:
    update: DiscoveryUpdate


RedisDiscoveryMessage = (
    RegisterProvider
    | UnregisterProvider
    | DiscoverProviders
    | SubscribeUpdates
    | UnsubscribeUpdates
    | _Pushed
)


class RedisDiscovery(Actor[RedisDiscoveryMessage]):
    """Answers the discovery protocol from a Redis registry (see the module docstring)."""

    reply_errors = (RegistryUnavailable,)

    def __init__(self, url: str, module_id: str, *, prefix: str = DEFAULT_PREFIX) -> None:
        self.url = url
        self.module_id = module_id
        self.prefix = prefix
        self.subscribers = Subscribers()
        self.mine: dict[str, ServiceProviderInfo] = {}
        self.redis: RespConnection | None = None

    @property
    def channel(self) -> str:
        return f"{self.prefix}:updates"

    def _hash(self, key: str) -> str:
        return f"{self.prefix}:providers:{key}"

    async def on_start(self) -> None:
        self.redis = await open_resp(self.url)
        listener = await open_resp(self.url)
        self.ctx.start_task(self._listen, listener)

    async def on_stop(self) -> None:
        redis = self.redis
        if redis is None:
            return
        try:
            for provider_id in list(self.mine):
                await self._remove(provider_id)
        except RegistryUnavailable as exc:
            log.warning("could not remove this module's providers from Redis: %s", exc)
        finally:
            await redis.aclose()

    async def _listen(self, listener: RespConnection) -> None:
        try:
            async for data in listener.messages(self.channel):
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
        redis = self.redis
        assert redis is not None
        if isinstance(message, RegisterProvider):
            provider_id = str(uuid.uuid4())
            record = message.info.to_wire(provider_id, self.module_id)
            await redis.command(
                "HSET", self._hash(service_key(record.service_type)), provider_id,
                encode_json(record, as_type=ServiceProviderInfo),
            )  # fmt: skip
            self.mine[provider_id] = record
            await self._publish(DiscoveryEvent.APPEARED, record)
            return provider_id
        if isinstance(message, UnregisterProvider):
            return await self._remove(message.provider_id)
        if isinstance(message, DiscoverProviders):
            raw = await redis.command("HVALS", self._hash(service_key(message.service_type)))
            providers = sorted(
                (decode_json(item, ServiceProviderInfo) for item in raw),
                key=lambda p: (p.name, p.provider_id),
            )
            found = [p for p in providers if matches(p, message.capabilities)]
            if not message.all_providers:
                found = [p for p in found if p.is_healthy][:1]
            return found
        if isinstance(message, SubscribeUpdates):
            self.subscribers.add(message.send, message.service_type)
        elif isinstance(message, UnsubscribeUpdates):
            self.subscribers.remove(message.send)
        else:
            self.subscribers.publish(message.update)
        return None

    async def _remove(self, provider_id: str) -> bool:
        record = self.mine.pop(provider_id, None)
        if record is None:
            return False
        assert self.redis is not None
        await self.redis.command("HDEL", self._hash(service_key(record.service_type)), provider_id)
        await self._publish(DiscoveryEvent.LEFT, record)
        return True

    async def _publish(self, event: DiscoveryEvent, record: ServiceProviderInfo) -> None:
        assert self.redis is not None
        update = DiscoveryUpdate(event=event, provider=record)
        await self.redis.command("PUBLISH", self.channel, encode_json(update))
