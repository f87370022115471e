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
    from ._cli import main as main
    from ._cli import run_standalone as run_standalone
    from ._console import Console as Console
    from ._console import ConsoleLine as ConsoleLine
    from ._console import Verbosity as Verbosity
    from ._console import logging_sink as logging_sink
    from ._console import render_log_record as render_log_record
    from ._console import stream_sink as stream_sink
    from ._control import default_run_dir as default_run_dir
    from ._control import send_command as send_command
    from ._dotenv import load_env_file as load_env_file
    from ._dotenv import parse_env_text as parse_env_text
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
    from ._handle import ModuleHandle as ModuleHandle
    from ._handle import ModuleState as ModuleState
    from ._handle import ModuleStatus as ModuleStatus
    from ._handle import TrafficRecord as TrafficRecord
    from ._hub import ConnectionInfo as ConnectionInfo
    from ._hub import HubStatistics as HubStatistics
    from ._hub import RegistrationRecord as RegistrationRecord
    from ._listener import ModuleEndpoints as ModuleEndpoints
    from ._manifest import ChannelOptions as ChannelOptions
    from ._manifest import Manifest as Manifest
    from ._manifest import ModuleKind as ModuleKind
    from ._manifest import ModuleSpec as ModuleSpec
    from ._manifest import RestartPolicy as RestartPolicy
    from ._manifest import TlsFiles as TlsFiles
    from ._manifest import load_manifest as load_manifest
    from ._manifest import module_from_file as module_from_file
    from ._observe import TreeUnavailable as TreeUnavailable
    from ._orchestrator import Orchestrator as Orchestrator
    from ._orchestrator import open_orchestrator as open_orchestrator
    from ._store import RotationOutcome as RotationOutcome
    from ._store import RotationResult as RotationResult
    from .dashboard import DashboardSettings as DashboardSettings

__getattr__, __dir__, __all__ = attach(
    __name__,
    {
        "._cli": ["main", "run_standalone"],
        "._console": [
            "Console",
            "ConsoleLine",
            "Verbosity",
            "logging_sink",
            "render_log_record",
            "stream_sink",
        ],
        "._control": ["default_run_dir", "send_command"],
        "._dotenv": ["load_env_file", "parse_env_text"],
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
        ],
        "._handle": ["ModuleHandle", "ModuleState", "ModuleStatus", "TrafficRecord"],
        "._hub": ["ConnectionInfo", "HubStatistics", "RegistrationRecord"],
        "._listener": ["ModuleEndpoints"],
        "._manifest": [
            "ChannelOptions",
            "Manifest",
            "ModuleKind",
            "ModuleSpec",
            "RestartPolicy",
            "TlsFiles",
            "load_manifest",
            "module_from_file",
        ],
        "._observe": ["TreeUnavailable"],
        "._orchestrator": ["Orchestrator", "open_orchestrator"],
        "._store": ["RotationOutcome", "RotationResult"],
        ".dashboard": ["DashboardSettings"],
    },
)
