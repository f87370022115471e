"""What the orchestrator shows a person: its own events and its modules' stderr, redacted.

Every line passes through the redactor before anyone sees it. A module's stderr line that is
a JSON log record (pywatt's ``JsonFormatter``: ``timestamp``, ``level``, ``target``,
``message``, ``fields``; or Rust ``tracing``'s JSON, whose message sits in
``fields.message``) is rendered as ``[greeter] INFO message key=value``; anything else is shown
as it came, after the ``[greeter]`` prefix.

Output goes to a *sink*, a callable taking :class:`ConsoleLine`; :func:`stream_sink` prints to
a text stream, :func:`logging_sink` hands lines to a :mod:`logging` logger. Verbosity filters
by level: quiet shows warnings and errors, normal adds info, verbose adds debug (protocol
traffic, without secret values).
"""

from __future__ import annotations

import enum
import json
import logging
import sys
from collections.abc import Callable
from typing import IO, Any, Final

import attrs

from pywatt.logs import Redactor, redactor

__all__ = [
    "Console",
    "ConsoleLine",
    "Verbosity",
    "logging_sink",
    "render_log_record",
    "stream_sink",
]

_LEVELS: Final = {
    "TRACE": 5,
    "DEBUG": logging.DEBUG,
    "INFO": logging.INFO,
    "WARN": logging.WARNING,
    "WARNING": logging.WARNING,
    "ERROR": logging.ERROR,
    "CRITICAL": logging.CRITICAL,
    "FATAL": logging.CRITICAL,
}
_PLAIN_KEYS: Final = frozenset(
    {"timestamp", "level", "target", "message", "fields", "exception", "module_id", "span", "spans"}
)


class Verbosity(enum.IntEnum):
    """How much the console shows (``-q``, default, ``-v``)."""

    QUIET = logging.WARNING
    NORMAL = logging.INFO
    VERBOSE = logging.DEBUG


@attrs.frozen
class ConsoleLine:
    """One thing to show: ``module`` is the module it concerns (None: the orchestrator
    itself); ``from_module`` is True for a line of the module's own stderr. ``text`` is
    redacted and may span several lines."""

    level: int
    text: str
    module: str | None = None
    from_module: bool = False

    def render(self) -> str:
        """``[greeter] INFO hello`` for module output, ``pywatt: ...`` for the orchestrator."""
        if self.from_module:
            prefix = f"[{self.module}] "
        elif self.level >= logging.ERROR:
            prefix = "pywatt: error: "
        elif self.level >= logging.WARNING:
            prefix = "pywatt: warning: "
        else:
            prefix = "pywatt: "
        return "\n".join(prefix + part for part in self.text.split("\n"))


def stream_sink(stream: IO[str] | None = None) -> Callable[[ConsoleLine], None]:
    """A sink that prints each line to ``stream`` (default: the current ``sys.stdout``)."""

    def sink(line: ConsoleLine) -> None:
        out = stream or sys.stdout
        out.write(line.render() + "\n")
        out.flush()

    return sink


def logging_sink(logger: logging.Logger | None = None) -> Callable[[ConsoleLine], None]:
    """A sink that logs each line (rendered, at its level) to ``logger``
    (default: the ``pywatt.orchestrator`` logger)."""
    target = logger or logging.getLogger("pywatt.orchestrator")

    def sink(line: ConsoleLine) -> None:
        target.log(line.level, line.render())

    return sink


class Console:
    """Redacts, filters by verbosity and hands lines to the sink. Never blocks or raises
    from a sink failure (a broken sink must not take the orchestrator down; the failure is
    reported on stderr once)."""

    def __init__(
        self,
        sink: Callable[[ConsoleLine], None] | None = None,
        verbosity: Verbosity = Verbosity.NORMAL,
        redact: Redactor = redactor,
    ) -> None:
        self.sink = sink or stream_sink()
        self.verbosity = verbosity
        self.redact = redact
        self._sink_failed = False

    def emit(self, level: int, text: str, module: str | None = None) -> None:
        """Show an orchestrator line (redacted) if the verbosity lets it through."""
        if level < self.verbosity:  # before redacting: per-line debug output is common
            return
        self._send(ConsoleLine(level, self.redact.redact(text), module))

    def enabled(self, level: int) -> bool:
        """Whether a line at ``level`` would be shown (to skip building it at all)."""
        return level >= self.verbosity

    def debug(self, text: str, module: str | None = None) -> None:
        self.emit(logging.DEBUG, text, module)

    def info(self, text: str, module: str | None = None) -> None:
        self.emit(logging.INFO, text, module)

    def warning(self, text: str, module: str | None = None) -> None:
        self.emit(logging.WARNING, text, module)

    def error(self, text: str, module: str | None = None) -> None:
        self.emit(logging.ERROR, text, module)

    def module_stderr(self, module: str, raw: str) -> str:
        """Show one stderr line of ``module``; returns the redacted raw line (for capture)."""
        redacted_raw = self.redact.redact(raw)
        rendered = render_log_record(raw, verbose=self.verbosity <= Verbosity.VERBOSE)
        if rendered is None:
            line = ConsoleLine(logging.INFO, redacted_raw, module, from_module=True)
        else:
            level, text = rendered
            line = ConsoleLine(level, self.redact.redact(text), module, from_module=True)
        self._send(line)
        return redacted_raw

    def _send(self, line: ConsoleLine) -> None:
        if line.level < self.verbosity:
            return
        try:
            self.sink(line)
        except Exception as exc:  # a sink we did not write; the orchestrator must go on
            if not self._sink_failed:
                self._sink_failed = True
                print(f"pywatt: console sink failed: {exc!r}", file=sys.stderr)


def render_log_record(raw: str, *, verbose: bool = False) -> tuple[int, str] | None:
    """``(level, "INFO message key=value")`` for a JSON log line, None for anything else.

    Understands pywatt's JSON lines and Rust ``tracing``'s JSON formatter. Does not redact.
    """
    stripped = raw.strip()
    if not stripped.startswith("{"):
        return None
    try:
        record = json.loads(stripped)
    except ValueError:
        return None
    if not isinstance(record, dict) or not isinstance(record.get("level"), str):
        return None
    level_name = record["level"].upper()
    fields = record.get("fields")
    fields = dict(fields) if isinstance(fields, dict) else {}
    message = record.get("message")
    if message is None:
        message = fields.pop("message", "")
    extras: dict[str, Any] = {k: v for k, v in record.items() if k not in _PLAIN_KEYS}
    extras.update(fields)
    if verbose and isinstance(record.get("target"), str):
        extras = {"target": record["target"], **extras}
    parts = [level_name, str(message)]
    parts.extend(f"{key}={_show(value)}" for key, value in extras.items())
    text = " ".join(parts)
    exception = record.get("exception")
    if isinstance(exception, str) and exception:
        text += "\n" + exception.rstrip("\n")
    return _LEVELS.get(level_name, logging.INFO), text


def _show(value: object) -> str:
    if isinstance(value, str) and value and not any(c.isspace() for c in value):
        return value
    return json.dumps(value, ensure_ascii=False)
