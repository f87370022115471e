"""AppState: the friendly facade of the seed. Every method asks an actor; no logic lives here."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import trio

import actors
from pywatt._extras import require
from pywatt.link import RequestPort
from pywatt.router import RemoteRef
from pywatt.secrets import (
    FetchMode,
    GetSecret,
    Secret,
    SecretRotated,
    SetSecret,
    Subscribe,
    Unsubscribe,
)
from pywatt.wire import InitBlob

from ._data import DataMixin
from ._state_channels import ChannelsMixin
from ._state_messaging import MessagingMixin

if TYPE_CHECKING:
    from pywatt.metrics import SystemMetrics

    from ._config import ModuleConfig
    from ._messaging import ModuleRuntime

S = TypeVar("S")

SECRETS = "pywatt.secrets"
LINK = "pywatt.link"
SERVICES = "pywatt.services"


class AppState(MessagingMixin, DataMixin, ChannelsMixin, Generic[S]):
    """What a module's code holds: its InitBlob, its own state, and the actors behind it.

    ``user_state`` (also ``custom()``) is what the module's ``state_builder`` returned. Every
    method is a message to an actor (``get_secret`` asks ``pywatt.secrets``), so a user's
    actor registered under the same name answers instead of the built-in one; only the
    channel methods read a read-only view of the channels, or ask the channels actor.
    """

    def __init__(
        self,
        system: actors.ActorSystem,
        init: InitBlob,
        user_state: S,
        config: ModuleConfig | None = None,
        runtime: ModuleRuntime | None = None,
    ) -> None:
        from ._config import ModuleConfig

        self.system = system
        self.init = init
        self.user_state = user_state
        self._config = config or ModuleConfig()
        self._runtime = runtime

    @property
    def module_id(self) -> str:
        """This module's id, from the InitBlob."""
        return self.init.module_id

    @property
    def orchestrator_api(self) -> str:
        """The orchestrator's API address, from the InitBlob."""
        return self.init.orchestrator_api

    def custom(self) -> S:
        """The module's own state (``user_state``, what ``state_builder`` returned)."""
        return self.user_state

    @property
    def metrics(self) -> SystemMetrics:
        """The module's metrics (on prometheus_client). Register your own on its registry
        and they appear on ``/metrics`` beside pywatt's::

            orders = Counter("shop_orders", "Orders taken.", registry=state.metrics.registry)

        Needs the ``http`` extra (one line saying so when it is missing).
        """
        require("http", "state.metrics")
        from pywatt.metrics import SystemMetrics

        return SystemMetrics.of(self.system)

    # -- secrets ---------------------------------------------------------------------------

    async def get_secret(
        self, name: str, use_cache: bool = True, *, force_remote: bool = False
    ) -> str:
        """The secret's current value (cached; ``force_remote``, or the reference SDK's
        ``use_cache=False``, asks the providers again).

        Raises :class:`~pywatt.secrets.SecretNotFound` when no provider has it (at once if
        the orchestrator says so), :class:`~pywatt.secrets.SecretTimeout` after 5 s without
        an answer.
        """
        return (await self.secret(name, force_remote=force_remote or not use_cache)).value

    async def secret(self, name: str, *, force_remote: bool = False) -> Secret:
        """The secret with its version, source and rotation id (the value is redacted in repr)."""
        mode = FetchMode.FORCE_REMOTE if force_remote else FetchMode.CACHE_THEN_REMOTE
        return await self.system.ask(SECRETS, GetSecret(name, mode))

    async def set_secret(
        self, name: str, value: str, metadata: Mapping[str, str] | None = None
    ) -> Secret:
        """Store a secret in the module's memory provider (no wire op writes a secret).
        ``metadata`` is kept on the :class:`Secret` (``state.secret(name).metadata``) until
        the value changes by other means."""
        return await self.system.ask(SECRETS, SetSecret(name, value, dict(metadata or {})))

    @asynccontextmanager
    async def secret_rotations(
        self, names: Iterable[str] = (), *, buffer: int = 16
    ) -> AsyncIterator[trio.MemoryReceiveChannel[SecretRotated]]:
        """Receive :class:`SecretRotated` events for ``names`` (all secrets if empty)::

        async with state.secret_rotations(["API_KEY"]) as rotations:
            async for event in rotations:
                reconnect(event.secret.value)
        """
        send, receive = trio.open_memory_channel[SecretRotated](buffer)
        await self.system.ask(SECRETS, Subscribe(frozenset(names), send))
        try:
            async with receive:
                yield receive
        finally:
            with trio.CancelScope(shield=True):
                await self.system.ask(SECRETS, Unsubscribe(send))

    # -- the orchestrator ------------------------------------------------------------------

    async def negotiate_port(self, specific_port: int | None = None) -> int:
        """Ask the orchestrator for an HTTP port (10 s deadline); returns it.

        Raises :class:`~pywatt.link.PortNegotiationFailed` or
        :class:`~pywatt.link.StdioTimeout`.
        """
        response = await self.system.ask(LINK, RequestPort(specific_port))
        return response.port

    # -- actors ----------------------------------------------------------------------------

    async def spawn(
        self, factory: Callable[[], actors.Actor[Any]], *, name: str | None = None, **spec: Any
    ) -> actors.ActorRef[Any]:
        """Start an actor of the module's own under its services supervisor (one_for_one)."""
        return await self.system.spawn(factory, name=name, supervisor=SERVICES, **spec)

    def ref(self, name: str) -> actors.ActorRef[Any] | RemoteRef:
        """A ref to a named actor of this module, or, for ``module_id/endpoint``, a
        :class:`~pywatt.router.RemoteRef` to another module's endpoint (told or asked the
        same way)."""
        if "/" in name:
            return RemoteRef(self.system, name)
        return self.system.ref(name)
