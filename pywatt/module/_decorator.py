"""The seed's ``@pywatt_module`` decorator."""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import sys
import traceback
from collections.abc import Callable
from types import TracebackType
from typing import Any, Generic, TypeVar

from ._run import Main, run_module
from ._state import AppState

S = TypeVar("S")


class Module(Generic[S]):
    """A decorated module entry. ``run()`` runs the process as a module (see
    :func:`run_module`); calling it directly still calls the decorated function.

    Declared in the file Python runs (``__main__``), the module also runs by itself once
    that file has been read to its end, as the seed's and the reference SDK's decorator
    do: ``if __name__ == "__main__": raise SystemExit(create_app.run())`` is then optional.
    """

    def __init__(self, main: Main, options: dict[str, Any]) -> None:
        self.main = main
        self.options = options
        self.ran = False
        self.status: int | None = None
        self.__doc__ = main.__doc__
        self.__name__ = getattr(main, "__name__", "module")
        if getattr(main, "__module__", None) == "__main__":
            _AUTO_RUN.declare(self)

    async def __call__(self, state: AppState[S]) -> object:
        return await self.main(state)

    def run(self) -> int:
        """Run this process as the module; returns the exit status. Typical use::

        if __name__ == "__main__":
            raise SystemExit(create_app.run())
        """
        self.ran = True
        self.status = run_module(self.main, **self.options)
        return self.status


class _AutoRun:
    """Runs the module a ``__main__`` file declared when the file has run to its end without
    running it (an ``atexit`` hook), unless the file ended with an uncaught exception."""

    def __init__(self) -> None:
        self.declared: list[Module[Any]] = []
        self.failed = False
        self.installed = False

    def declare(self, module: Module[Any]) -> None:
        self.declared.append(module)
        if not self.installed:
            self.installed = True
            previous = sys.excepthook

            def hook(
                kind: type[BaseException], error: BaseException, tb: TracebackType | None
            ) -> None:
                self.failed = True
                previous(kind, error, tb)

            sys.excepthook = hook
            atexit.register(self.run_pending)

    def run_pending(self) -> None:
        if self.failed:
            return
        if any(module.ran for module in self.declared):
            # `create_app.run()` without `raise SystemExit(...)`: its status still counts, so
            # a module that cannot start is not taken for one that ended well.
            status = next(m.status for m in self.declared if m.ran)
            if status:
                _exit(status)
            return
        if len(self.declared) > 1:
            names = ", ".join(module.__name__ for module in self.declared)
            print(
                f"pywatt: this file declares {len(self.declared)} modules ({names}) and runs "
                f"none; a process is one module: call one's .run()",
                file=sys.stderr,
            )
            _exit(1)
        try:
            status = self.declared[0].run()
        except SystemExit as exc:
            status = exc.code if isinstance(exc.code, int) else int(exc.code is not None)
        except KeyboardInterrupt:
            status = 130
        except BaseException:  # as Python shows an uncaught error of the file itself
            traceback.print_exc()
            status = 1
        if status != 0:
            _exit(status)


def _exit(status: int) -> None:
    """Leave with ``status`` from an ``atexit`` hook (where ``SystemExit`` is ignored)."""
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    os._exit(status)


_AUTO_RUN = _AutoRun()


def pywatt_module(**options: Any) -> Callable[[Main], Module[Any]]:
    """Declare a module: ``@pywatt_module(secrets=[...], endpoints=[...], ...)``.

    Takes the seed's keywords (``secrets``, ``rotate``, ``endpoints`` with
    :class:`AnnouncedEndpoint`, ``health``, ``metrics``, ``version``, ``state_builder``, the
    ``enable_*`` flags and the ``*_config`` dicts; see :class:`ModuleConfig`). The decorated
    ``async def create_app(state: AppState)`` runs once the module's actors are up and its
    secrets fetched; when it returns, the module announces and serves until shut down.
    Options are checked when the module starts: an unknown or malformed one raises
    :class:`~pywatt.ConfigError` then, never silently ignored. In the file Python runs, the
    module starts by itself once the file has been read (``create_app.run()`` is optional).
    """

    def decorate(main: Main) -> Module[Any]:
        return Module(main, options)

    return decorate
