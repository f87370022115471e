"""The seed's ``@pywatt_module`` decorator."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

from ._run import Main, run_module
from ._state import AppState

S = TypeVar("S")


class Module(Generic[S]):
    """A decorated module entry. ``run()`` runs the process as a module (see
    :func:`run_module`); calling it directly still calls the decorated function."""

    def __init__(self, main: Main, options: dict[str, Any]) -> None:
        self.main = main
        self.options = options
        self.__doc__ = main.__doc__
        self.__name__ = getattr(main, "__name__", "module")

    async def __call__(self, state: AppState[S]) -> object:
        return await self.main(state)

    def run(self) -> int:
        """Run this process as the module; returns the exit status. Typical use::

        if __name__ == "__main__":
            raise SystemExit(create_app.run())
        """
        return run_module(self.main, **self.options)


def pywatt_module(**options: Any) -> Callable[[Main], Module[Any]]:
    """Declare a module: ``@pywatt_module(secrets=[...], endpoints=[...], ...)``.

    Takes the seed's keywords (``secrets``, ``rotate``, ``endpoints`` with
    :class:`AnnouncedEndpoint`, ``health``, ``metrics``, ``version``, ``state_builder``, the
    ``enable_*`` flags and the ``*_config`` dicts; see :class:`ModuleConfig`). The decorated
    ``async def create_app(state: AppState)`` runs once the module's actors are up and its
    secrets fetched; when it returns, the module announces and serves until shut down.
    Options are checked when the module starts: an unknown or malformed one raises
    :class:`~pywatt.ConfigError` then, never silently ignored.
    """

    def decorate(main: Main) -> Module[Any]:
        return Module(main, options)

    return decorate
