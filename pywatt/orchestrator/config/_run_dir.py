"""The run directory that holds the control socket: created private, or refused in one line.

The default run directory, ``<tmp>/pywatt-<uid>``, sits in a directory every user can write,
so another user can get there first. With a symbolic link to a directory of ours, following
it would make us change that directory's mode and put our socket in it; with a directory of
their own, they could reach the socket through which secret values travel. So:

* the last path component is never followed: it is examined with ``lstat``, and ``mkdir``
  does not follow a link either;
* an existing directory is used only if it is ours and private (no group or other bits); it
  is never chmod-ed, since we cannot tell that we made it;
* a directory we create gets mode 0700 from ``mkdir`` itself, so nothing is ever chmod-ed;
* the parent must be ours or root's, and if other users may write it, sticky (like
  ``/tmp``): in such a parent nobody else can rename our directory away and put theirs in
  its place after we checked it. Group-writable parents are accepted — many systems give
  each user a private group and a umask of 002 — as is a parent reached through symbolic
  links (``/tmp`` is one on some systems): that part of the path is the user's choice.
"""

from __future__ import annotations

import contextlib
import os
import stat

from .._errors import ControlError

__all__ = ["ensure_run_dir"]

_ELSEWHERE = "pass --run-dir (or set PYWATT_RUN_DIR) to a directory of your own"


def ensure_run_dir(run_dir: str) -> None:
    """Create ``run_dir`` with mode 0700, or check that the existing one is safe to use.

    Does not block beyond a few file-system calls. Raises :class:`ControlError` with a
    one-line message saying what is wrong and what to do: the path is a symbolic link or not
    a directory, it or its parent belongs to another user, it is open to other users, or its
    parent lets others replace it.
    """
    path = os.path.abspath(run_dir)  # also drops a trailing "/", which would follow a link
    parent = os.path.dirname(path)
    try:
        os.makedirs(parent, exist_ok=True)
        _check_parent(path, parent, os.stat(parent))
        with contextlib.suppress(FileExistsError):  # what is there is examined below
            os.mkdir(path, 0o700)
        info = os.lstat(path)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise ControlError(f"cannot create the run directory {path}: {reason}") from exc
    _check_run_dir(path, info)


def _check_parent(path: str, parent: str, info: os.stat_result) -> None:
    if info.st_uid not in (0, os.getuid()):
        raise ControlError(
            f"run directory {path} is inside {parent}, which belongs to uid {info.st_uid}; "
            + _ELSEWHERE
        )
    if info.st_mode & stat.S_IWOTH and not info.st_mode & stat.S_ISVTX:
        raise ControlError(
            f"run directory {path} is inside {parent}, which every user can write and which "
            f"is not sticky (mode {_mode(info)}); " + _ELSEWHERE
        )


def _check_run_dir(path: str, info: os.stat_result) -> None:
    if stat.S_ISLNK(info.st_mode):
        raise ControlError(
            f"run directory {path} is a symbolic link, which pywatt does not follow; "
            f"remove it if it is yours, or {_ELSEWHERE}"
        )
    if not stat.S_ISDIR(info.st_mode):
        raise ControlError(f"run directory {path} exists and is not a directory; {_ELSEWHERE}")
    if info.st_uid != os.getuid():
        raise ControlError(
            f"run directory {path} belongs to uid {info.st_uid}, not to you "
            f"(uid {os.getuid()}); {_ELSEWHERE}"
        )
    if stat.S_IMODE(info.st_mode) & 0o077:
        raise ControlError(
            f"run directory {path} is open to other users (mode {_mode(info)}); "
            f"make it private (chmod 700 {path}) or {_ELSEWHERE}"
        )


def _mode(info: os.stat_result) -> str:
    return f"{stat.S_IMODE(info.st_mode):04o}"
