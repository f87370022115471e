"""The ``pywatt`` command line: argument parsing and ``pywatt run``."""

from typing import TYPE_CHECKING

from pywatt._lazy import attach

if TYPE_CHECKING:
    from ._cli import main as main
    from ._cli import run_standalone as run_standalone

__getattr__, __dir__, __all__ = attach(
    __name__,
    {
        "._cli": ["main", "run_standalone"],
    },
)
