"""The idle module of ``benchmarks/scale.py``: it announces, then does nothing.

No endpoints, no secrets, no actors of its own: what is left running is the SDK's own
(its stdio reader, its channels to the orchestrator, heartbeat acks), which is what an
idle module costs. Run as a script by the orchestrator (``ModuleSpec.from_command``).
"""

from __future__ import annotations

import os
import sys

# Run as a script, this file's directory comes first on sys.path, and benchmarks/actors.py
# would shadow the actors package.
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _HERE]

from typing import Any  # noqa: E402

from pywatt import AppState, pywatt_module  # noqa: E402


@pywatt_module()
async def create_app(state: AppState[Any]) -> None:
    return None  # nothing to set up: announce at once, then idle


if __name__ == "__main__":
    raise SystemExit(create_app.run())
