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
from ._settings import DiscoverySettings as DiscoverySettings
from ._settings import MessagingSettings as MessagingSettings
from ._settings import OrchestratorDiscoverySettings as OrchestratorDiscoverySettings
from ._settings import RedisDiscoverySettings as RedisDiscoverySettings
from ._settings import RegistrationSettings as RegistrationSettings
from ._settings import discovery_settings as discovery_settings
from ._settings import messaging_settings as messaging_settings
from ._settings import registration_settings as registration_settings
from ._state import AppState as AppState
