"""What start-up made is frozen once the module has announced.

A module imports its packages, builds its actor tree and fetches its secrets before it
announces: a heap of a hundred thousand or more objects that live as long as the process.
Python's full collections walk all of them every time, a pause of tens of milliseconds that
comes more often the more a module allocates (an OpenTelemetry SDK's spans waiting in its
batch queue are carried into the oldest generation and bring full collections on). Frozen
(``gc.freeze``), those objects are left out of every later collection; what the module makes
afterwards is collected as before.

``PYWATT_GC_FREEZE=0`` (or ``false``, ``no``, ``off``) keeps the collector as Python has it.
"""

from __future__ import annotations

import gc
import logging
from typing import Final

from ._switches import env_switch

__all__ = ["GC_FREEZE", "freeze_startup_heap", "wants_freeze"]

GC_FREEZE: Final = "PYWATT_GC_FREEZE"

log = logging.getLogger("pywatt.module")


def wants_freeze() -> bool:
    """Whether ``PYWATT_GC_FREEZE`` lets the module freeze its start-up heap (yes unless
    it says no). Raises :class:`ConfigError` for a value that is neither."""
    return env_switch(
        GC_FREEZE,
        off="to keep Python's collector as it is",
        on="to freeze what start-up made once the module has announced",
    )


def freeze_startup_heap() -> bool:
    """Collect once, then freeze what is left (the module's start-up heap); returns whether
    it did: not while the collector is off (``main`` turned it off: its choice)."""
    if not gc.isenabled():
        return False
    gc.collect()  # start-up's garbage goes first: frozen, it would stay for good
    gc.freeze()
    log.debug("froze %d start-up objects out of the collector's reach", gc.get_freeze_count())
    return True
