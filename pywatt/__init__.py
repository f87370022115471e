"""pywatt: the Python SDK for PyWatt modules, built on the :mod:`actors` runtime.

A module in one line::

    from pywatt import AppState, pywatt_module

    @pywatt_module(secrets=["API_KEY"])
    async def create_app(state: AppState[None]) -> None:
        ...

    if __name__ == "__main__":
        raise SystemExit(create_app.run())
"""

from ._errors import ConfigError as ConfigError
from ._errors import PywattError as PywattError
from .module import AnnouncedEndpoint as AnnouncedEndpoint
from .module import AppState as AppState
from .module import ModuleConfig as ModuleConfig
from .module import pywatt_module as pywatt_module
from .module import run_module as run_module

__version__ = "0.1.0"
