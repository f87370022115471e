"""Wiring HTTP serving into a module: the child specs, and a helper for ``create_app``."""

from __future__ import annotations

from typing import Any

from actors import ChildSpec, SupervisorSpec
from pywatt.channels import HTTP_ACTOR
from pywatt.wire import InitBlob

from ._config import HttpConfig
from ._server import HttpServer

SERVICES = "pywatt.services"


def _http_config(config: Any) -> HttpConfig:
    if config is None:
        return HttpConfig()
    if isinstance(config, HttpConfig):
        return config
    return HttpConfig.from_module_config(config)


def http_children(
    app: object, config: Any, init: InitBlob, *, bind: bool = True
) -> list[ChildSpec | SupervisorSpec]:
    """The supervision-tree children that serve ``app`` for the module ``init`` describes.

    ``app`` is an ASGI app (FastAPI, Starlette, any ASGI callable) or a WSGI app (Flask).
    ``config`` is an :class:`HttpConfig`, a module's ``ModuleConfig`` (its ``health``,
    ``metrics``, ``endpoints`` with ``auth="jwt"``, ``version`` and ``shutdown_grace`` are
    used) or None for the defaults. Returns one child, the ``pywatt.http`` actor: it serves
    ``init.listen`` with hypercorn and answers the link's HTTP-over-stdio requests. Put it
    after the ``pywatt.jwt`` actor (see :func:`pywatt.jwt.jwt_children`) when paths are
    protected. ``bind=False`` binds nothing: the app is served over stdio and the channels
    only (HTTP over IPC). Does not block; raises :class:`~pywatt.ConfigError` for a bad config.
    """
    http_config = _http_config(config)
    listen = init.listen if bind else None
    return [
        ChildSpec(
            HTTP_ACTOR,
            lambda: HttpServer(app, http_config, module_id=init.module_id, listen=listen),
            shutdown=http_config.graceful_timeout + 2.0,
        )
    ]


async def serve_app(state: Any, app: object, config: Any = None) -> None:
    """Start serving ``app`` from a module's ``create_app``: ``await serve_app(state, app)``.

    Starts the :func:`http_children` under the module's services supervisor (one_for_one)
    and returns once the app's lifespan startup is done and its listen address is bound.
    ``state`` is the module's :class:`~pywatt.AppState`. Raises
    :class:`~actors.StartFailed` (chaining the cause: a bind error, a failed startup).
    """
    system = state.system
    for child in http_children(app, config, state.init):
        await system.supervisor(SERVICES).start_child(child)
