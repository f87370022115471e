"""An in-process orchestrator peer for the proxy backend: the module's real link actor
(``pywatt.link``) talks over memory streams to a loop that decodes its stdout lines and
answers them with the embedded orchestrator's cache proxy
(``pywatt.orchestrator.proxies._cache_proxy``), which serves from cache actors in a second
actor system, as the orchestrator does."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import trio
import trio.testing

import actors
from pywatt.cache import ProxyCache
from pywatt.cache._proxy import proxy_config
from pywatt.link import StdioLink
from pywatt.orchestrator.proxies import CacheProxy, handle_cache
from pywatt.wire import (
    NEED_DATA,
    LineDecoder,
    ModuleToOrchestrator,
    ServiceOperation,
    ServiceRequest,
    decode_json,
    encode_json,
    encode_line,
)


class ProxyPeer:
    def __init__(self, proxy: CacheProxy) -> None:
        self.proxy = proxy
        self.lines: list[bytes] = []

    def factory(self, namespace: str) -> Callable[[], actors.Actor[Any]]:
        config = proxy_config({"type": "proxy", "namespace": namespace})
        return lambda: ProxyCache(config)


async def _serve(
    proxy: CacheProxy, module_stdout: trio.abc.ReceiveStream, module_stdin: trio.abc.SendStream,
    peer: ProxyPeer,
) -> None:  # fmt: skip
    decoder = LineDecoder(first_line_max=None)
    writing = trio.Lock()
    async with trio.open_nursery() as nursery:
        while True:
            line = decoder.next_line()
            if line is NEED_DATA:
                data = await module_stdout.receive_some(65536)
                if not data:
                    return
                decoder.feed(data)
                continue
            assert isinstance(line, bytes)
            peer.lines.append(line)
            message = decode_json(line, ModuleToOrchestrator)
            assert isinstance(message, ServiceRequest | ServiceOperation), message

            async def answer(m: ServiceRequest | ServiceOperation) -> None:
                reply = await handle_cache(proxy, m)
                async with writing:
                    await module_stdin.send_all(encode_line(encode_json(reply)))

            nursery.start_soon(answer, message)


@asynccontextmanager
async def open_proxy_peer(system: actors.ActorSystem) -> AsyncIterator[ProxyPeer]:
    """Start ``pywatt.link`` in ``system`` wired to an orchestrator-side cache proxy."""
    to_module_send, to_module_recv = trio.testing.memory_stream_one_way_pair()
    from_module_send, from_module_recv = trio.testing.memory_stream_one_way_pair()
    async with actors.open_actor_system() as orchestrator, trio.open_nursery() as nursery:
        proxy = CacheProxy(orchestrator, redis_url="")
        peer = ProxyPeer(proxy)
        nursery.start_soon(_serve, proxy, from_module_recv, to_module_send, peer)
        await system.spawn(
            lambda: StdioLink(
                stdin=to_module_recv,
                stdout=from_module_send,
                decoder=LineDecoder(first_line_max=None),
                module_id="cache-test",
            ),
            name="pywatt.link",
        )
        yield peer
        nursery.cancel_scope.cancel()
