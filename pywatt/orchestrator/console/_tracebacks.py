"""Python tracebacks in a module's stderr, folded to one line (sans-io).

A module that dies of an uncaught exception prints a traceback of tens of lines, on every
restart. By default the console shows only what the user can act on: the exception and where
it was raised (``ModuleNotFoundError: No module named 'x' (at api.py:2; -v shows the
traceback)``). With ``-v`` the lines pass through unchanged. Either way the folder remembers
the last exception, so the orchestrator can tell an import or syntax error (which restarting
cannot fix) from a crash.

Feed it each stderr line with :meth:`TracebackFolder.feed`; call :meth:`TracebackFolder.flush`
when the stream ends or has been quiet for a moment (a traceback's end is only known from the
line after it, since a chained exception continues after a blank line).
"""

from __future__ import annotations

import enum
import os
import re
from typing import Final

import attrs

__all__ = ["CANNOT_HEAL_EXCEPTIONS", "FoldedTraceback", "TracebackFolder"]

CANNOT_HEAL_EXCEPTIONS: Final = frozenset(
    {"SyntaxError", "IndentationError", "TabError", "ImportError", "ModuleNotFoundError"}
)
"""Exceptions that, raised before a module announces, restarting cannot fix."""

_START: Final = "Traceback (most recent call last):"
_GROUP_START: Final = re.compile(r"^\s*\+ Exception Group Traceback \(most recent call last\):$")
_CHAINS: Final = frozenset(
    {
        "During handling of the above exception, another exception occurred:",
        "The above exception was the direct cause of the following exception:",
    }
)
_FRAME: Final = re.compile(r'^[\s|]*File "(?P<file>[^"]+)", line (?P<line>\d+)')
_SYNTAX_FRAME: Final = re.compile(r'^  File "[^"]+", line \d+$')
_EXCEPTION: Final = re.compile(r"^(?P<type>[A-Za-z_][\w.]*)(?::\s?(?P<message>.*))?$")
_GROUP_LEAF: Final = re.compile(r"^\s*\|\s(?P<text>[A-Za-z_][\w.]*(?::.*)?)$")


@attrs.frozen
class FoldedTraceback:
    """One traceback: the exception's type (unqualified), its message and the innermost
    frame."""

    exception: str
    message: str
    file: str | None
    line: int | None

    def summary(self) -> str:
        """``Type: message (at file.py:N; -v shows the traceback)``."""
        text = f"{self.exception}: {self.message}" if self.message else self.exception
        where = f"at {os.path.basename(self.file)}:{self.line}; " if self.file else ""
        return f"{text} ({where}-v shows the traceback)"


class _State(enum.Enum):
    OUTSIDE = enum.auto()
    FRAMES = enum.auto()  # inside a traceback, before its exception line
    ENDED = enum.auto()  # after an exception line: the end, unless a chained one follows
    GROUP = enum.auto()  # an exception group's indented block


class TracebackFolder:
    """Splits a stream of lines into plain lines and folded tracebacks.

    :meth:`feed` and :meth:`flush` return what to show, in order: plain lines as ``str``, a
    finished traceback as :class:`FoldedTraceback`. With ``verbose`` a traceback's lines are
    returned as they come (as ``str``), and :attr:`last` still records it.
    """

    def __init__(self, *, verbose: bool = False) -> None:
        self.verbose = verbose
        self.last: FoldedTraceback | None = None
        self._state = _State.OUTSIDE
        self._exception: tuple[str, str] | None = None
        self._leaves: list[tuple[str, str]] = []  # an exception group's
        self._frame: tuple[str, int] | None = None

    @property
    def pending(self) -> bool:
        """Whether a traceback has begun and not been returned yet."""
        return self._state is not _State.OUTSIDE

    def feed(self, line: str) -> list[str | FoldedTraceback]:
        out: list[str | FoldedTraceback] = []
        text = line.rstrip("\r\n")
        if self._state is _State.ENDED and not self._continues(text):
            out.extend(self.flush())
        if self._state is _State.OUTSIDE:
            if text == _START or _SYNTAX_FRAME.match(text):  # a SyntaxError has no header
                self._state = _State.FRAMES
            elif _GROUP_START.match(text):
                self._state = _State.GROUP
            else:
                out.append(line)
                return out
        elif text.startswith("{") or (
            self._state is _State.GROUP and text and not text[:1].isspace()
        ):  # a log record, or the line after a group: the traceback is over
            out.extend(self.flush())
            return out + self.feed(line)
        self._take(text)
        if self.verbose:
            out.append(line)
        return out

    def flush(self) -> list[str | FoldedTraceback]:
        """End the traceback in progress (at the end of the stream or after a quiet moment)."""
        if self._state is _State.OUTSIDE:
            return []
        exception = self._exception or ("Traceback", "(incomplete)")
        if len(self._leaves) > 1:
            more = len(self._leaves) - 1
            first = self._leaves[0]
            exception = (first[0], f"{first[1]} (and {more} more in the group)")
        frame = self._frame
        folded = FoldedTraceback(
            exception=exception[0].rsplit(".", 1)[-1],
            message=exception[1],
            file=frame[0] if frame else None,
            line=frame[1] if frame else None,
        )
        self.last = folded
        self._state = _State.OUTSIDE
        self._exception, self._frame, self._leaves = None, None, []
        return [] if self.verbose else [folded]

    # -- inside a traceback ----------------------------------------------------------------

    def _continues(self, text: str) -> bool:
        """After an exception line: is ``text`` still part of this traceback?"""
        return not text or text in _CHAINS or text == _START or text[:1].isspace()

    def _take(self, text: str) -> None:
        frame = _FRAME.match(text)
        if frame is not None:
            self._frame = (frame["file"], int(frame["line"]))
            return
        if self._state is _State.GROUP:
            leaf = _GROUP_LEAF.match(text)
            if leaf is not None:
                parsed = _EXCEPTION.match(leaf["text"])
                if parsed is not None and "ExceptionGroup" not in parsed["type"]:
                    self._exception = (parsed["type"], parsed["message"] or "")
                    self._leaves.append(self._exception)
            return
        if self._state is _State.ENDED:
            if text in _CHAINS or text == _START:
                self._state = _State.FRAMES
            return
        if text and not text[:1].isspace() and text != _START:  # the exception line
            parsed = _EXCEPTION.match(text)
            self._exception = (parsed["type"], parsed["message"] or "") if parsed else (text, "")
            self._state = _State.ENDED
