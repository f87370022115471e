"""On/off switches a module reads from its process environment (``PYWATT_GC_FREEZE``,
``PYWATT_DIRECT_LINES``): on unless they say no."""

from __future__ import annotations

import os
from typing import Final

from pywatt._errors import ConfigError

__all__ = ["env_switch"]

_YES: Final = frozenset({"", "1", "true", "yes", "on"})
_NO: Final = frozenset({"0", "false", "no", "off"})


def env_switch(name: str, *, off: str, on: str) -> bool:
    """Whether environment variable ``name`` leaves its switch on (yes unless it says ``0``,
    ``false``, ``no`` or ``off``). Raises :class:`ConfigError` for any other value, saying
    what ``0`` (``off``) and ``1`` (``on``) do."""
    value = os.environ.get(name, "")
    word = value.strip().lower()
    if word in _NO:
        return False
    if word not in _YES:
        raise ConfigError(f"{name}={value!r}: say 0 {off}, or 1 (the default) {on}")
    return True
