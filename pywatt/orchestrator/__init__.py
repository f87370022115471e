"""The embedded PyWatt orchestrator: runs modules, serves their secrets, supervises them.

It spawns each module as a process, writes its InitBlob as the first stdin line, speaks the
stdio protocol with it (docs/protocol.md §3, §4, §7, §8), restarts it by its restart policy and
shuts it down in order. It is built on :mod:`actors`: a secret store actor, a port registry
actor, and per module a supervisor over a module-process actor.

Python API::

    manifest = Manifest(modules=[ModuleSpec.from_command("greeter", "greeter.py")],
                        secrets={"API_KEY": "s3cret"})
    async with open_orchestrator(manifest) as orch:
        announce = await orch.module("greeter").wait_announced()
        await orch.rotate("API_KEY", "n3w")

Command line: ``pywatt run [FILES...] [--manifest pywatt.toml] ...``, ``pywatt rotate NAME
VALUE``, ``pywatt status [--tree]``, ``pywatt events``, ``pywatt top``, ``pywatt stop`` (see
``pywatt --help``).
"""

from typing import TYPE_CHECKING

from pywatt._lazy import attach

if TYPE_CHECKING:
    from ._errors import ControlError as ControlError
    from ._errors import GatewayUnavailable as GatewayUnavailable
    from ._errors import ManifestError as ManifestError
    from ._errors import ModuleCallFailed as ModuleCallFailed
    from ._errors import ModuleExited as ModuleExited
    from ._errors import ModuleNotRunning as ModuleNotRunning
    from ._errors import NoSuchModule as NoSuchModule
    from ._errors import OrchestratorError as OrchestratorError
    from ._errors import PortUnavailable as PortUnavailable
    from ._errors import SecretNotFound as SecretNotFound
    from ._errors import SecretsFileError as SecretsFileError
    from ._errors import describe_exit as describe_exit
    from ._orchestrator import Orchestrator as Orchestrator
    from ._orchestrator import open_orchestrator as open_orchestrator
    from .cli import main as main
    from .cli import run_standalone as run_standalone
    from .config import ChannelOptions as ChannelOptions
    from .config import Manifest as Manifest
    from .config import ModuleKind as ModuleKind
    from .config import ModuleSpec as ModuleSpec
    from .config import RestartPolicy as RestartPolicy
    from .config import TlsFiles as TlsFiles
    from .config import load_manifest as load_manifest
    from .config import module_from_file as module_from_file
    from .console import Console as Console
    from .console import ConsoleLine as ConsoleLine
    from .console import Verbosity as Verbosity
    from .console import logging_sink as logging_sink
    from .console import render_log_record as render_log_record
    from .console import stream_sink as stream_sink
    from .control import default_run_dir as default_run_dir
    from .control import send_command as send_command
    from .dashboard import DashboardSettings as DashboardSettings
    from .hub import ConnectionInfo as ConnectionInfo
    from .hub import HubStatistics as HubStatistics
    from .hub import ModuleEndpoints as ModuleEndpoints
    from .hub import RegistrationRecord as RegistrationRecord
    from .processes import ModuleHandle as ModuleHandle
    from .processes import ModuleState as ModuleState
    from .processes import ModuleStatus as ModuleStatus
    from .processes import TrafficRecord as TrafficRecord
    from .processes import TreeUnavailable as TreeUnavailable
    from .secrets import RotationOutcome as RotationOutcome
    from .secrets import RotationResult as RotationResult
    from .secrets import load_env_file as load_env_file
    from .secrets import parse_env_text as parse_env_text

__getattr__, __dir__, __all__ = attach(
    __name__,
    {
        ".cli": ["main", "run_standalone"],
        ".console": [
            "Console",
            "ConsoleLine",
            "Verbosity",
            "logging_sink",
            "render_log_record",
            "stream_sink",
        ],
        ".control": ["default_run_dir", "send_command"],
        ".secrets": [
            "RotationOutcome",
            "RotationResult",
            "load_env_file",
            "parse_env_text",
        ],
        "._errors": [
            "ControlError",
            "GatewayUnavailable",
            "ManifestError",
            "ModuleCallFailed",
            "ModuleExited",
            "ModuleNotRunning",
            "NoSuchModule",
            "OrchestratorError",
            "PortUnavailable",
            "SecretNotFound",
            "SecretsFileError",
            "describe_exit",
        ],
        ".processes": [
            "ModuleHandle",
            "ModuleState",
            "ModuleStatus",
            "TrafficRecord",
            "TreeUnavailable",
        ],
        ".hub": ["ConnectionInfo", "HubStatistics", "ModuleEndpoints", "RegistrationRecord"],
        ".config": [
            "ChannelOptions",
            "Manifest",
            "ModuleKind",
            "ModuleSpec",
            "RestartPolicy",
            "TlsFiles",
            "load_manifest",
            "module_from_file",
        ],
        "._orchestrator": ["Orchestrator", "open_orchestrator"],
        ".dashboard": ["DashboardSettings"],
    },
)
