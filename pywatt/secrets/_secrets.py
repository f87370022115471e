"""The secrets actor: a provider chain, a TTL + LRU cache, versions, rotation and redaction."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import attrs
import outcome
import trio

import actors
from pywatt.logs import redactor
from pywatt.wire import RotationAckRequest

from ._cache import SecretCache
from ._errors import SecretNotFound, SecretTimeout, SecretUnavailable
from ._messages import (
    AckRotation,
    FetchMode,
    GetSecret,
    ProvideSecret,
    RotationNotice,
    Secret,
    SecretPushed,
    SecretRotated,
    SecretStatistics,
    SecretStats,
    SetSecret,
    Subscribe,
    Unsubscribe,
)
from ._providers import StoreSecret

log = logging.getLogger(__name__)


@attrs.frozen
class _Rotation:
    rotation_id: str
    keys: frozenset[str]


SecretsMessage = (
    GetSecret
    | SetSecret
    | Subscribe
    | Unsubscribe
    | SecretPushed
    | RotationNotice
    | SecretStatistics
)


@attrs.define
class SecretsKept:
    """What a secrets actor keeps across its restarts (see :class:`SecretsActor`)."""

    subscribers: list[tuple[frozenset[str], Any]] = attrs.Factory(list)
    versions: dict[str, tuple[str, int]] = attrs.Factory(dict)
    metadata: dict[str, dict[str, str]] = attrs.Factory(dict)


class SecretsActor(actors.Actor[SecretsMessage]):
    """Answers the secrets protocol (registered as ``pywatt.secrets``).

    * ``GetSecret``: a fresh cached value, else the providers in ``chain`` order (actor names
      answering :class:`ProvideSecret`); the first that has it wins. Fetches run beside the
      mailbox and concurrent fetches of one name share one request.
    * ``RotationNotice`` (the orchestrator's ``rotated``): drop the keys, refetch them, tell
      subscribers the new versions, then acknowledge with ``rotation_ack`` through the link
      (docs/architecture.md, decision 10).
    * Every value it sees is registered with the redactor, so it never appears in a log.
    """

    reply_errors = (SecretNotFound, SecretTimeout, SecretUnavailable)

    def __init__(
        self,
        chain: Sequence[str],
        *,
        memory: str = "pywatt.secrets.memory",
        link: str | None = "pywatt.link",
        max_entries: int = 256,
        ttl: float | None = 300.0,
        refetch_on_rotation: bool = True,
        kept: SecretsKept | None = None,
    ) -> None:
        self.chain = list(chain)
        self.memory = memory
        self.link = link
        self.cache = SecretCache(max_entries, ttl)
        # What others told it belongs to its name (``kept``, handed in by the factory): the
        # subscribers, and each secret's value, version and metadata, so that after a
        # restart subscribers still hear of changes and versions never go back
        # (docs/architecture.md, decision 11).
        kept = kept if kept is not None else SecretsKept()
        self.versions = kept.versions  # name -> (value, version)
        self.inflight: dict[str, list[actors.DeferredReply]] = {}
        self.rotations: list[_Rotation] = []
        self.refetching: set[str] = set()
        self.metadata = kept.metadata
        self.subscribers = kept.subscribers
        self.rotation_count = 0
        self.refetch_on_rotation = refetch_on_rotation

    async def receive(self, message: SecretsMessage) -> Any:
        match message:
            case GetSecret(name, mode):
                return self._get(name, mode)
            case SetSecret(name, value, metadata):
                await self.ctx.system.ask(self.memory, StoreSecret(name, value))
                return self._store(name, value, "memory", None, metadata=metadata)
            case Subscribe(names, sink):
                self.subscribers.append((names, sink))
            case Unsubscribe(sink):
                self.subscribers[:] = [(n, s) for n, s in self.subscribers if s is not sink]
            case SecretPushed(name, value, rotation_id):
                self._store(name, value, "orchestrator", rotation_id)
            case RotationNotice(keys, rotation_id):
                self._rotate(keys, rotation_id)
            case SecretStatistics():
                return SecretStats(
                    hits=self.cache.hits,
                    misses=self.cache.misses,
                    evictions=self.cache.evictions,
                    expirations=self.cache.expirations,
                    rotations=self.rotation_count,
                    size=len(self.cache),
                )
        return None

    # -- fetching --------------------------------------------------------------------------

    def _get(self, name: str, mode: FetchMode) -> Secret | None:
        if mode is not FetchMode.FORCE_REMOTE:
            cached = self.cache.get(name, trio.current_time())
            if cached is not None:
                return cached
            if mode is FetchMode.CACHE_ONLY:
                raise SecretNotFound(name, "not in the cache (cache-only request)")
        self._fetch(name, self.ctx.defer_reply(), remote=mode is FetchMode.FORCE_REMOTE)
        return None

    def _fetch(self, name: str, waiter: actors.DeferredReply | None, *, remote: bool) -> None:
        waiters = self.inflight.get(name)
        if waiters is not None:
            if waiter is not None:
                waiters.append(waiter)
            return
        self.inflight[name] = [] if waiter is None else [waiter]
        # A forced fetch skips the local memory provider: "remote" means the other sources.
        chain = [p for p in self.chain if p != self.memory] if remote else self.chain
        self._ask_provider(name, chain, 0, SecretNotFound(name, "no secret provider is configured"))

    def _ask_provider(self, name: str, chain: list[str], index: int, last: Exception) -> None:
        """Ask ``chain[index]`` without waiting; its answer continues the chain.

        The callback runs in whichever task answers (the provider, or the link's reader), so
        the secrets actor never blocks on a provider and no task is spawned per fetch. It only
        updates this incarnation's state, which is safe: trio runs one task at a time and none
        of this awaits.
        """
        if index == len(chain):
            self._fetched(name, None, "", last)
            return
        provider = chain[index]

        def answered(result: outcome.Outcome[str]) -> None:
            if isinstance(result, outcome.Value):
                self._fetched(name, result.value, provider, None)
                return
            assert isinstance(result, outcome.Error)
            error = result.error
            if isinstance(error, SecretNotFound):
                self._ask_provider(name, chain, index + 1, error)
            elif isinstance(error, Exception):
                self._fetched(name, None, "", error)

        ref = self.ctx.system.lookup(provider)
        if ref is None:
            self._ask_provider(name, chain, index + 1, actors.NoSuchActor(provider))
            return
        ref.ask_nowait(ProvideSecret(name), answered)

    def _fetched(self, name: str, value: str | None, source: str, error: Exception | None) -> None:
        waiters = self.inflight.pop(name, [])
        if value is None:
            error = error or SecretNotFound(name)
            for waiter in waiters:
                waiter.fail(error)
            self._rotation_progress(name, error)
            return
        rotated = name in self.refetching
        secret = self._store(name, value, source, None, notify=rotated)
        for waiter in waiters:
            waiter.reply(secret)
        self._rotation_progress(name, None)

    def _store(
        self,
        name: str,
        value: str,
        source: str,
        rotation_id: str | None,
        *,
        notify: bool = False,
        metadata: Mapping[str, str] | None = None,
    ) -> Secret:
        """Cache a value; subscribers hear of it if it changed (or ``notify``: a rotation).
        ``metadata`` (from ``SetSecret``) stays with the value until the value changes."""
        redactor.register(value)
        previous = self.versions.get(name)
        version = 1 if previous is None else previous[1] + (previous[0] != value)
        self.versions[name] = (value, version)
        if metadata is not None:
            self.metadata[name] = dict(metadata)
        elif previous is not None and previous[0] != value:
            self.metadata.pop(name, None)
        secret = Secret(
            name,
            value,
            version=version,
            source=source,
            rotation_id=rotation_id,
            metadata=dict(self.metadata.get(name, {})),
        )
        self.cache.put(secret, trio.current_time())
        if notify or (previous is not None and previous[0] != value):
            self._notify(secret)
        return secret

    def _notify(self, secret: Secret) -> None:
        event = SecretRotated(secret)
        for names, sink in list(self.subscribers):
            if names and secret.name not in names:
                continue
            try:
                if isinstance(sink, actors.ActorRef):
                    sink.tell_nowait(event)
                else:
                    sink.send_nowait(event)
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                self.subscribers.remove((names, sink))
            except (trio.WouldBlock, actors.MailboxFull):
                log.warning("a subscriber of secret %r is full: dropped a rotation", secret.name)

    # -- rotation --------------------------------------------------------------------------

    def _rotate(self, keys: tuple[str, ...], rotation_id: str) -> None:
        self.rotation_count += 1
        for key in keys:
            self.cache.discard(key)
        if not self.refetch_on_rotation:  # the next use fetches them; acknowledge now
            self._send_ack(RotationAckRequest(rotation_id=rotation_id, status="success"))
            return
        if not keys:
            self._send_ack(RotationAckRequest(rotation_id=rotation_id, status="success"))
            return
        self.rotations.append(_Rotation(rotation_id, frozenset(keys)))
        for key in keys:
            self.refetching.add(key)
        for key in keys:
            self._fetch(key, None, remote=True)

    def _rotation_progress(self, name: str, error: Exception | None) -> None:
        if name not in self.refetching:
            return
        self.refetching.discard(name)
        if error is not None:
            log.error("refetching rotated secret %r failed: %s", name, error)
        for rotation in list(self.rotations):
            if rotation.keys & self.refetching:
                continue
            self.rotations.remove(rotation)
            failed = [k for k in rotation.keys if self.cache.peek(k) is None]
            ack = RotationAckRequest(
                rotation_id=rotation.rotation_id,
                status="error" if failed else "success",
                message=f"could not refetch {', '.join(sorted(failed))}" if failed else None,
            )
            self._send_ack(ack)

    def _send_ack(self, ack: RotationAckRequest) -> None:
        if self.link is not None:
            self.ctx.system.tell_nowait(self.link, AckRotation(ack))
