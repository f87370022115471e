"""Module entry points: ``run_module``, ``@pywatt_module`` and the ``AppState`` facade."""

from ._config import AnnouncedEndpoint as AnnouncedEndpoint
from ._config import ModuleConfig as ModuleConfig
from ._decorator import Module as Module
from ._decorator import pywatt_module as pywatt_module
from ._lifecycle import LIFECYCLE as LIFECYCLE
from ._lifecycle import ModuleLifecycle as ModuleLifecycle
from ._lifecycle import ModuleOutcome as ModuleOutcome
from ._lifecycle import ShutdownModule as ShutdownModule
from ._run import build_tree as build_tree
from ._run import run_module as run_module
from ._run import serve_module as serve_module
from ._state import AppState as AppState
