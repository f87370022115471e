"""Errors of the embedded orchestrator.

Each names what went wrong and where: the manifest file and key, the module id, the control
socket path. They subclass :class:`OrchestratorError` and, where it fits, a builtin.
"""

from __future__ import annotations


class OrchestratorError(Exception):
    """Base of every error raised by :mod:`pywatt.orchestrator`."""


class ManifestError(OrchestratorError, ValueError):
    """The manifest or the command line does not describe a runnable set of modules.

    ``where`` names the file and key (``pywatt.toml: modules.greeter.restart``) or the flag.
    """

    def __init__(self, where: str, problem: str) -> None:
        super().__init__(f"{where}: {problem}")
        self.where = where
        self.problem = problem


class SecretsFileError(OrchestratorError, ValueError):
    """A ``.env``-style secrets file cannot be read or has a malformed line."""

    def __init__(self, path: str, problem: str, line: int | None = None) -> None:
        where = f"{path}:{line}" if line is not None else path
        super().__init__(f"{where}: {problem}")
        self.path = path
        self.line = line
        self.problem = problem


class SecretNotFound(OrchestratorError, LookupError):
    """The store has no secret of this name for this module (or the module may not see it)."""

    def __init__(self, module_id: str, name: str, reason: str) -> None:
        super().__init__(f"no secret {name!r} for module {module_id!r}: {reason}")
        self.module_id = module_id
        self.name = name
        self.reason = reason


class PortUnavailable(OrchestratorError):
    """A port cannot be handed out: it is in use or held by another module."""

    def __init__(self, port: int | None, reason: str) -> None:
        what = f"port {port}" if port is not None else "a free port"
        super().__init__(f"{what} is not available: {reason}")
        self.port = port
        self.reason = reason


class GatewayUnavailable(OrchestratorError):
    """The HTTP gateway cannot have its address: the port is in use, the host is not one
    of this machine's, or binding it is not allowed."""

    def __init__(self, address: str, reason: str) -> None:
        super().__init__(f"cannot serve the HTTP gateway on {address}: {reason}")
        self.address = address
        self.reason = reason


class NoSuchModule(OrchestratorError, LookupError):
    """The orchestrator runs no module with this id."""

    def __init__(self, module_id: str, known: list[str]) -> None:
        listing = ", ".join(known) if known else "none"
        super().__init__(f"no module {module_id!r} (modules: {listing})")
        self.module_id = module_id


class ModuleExited(OrchestratorError):
    """A module's process ended without being asked to (the module-process actor's crash).

    ``returncode`` is the exit status; negative values are the signal that killed it.
    """

    def __init__(self, module_id: str, returncode: int) -> None:
        super().__init__(f"module {module_id!r} {describe_exit(returncode)} without being asked to")
        self.module_id = module_id
        self.returncode = returncode


class ModuleNotRunning(OrchestratorError):
    """A wait on a module cannot complete: it stopped, gave up or never started."""

    def __init__(self, module_id: str, state: str) -> None:
        super().__init__(f"module {module_id!r} is not running (state: {state})")
        self.module_id = module_id
        self.state = state


class ModuleCallFailed(OrchestratorError):
    """A request the orchestrator sent to a module failed: the module's handler raised
    (``error_type`` is its type name), or the module could not be reached."""

    def __init__(self, module_id: str, error_type: str, message: str) -> None:
        super().__init__(f"module {module_id!r}: {error_type}: {message}")
        self.module_id = module_id
        self.error_type = error_type
        self.remote_message = message


class ControlError(OrchestratorError):
    """The control socket cannot be reached, or the orchestrator refused the command."""


def describe_exit(returncode: int) -> str:
    """``exited with code 3`` or ``was killed by signal 9 (SIGKILL)``."""
    if returncode >= 0:
        return f"exited with code {returncode}"
    import signal

    try:
        name = signal.Signals(-returncode).name
    except ValueError:
        name = "unknown signal"
    return f"was killed by signal {-returncode} ({name})"
