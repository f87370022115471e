"""Serving a module's app: HTTP/1.1 on trio, HTTP over IPC, ``/health`` and ``/metrics``.

The ``pywatt.http`` actor serves the module's ASGI app (FastAPI, Starlette, any ASGI app) or
WSGI app (Flask) on ``InitBlob.listen`` with :func:`serve_http1` (httptools on trio; or
hypercorn's trio worker, ``HttpConfig(server="hypercorn")``), and answers every
``http_request`` on stdin by dispatching it through the same app in-process (docs/protocol.md
§9). See docs/http-and-jwt.md.
"""

from typing import TYPE_CHECKING

from pywatt._lazy import attach

if TYPE_CHECKING:
    from pywatt.channels import HTTP_ACTOR as HTTP_ACTOR
    from pywatt.channels import ServeHttp as ServeHttp
    from pywatt.wire import path_matches as path_matches

    from ._app import CLAIMS_KEY as CLAIMS_KEY
    from ._app import ServedApp as ServedApp
    from ._app import as_asgi as as_asgi
    from ._children import http_children as http_children
    from ._children import serve_app as serve_app
    from ._config import DEFAULT_MAX_BODY as DEFAULT_MAX_BODY
    from ._config import HttpConfig as HttpConfig
    from ._dispatch import build_scope as build_scope
    from ._dispatch import dispatch as dispatch
    from ._dispatch import stdout_wrapper as stdout_wrapper
    from ._errors import AppStartupFailed as AppStartupFailed
    from ._errors import BadHttpRequest as BadHttpRequest
    from ._errors import BodyTooLarge as BodyTooLarge
    from ._errors import HttpError as HttpError
    from ._h1_client import Http1Pool as Http1Pool
    from ._h1_client import UpstreamBody as UpstreamBody
    from ._h1_client import UpstreamError as UpstreamError
    from ._h1_client import UpstreamResponse as UpstreamResponse
    from ._h1_client import UpstreamUnreachable as UpstreamUnreachable
    from ._h1_server import Http1Settings as Http1Settings
    from ._h1_server import serve_http1 as serve_http1
    from ._health import HealthTracker as HealthTracker
    from ._lifespan import answer_lifespan as answer_lifespan
    from ._server import HttpServer as HttpServer
    from ._wsgi import WsgiAdapter as WsgiAdapter
    from ._wsgi import is_asgi as is_asgi

__getattr__, __dir__, __all__ = attach(
    __name__,
    {
        "pywatt.channels": ["HTTP_ACTOR", "ServeHttp"],
        "pywatt.wire": ["path_matches"],
        "._app": ["CLAIMS_KEY", "ServedApp", "as_asgi"],
        "._children": ["http_children", "serve_app"],
        "._config": ["DEFAULT_MAX_BODY", "HttpConfig"],
        "._dispatch": ["build_scope", "dispatch", "stdout_wrapper"],
        "._errors": ["AppStartupFailed", "BadHttpRequest", "BodyTooLarge", "HttpError"],
        "._h1_client": [
            "Http1Pool",
            "UpstreamBody",
            "UpstreamError",
            "UpstreamResponse",
            "UpstreamUnreachable",
        ],
        "._h1_server": ["Http1Settings", "serve_http1"],
        "._health": ["HealthTracker"],
        "._lifespan": ["answer_lifespan"],
        "._server": ["HttpServer"],
        "._wsgi": ["WsgiAdapter", "is_asgi"],
    },
)
