"""The control socket: its server (in a running orchestrator) and its trio-free client."""

from typing import TYPE_CHECKING

from pywatt._lazy import attach

if TYPE_CHECKING:
    from ._control import prepare_control as prepare_control
    from ._control import send_command as send_command
    from ._control import serve_control as serve_control
    from ._control_client import DEFAULT_ROTATE_TIMEOUT as DEFAULT_ROTATE_TIMEOUT
    from ._control_client import call_control as call_control
    from ._control_client import control_path as control_path
    from ._control_client import default_run_dir as default_run_dir

__getattr__, __dir__, __all__ = attach(
    __name__,
    {
        "._control": ["prepare_control", "send_command", "serve_control"],
        "._control_client": [
            "DEFAULT_ROTATE_TIMEOUT",
            "call_control",
            "control_path",
            "default_run_dir",
        ],
    },
)
