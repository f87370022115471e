"""The smallest pywatt module: it announces and serves until told to stop."""

from __future__ import annotations

from pywatt import run_module

if __name__ == "__main__":
    raise SystemExit(run_module())
