"""AppState's messaging, discovery and registration methods (each asks one actor)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, TypeVar

import trio

import actors
from pywatt.channels import NoChannel
from pywatt.discovery import (
    DISCOVERY,
    DiscoverProviders,
    ProviderInfo,
    RegisterProvider,
    SubscribeUpdates,
    UnregisterProvider,
    UnsubscribeUpdates,
)
from pywatt.registrar import GetRegistration, RegistrationStatus, SetHealth
from pywatt.router import (
    ROUTER,
    EndpointHandler,
    ModuleStream,
    ModuleUnavailable,
    NoSuchEndpoint,
    RegisterHandler,
    RemoteInbound,
    RemoteRef,
    RequestInterrupted,
    RequestTimeout,
    SendMessage,
    SendRequest,
    StreamReply,
    UnregisterHandler,
    open_module_stream,
    parse_target,
)
from pywatt.tracing import client_span
from pywatt.wire import (
    DEFAULT_CHUNK_SIZE,
    DEFAULT_WINDOW,
    READY_ENDPOINT,
    DiscoveryUpdate,
    HealthStatus,
    InitBlob,
    ServiceProviderInfo,
    ServiceType,
)

if TYPE_CHECKING:
    from ._messaging import ModuleRuntime

__all__ = ["MessagingMixin"]

R = TypeVar("R")


class MessagingMixin:
    """Inter-module messaging, discovery and health (mixed into :class:`AppState`)."""

    system: actors.ActorSystem
    init: InitBlob
    _runtime: ModuleRuntime | None

    # -- messaging -------------------------------------------------------------------------

    async def send_message(self, target: str, payload: Any, *, endpoint: str | None = None) -> None:
        """Send a one-way notification to ``"module:endpoint"`` (or ``target`` + ``endpoint``).

        Returns once it is queued on a channel. Raises ``NoChannel`` when no channel is up,
        ``BadTarget`` for a malformed target, ``EncodeError`` for a payload without JSON form.
        """
        module, name = parse_target(target, endpoint)
        with client_span(module, name, notify=True) as trace:
            await self.system.ask(ROUTER, SendMessage(module, name, payload, trace))

    async def send_request(
        self,
        target: str,
        payload: Any,
        *,
        response_type: type[R] | Any = Any,
        timeout: float | None = None,
        endpoint: str | None = None,
    ) -> R:
        """Send a request to ``"module:endpoint"`` and wait for the reply as ``response_type``.

        Blocks until the reply or the deadline (``timeout``, default 30 s). A target that is
        this module itself is served in-process. Raises a
        :class:`~pywatt.router.RemoteError`: :class:`~pywatt.ModuleUnavailable` (the module
        has no open channel), :class:`~pywatt.NoSuchModule`, :class:`~pywatt.NoSuchEndpoint`
        or :class:`~pywatt.RemoteCrash` (the handler raised: ``error_type``,
        ``remote_message``); or :class:`~pywatt.router.RequestTimeout`,
        :class:`~pywatt.router.RequestInterrupted`, ``NoChannel`` or ``BadTarget``
        (docs/calling-modules.md).
        """
        module, name = parse_target(target, endpoint)
        runtime = self._runtime
        direct = runtime.requests if runtime is not None else None
        with client_span(module, name) as trace:
            request = SendRequest(module, name, payload, response_type, timeout, trace)
            # Sent in this task by the running router when it can (_direct_requests). The
            # request carries its trace itself (the client span's context, in ``trace``).
            reply = direct.start(request) if direct is not None else None
            result: R = (
                await reply.wait() if reply is not None else await self.system.ask(ROUTER, request)
            )
        return result

    async def wait_for_module(self, module_id: str, *, timeout: float = 30.0) -> None:
        """Block until module ``module_id`` is reachable: it has an open channel to the
        orchestrator and its current process has announced (so the endpoints it serves from
        ``main`` are registered), which is when a request to it is routed and served.

        The orchestrator holds a readiness probe until then (``pywatt.ready``,
        docs/protocol-extensions.md §7.3); this module's own id is reachable at once. Raises
        :class:`~pywatt.NoSuchModule` at once for an id the orchestrator does not run, and
        :class:`~pywatt.ModuleUnavailable` (``waited`` set) when ``timeout`` seconds pass.
        """
        if not timeout > 0:
            raise ValueError(f"timeout must be positive, not {timeout!r}")
        deadline = trio.current_time() + timeout
        pause = 0.05
        while (remaining := deadline - trio.current_time()) > 0:
            probe = SendRequest(module_id, READY_ENDPOINT, {"wait": remaining}, bool, remaining)
            try:
                await self.system.ask(ROUTER, probe)
            except NoSuchEndpoint:  # a router without the built-in probe answered: it is up
                return
            except RequestTimeout:
                break
            except (ModuleUnavailable, NoChannel, RequestInterrupted):
                # An orchestrator that answers the probe at once instead of holding it, or
                # no channel of ours is up (yet): ask again shortly.
                await trio.sleep(min(pause, max(deadline - trio.current_time(), 0.0)))
                pause = min(pause * 2, 1.0)
            else:
                return
        raise ModuleUnavailable.after_wait(module_id, timeout)

    async def serve(
        self,
        endpoint: str,
        handler: EndpointHandler,
        *,
        request_type: Any = Any,
        for_module: str | None = None,
        max_request_size: int | None = None,
    ) -> None:
        """Serve requests for ``endpoint`` with ``handler`` (a sync or async function of the
        request, decoded as ``request_type``, returning the response; or a local actor's
        name). ``for_module`` also routes destination-less requests (a Rust module's) from
        that module here. ``max_request_size``: refuse requests over this many encoded bytes
        (the caller gets ``RequestTooLarge``); without it a request of any size is taken
        (over 1 MiB it comes as a stream, docs/streams.md).

        The handler may answer with a stream: return ``state.stream_reply(chunks)`` or an
        async generator of bytes, and the caller's ``send_request`` returns a
        ``RemoteInbound`` to iterate."""
        await self.system.ask(
            ROUTER,
            RegisterHandler(endpoint, handler, request_type, for_module, max_size=max_request_size),
        )

    async def serve_stream(
        self, endpoint: str, handler: Callable[[RemoteInbound], Awaitable[Any]]
    ) -> None:
        """Serve streams opened to ``endpoint`` (``state.open_stream`` in another module):
        ``handler`` gets each stream's :class:`~pywatt.router.RemoteInbound` (``async for
        chunk in stream``; ``stream.metadata``, ``stream.source``) and its return value is
        the producer's ``stream.reply``. Returning before the end, or raising, aborts the
        stream (docs/streams.md)."""
        await self.system.ask(ROUTER, RegisterHandler(endpoint, handler, stream=True))

    def open_stream(
        self,
        target: str,
        metadata: Mapping[str, str] | None = None,
        *,
        endpoint: str | None = None,
        window: int = DEFAULT_WINDOW,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        timeout: float | None = None,
    ) -> contextlib.AbstractAsyncContextManager[ModuleStream]:
        """``async with state.open_stream("storage:upload", {"name": "a.bin"}) as stream:
        await stream.send(chunk)``: a stream to another module's streamed endpoint, paced by
        its reading (at most ``window`` chunks of ``chunk_size`` bytes in flight). Leaving the
        block waits for the handler's answer, ``stream.reply``. Raises ``StreamAborted``, the
        handler's ``RemoteError``, ``StreamsUnsupported`` (docs/streams.md)."""
        return open_module_stream(
            self.system, target, dict(metadata or {}), endpoint=endpoint, window=window,
            chunk_size=chunk_size, timeout=timeout,
        )  # fmt: skip

    def stream_reply(
        self, chunks: AsyncIterable[bytes] | bytes, metadata: Mapping[str, str] | None = None
    ) -> StreamReply:
        """What a request handler returns to answer with a stream of ``chunks``; the caller's
        ``send_request`` returns a ``RemoteInbound`` (``metadata`` is its ``metadata``)."""
        return StreamReply(chunks, dict(metadata or {}))

    async def stop_serving(self, endpoint: str) -> None:
        """Stop serving ``endpoint``."""
        await self.system.ask(ROUTER, UnregisterHandler(endpoint))

    def remote(self, name: str, *, timeout: float | None = None) -> RemoteRef:
        """A ref to ``module_id/endpoint`` of another module: ``tell`` / ``ask`` it like a
        local actor. Raises ``BadTarget``."""
        return RemoteRef(self.system, name, timeout=timeout)

    # -- discovery -------------------------------------------------------------------------

    async def register_service_provider(
        self,
        provider: ProviderInfo | ServiceType,
        details: Mapping[str, Any] | None = None,
    ) -> str:
        """Register this module as a provider; returns the provider id.

        Either a :class:`~pywatt.discovery.ProviderInfo` (see its builder) or the seed's
        ``(ServiceType.USER_MANAGEMENT, {"version", "endpoints", "capabilities", ...})``.
        Raises ``DiscoveryFailed``, ``DiscoveryTimeout`` or ``NoChannel``.
        """
        if isinstance(provider, ServiceType):
            listen = self.init.listen
            provider = ProviderInfo.from_seed(
                provider, details or {}, name=self.init.module_id, address=str(listen)
            )
        elif details is not None:
            raise TypeError("details are only taken with a ServiceType")
        result: str = await self.system.ask(DISCOVERY, RegisterProvider(provider))
        return result

    async def unregister_service_provider(self, provider_id: str) -> bool:
        """Remove one provider this module registered; returns whether it was there.

        Works on both backends: Redis, and a pywatt orchestrator (the
        ``unregister_service_provider`` extension). A Rust orchestrator has no op for it:
        raises ``DiscoveryFailed`` (there, providers leave with their module).
        """
        result: bool = await self.system.ask(DISCOVERY, UnregisterProvider(provider_id))
        return result

    async def discover_service_providers(
        self,
        service_type: ServiceType,
        *,
        all_providers: bool = True,
        capabilities: tuple[str, ...] | frozenset[str] = (),
    ) -> list[ServiceProviderInfo]:
        """Providers of ``service_type`` having every one of ``capabilities``."""
        result: list[ServiceProviderInfo] = await self.system.ask(
            DISCOVERY, DiscoverProviders(service_type, all_providers, frozenset(capabilities))
        )
        return result

    @asynccontextmanager
    async def discovery_updates(
        self, service_type: ServiceType | None = None, *, buffer: int = 64
    ) -> AsyncIterator[trio.MemoryReceiveChannel[DiscoveryUpdate]]:
        """Receive :class:`~pywatt.wire.DiscoveryUpdate` events as providers come and go."""
        send, receive = trio.open_memory_channel[DiscoveryUpdate](buffer)
        await self.system.ask(DISCOVERY, SubscribeUpdates(send, service_type))
        try:
            async with receive:
                yield receive
        finally:
            with trio.CancelScope(shield=True):
                await self.system.ask(DISCOVERY, UnsubscribeUpdates(send))

    # -- health ----------------------------------------------------------------------------

    async def set_health(
        self, status: HealthStatus | None, details: Mapping[str, str] | None = None
    ) -> None:
        """Report ``status`` on the next registration heartbeats (None: from the channels)."""
        await self.system.ask(
            "pywatt.registrar", SetHealth(status, tuple(sorted((details or {}).items())))
        )

    async def registration(self) -> RegistrationStatus:
        """The registration record and the last health reported and seen."""
        return await self.system.ask("pywatt.registrar", GetRegistration())
