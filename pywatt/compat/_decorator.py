"""The reference SDK's ``@pywatt_module``: its keywords, its ``state_builder(init, secrets)``
with a list of secret objects, its ``AppState``, a sync or async ``create_app``; the module
runs on pywatt's tree.

The reference's keywords beyond the seed's: ``config`` (an :class:`AppConfig` or a dict of
its fields), ``framework`` (``"fastapi"``, ``"flask"``, ``"starlette"``: the app returned
must be of that kind), ``bind_http`` (False: serve over IPC only), ``specific_port`` and
``listen_addr`` (refused: the orchestrator assigns the listen address).
"""

from __future__ import annotations

import functools
import inspect
import sys
from collections.abc import Callable
from typing import Any

import pywatt
from pywatt._errors import ConfigError
from pywatt.module import Module
from pywatt.wire import EXIT_CANNOT_START

from ._config import AppConfig, options_from_app_config
from ._errors import NotSupported
from ._state import _CURRENT, AppState

__all__ = ["pywatt_module"]

_FRAMEWORKS = {"fastapi": "asgi", "starlette": "asgi", "asgi": "asgi", "flask": "wsgi",
               "wsgi": "wsgi"}  # fmt: skip


class CompatModule(Module[Any]):
    """A module declared with :func:`pywatt.compat.pywatt_module`: a configuration error,
    the compatibility layer's included, is one line and exit status 78, not a traceback."""

    async def __call__(self, state: pywatt.AppState[Any] | None = None) -> object:
        if state is None:  # the reference's examples awaited create_app() to run the module
            raise NotSupported(
                "awaiting create_app() to run the module",
                "the module runs by itself once its file has run (or call create_app.run()); "
                "remove the call",
            )
        return await self.main(state)

    def run(self) -> int:
        self.ran = True
        try:
            return pywatt.run_module(self.main, **self.options)
        except ConfigError as exc:
            print(f"pywatt: module {self.__name__} cannot start: {exc}", file=sys.stderr)
            return EXIT_CANNOT_START


def _app_kind(app: object) -> str | None:
    """``"asgi"``, ``"wsgi"``, or None for something that is no app at all."""
    from pywatt.http import is_asgi

    if is_asgi(app):
        return "asgi"
    return "wsgi" if callable(app) else None


def _check_app(app: object, framework: str | None) -> None:
    if app is None:
        return
    kind = _app_kind(app)
    if kind is None:
        raise ConfigError(
            f"create_app returned a {type(app).__name__}, which is not an ASGI (FastAPI, "
            "Starlette) or WSGI (Flask) app: return the app, or None to serve only /health"
        )
    if framework is not None and _FRAMEWORKS[framework] != kind:
        raise ConfigError(
            f"framework={framework!r} but create_app returned an {kind.upper()} app "
            f"({type(app).__name__}): pass the framework of the app, or leave framework out"
        )


def pywatt_module(**options: Any) -> Callable[[Callable[..., Any]], Module[Any]]:
    """Declare a module as the reference SDK did (see the module docstring); every keyword
    of :func:`pywatt.pywatt_module` works too. The module runs once its file has run."""

    def decorate(func: Callable[..., Any]) -> Module[Any]:
        own = dict(options)
        raw_config = own.pop("config", None)
        framework = own.pop("framework", None)
        refused = {key: own.pop(key) for key in ("specific_port", "listen_addr") if key in own}
        builder = own.pop("state_builder", None)
        secrets = tuple(own.get("secrets") or ())
        app_config = AppConfig.from_value(raw_config) if raw_config is not None else None
        problem: ConfigError | None = None
        try:
            if framework is not None and str(framework).lower() not in _FRAMEWORKS:
                raise ConfigError(
                    f"framework must be one of {', '.join(sorted(_FRAMEWORKS))}, not {framework!r}"
                )
            if app_config is not None:
                for key, value in options_from_app_config(app_config).items():
                    if key in own and own[key] != value:
                        raise ConfigError(
                            f"{key} is given both as a keyword and in config=AppConfig(...): "
                            "give it once"
                        )
                    own.setdefault(key, value)
        except ConfigError as exc:
            problem = exc
        wanted = str(framework).lower() if framework is not None else None

        @functools.wraps(func)
        async def main(state: pywatt.AppState[Any]) -> object:
            if problem is not None:
                raise problem
            for key, value in refused.items():
                if value is not None:
                    raise NotSupported(
                        key,
                        "the orchestrator assigns the module's listen address (the InitBlob's "
                        "listen, where pywatt serves the app); ask for a port with await "
                        "state.negotiate_port(port)",
                    )
            view = AppState.of(state, app_config)
            _CURRENT.append(view)
            if builder is not None:
                values = [await state.secret(name) for name in secrets]
                user_state = builder(state.init, values)
                if inspect.isawaitable(user_state):
                    user_state = await user_state
                view.user_state = state.user_state = user_state
            app = func(view)
            if inspect.isawaitable(app):
                app = await app
            _check_app(app, wanted)
            return app

        return CompatModule(main, own)

    return decorate
