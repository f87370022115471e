"""The directory of the modules' Unix sockets: a fresh one, owner-only, short enough.

A Unix socket's path holds at most 107 bytes. The sockets go in a new directory under the
temporary directory (``TMPDIR``); when that is so long that a module's longest socket name
(``<id>.line.sock``, its direct-line socket) would not fit, they go under ``/tmp`` instead,
where every module id fits (ids are at most 64 characters). A long ``TMPDIR`` (a test
runner's, a sandbox's) would otherwise fail every listener with ``AF_UNIX path too long``.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from typing import Final

__all__ = ["SOCKET_PATH_MAX", "make_socket_dir"]

SOCKET_PATH_MAX: Final = 107
"""Bytes of a Unix socket path (``sun_path`` holds 108, the last a NUL)."""
_PREFIX: Final = "pywatt-"
_RANDOM: Final = 8
"""Characters ``tempfile.mkdtemp`` adds to the prefix."""
_LONGEST_SUFFIX: Final = ".line.sock"
_FALLBACK: Final = "/tmp"


def _fits(base: str, longest_id: int) -> bool:
    directory = len(os.fsencode(base)) + 1 + len(_PREFIX) + _RANDOM
    return directory + 1 + longest_id + len(_LONGEST_SUFFIX) <= SOCKET_PATH_MAX


def make_socket_dir(module_ids: Iterable[str]) -> str:
    """Create the sockets' directory (mode 0700) for modules ``module_ids`` and return it:
    under the temporary directory, or under ``/tmp`` when that one's path is too long for
    the longest socket name."""
    longest = max((len(os.fsencode(module_id)) for module_id in module_ids), default=0)
    base = tempfile.gettempdir()
    if not _fits(base, longest) and os.path.isdir(_FALLBACK) and _fits(_FALLBACK, longest):
        base = _FALLBACK
    return tempfile.mkdtemp(prefix=_PREFIX, dir=base)
