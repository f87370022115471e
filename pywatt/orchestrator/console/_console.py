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

A stream sink writes one of three forms: plain (:meth:`ConsoleLine.render`, the default of
the Python API), ``pretty`` (a timestamp first, colours by level when ``colour`` is on) or
``json`` (one JSON object per line: ``timestamp``, ``level``, ``origin``, ``module``,
``message`` and the line's fields; a module's own JSON log record keeps its keys). ``pywatt
run`` writes what ``--log-format`` or ``$PYWATT_LOG_FORMAT`` says, else ``pretty`` on a
terminal and ``json`` otherwise; colours only on a terminal and never when ``NO_COLOR`` is
set. Every form is made of redacted text
and redacted fields.
"""

from __future__ import annotations

import enum
import json
import logging
import os
import sys
import time
import zlib
from collections.abc import Callable, Mapping
from typing import IO, Any, Final, Literal

import attrs

from pywatt.logs import REDACTED, Redactor, redactor

__all__ = [
    "Console",
    "ConsoleLine",
    "LogFormat",
    "Verbosity",
    "default_log_format",
    "logging_sink",
    "render_log_record",
    "stream_sink",
]

LogFormat = Literal["pretty", "json"]
"""The forms ``pywatt run --log-format`` takes (the plain form is the Python API's)."""

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
    redacted and may span several lines. ``fields`` are redacted structured values that the
    JSON form shows as keys (an access-log line's ``method``, ``status``, ...); ``record`` is
    the module's own JSON log record (redacted) when its stderr line was one. ``created`` is
    when the line was made (seconds since the epoch)."""

    level: int
    text: str
    module: str | None = None
    from_module: bool = False
    fields: Mapping[str, Any] = attrs.field(factory=dict, eq=False)
    record: Mapping[str, Any] | None = attrs.field(default=None, eq=False)
    created: float = attrs.field(factory=time.time, eq=False)

    def render(self) -> str:
        """``[greeter] INFO hello`` for module output, ``pywatt: ...`` for the orchestrator."""
        prefix = self._prefix()
        return "\n".join(prefix + part for part in self.text.split("\n"))

    def _prefix(self) -> str:
        if self.from_module:
            return f"[{self.module}] "
        if self.level >= logging.ERROR:
            return "pywatt: error: "
        if self.level >= logging.WARNING:
            return "pywatt: warning: "
        return "pywatt: "

    def render_pretty(self, *, colour: bool = False) -> str:
        """The plain form with the local time first (``14:03:07.123 pywatt: ...``), and with
        ``colour`` the level, the module and the time in ANSI colours."""
        clock = time.strftime("%H:%M:%S", time.localtime(self.created))
        stamp = f"{clock}.{int(self.created * 1000) % 1000:03d}"
        if not colour:
            prefix = f"{stamp} {self._prefix()}"
            return "\n".join(prefix + part for part in self.text.split("\n"))
        stamp = _paint(stamp, _DIM)
        if self.from_module:
            head = _paint(f"[{self.module}]", _module_colour(self.module or "")) + " "
        elif self.level >= logging.ERROR:
            head = _paint("pywatt:", _BOLD) + " " + _paint("error:", _RED) + " "
        elif self.level >= logging.WARNING:
            head = _paint("pywatt:", _BOLD) + " " + _paint("warning:", _YELLOW) + " "
        else:
            head = _paint("pywatt:", _BOLD) + " "
        lines = self.text.split("\n")
        if self.record is not None:  # "INFO message key=value": the level word in colour
            word, _, rest = lines[0].partition(" ")
            lines[0] = _paint(word, _level_colour(self.level)) + (" " + rest if rest else "")
        elif self.level >= logging.ERROR and self.from_module:
            lines = [_paint(part, _RED) for part in lines]
        return "\n".join(f"{stamp} {head}{part}" for part in lines)

    def render_json(self) -> str:
        """One JSON object: ``timestamp`` (RFC 3339, UTC), ``level``, ``origin``
        (``orchestrator`` or ``module``), ``module`` (when the line concerns one),
        ``message``, then the line's fields, or the keys of the module's own record."""
        out: dict[str, Any] = {
            "timestamp": _rfc3339(self.created),
            "level": logging.getLevelName(self.level),
            "origin": "module" if self.from_module else "orchestrator",
        }
        if self.module is not None:
            out["module"] = self.module
        record = self.record
        if record is not None:
            parts = _record_parts(record)
            out["level"] = parts.level_name
            out["message"] = parts.message
            for key, value in record.items():
                if key not in ("timestamp", "level", "message", "fields", "module_id"):
                    out.setdefault(key, value)
            if parts.fields:
                out["fields"] = parts.fields
        else:
            out["message"] = self.text
        for key, value in self.fields.items():
            out.setdefault(key, value)
        return json.dumps(out, ensure_ascii=False, default=str, separators=(",", ":"))


def default_log_format(stream: IO[str] | None = None) -> LogFormat:
    """``$PYWATT_LOG_FORMAT`` when it is ``pretty`` or ``json``; otherwise ``pretty`` when
    ``stream`` (default ``sys.stdout``) is a terminal, else ``json``."""
    chosen = os.environ.get("PYWATT_LOG_FORMAT", "").strip().lower()
    if chosen == "pretty":
        return "pretty"
    if chosen == "json":
        return "json"
    return "pretty" if _isatty(stream or sys.stdout) else "json"


def use_colour(stream: IO[str] | None = None) -> bool:
    """Whether to colour what goes to ``stream``: a terminal, ``NO_COLOR`` unset or empty
    (no-color.org), and ``TERM`` not ``dumb``."""
    if os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    return _isatty(stream or sys.stdout)


def stream_sink(
    stream: IO[str] | None = None,
    *,
    log_format: LogFormat | None = None,
    colour: bool | None = None,
) -> Callable[[ConsoleLine], None]:
    """A sink that prints each line to ``stream`` (default: the current ``sys.stdout``).

    ``log_format`` None writes the plain form (:meth:`ConsoleLine.render`), ``"pretty"``
    adds timestamps (:meth:`ConsoleLine.render_pretty`, colours when ``colour``; None: see
    :func:`use_colour`), ``"json"`` one JSON object per line (:meth:`ConsoleLine.render_json`).
    """
    if log_format not in (None, "pretty", "json"):
        raise ValueError(f"log_format must be 'pretty' or 'json', not {log_format!r}")
    painted = use_colour(stream) if colour is None else colour

    def sink(line: ConsoleLine) -> None:
        out = stream or sys.stdout
        if log_format == "json":
            text = line.render_json()
        elif log_format == "pretty":
            text = line.render_pretty(colour=painted)
        else:
            text = line.render()
        out.write(text + "\n")
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

    def emit(
        self,
        level: int,
        text: str,
        module: str | None = None,
        fields: Mapping[str, Any] | None = None,
        *,
        redacted: bool = False,
    ) -> None:
        """Show an orchestrator line (redacted, ``fields`` too) if the verbosity lets it
        through. ``redacted``: the caller redacted every part of ``text`` and ``fields``
        that could hold a secret with :attr:`redact` (the gateway's access lines)."""
        if level < self.verbosity:  # before redacting: per-line debug output is common
            return
        if redacted:
            self._send(ConsoleLine(level, text, module, fields=dict(fields or {})))
            return
        shown = redact_value(self.redact, dict(fields)) if fields else {}
        assert isinstance(shown, dict)
        self._send(ConsoleLine(level, self.redact.redact(text), module, fields=shown))

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

    @property
    def verbose(self) -> bool:
        """Whether ``-v`` (or more) was asked for: tracebacks are shown whole."""
        return self.verbosity <= Verbosity.VERBOSE

    def module_error(self, module: str, text: str) -> None:
        """An error line on behalf of ``module`` (such as its folded traceback)."""
        line = ConsoleLine(logging.ERROR, self.redact.redact(text), module, from_module=True)
        self._send(line)

    def module_stderr(self, module: str, raw: str) -> str:
        """Show one stderr line of ``module``; returns the redacted raw line (for capture)."""
        redacted_raw = self.redact.redact(raw)
        record = _json_record(raw)
        if record is None:
            line = ConsoleLine(logging.INFO, redacted_raw, module, from_module=True)
        else:
            level, text = _render_record(record, verbose=self.verbosity <= Verbosity.VERBOSE)
            shown = redact_value(self.redact, record)
            assert isinstance(shown, dict)
            line = ConsoleLine(
                level, self.redact.redact(text), module, from_module=True, record=shown
            )
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
    record = _json_record(raw)
    return None if record is None else _render_record(record, verbose=verbose)


def redact_value(redact: Redactor, value: object) -> object:
    """``value`` with every string in it (keys too) redacted; a number whose text holds a
    secret becomes ``[REDACTED]``. For what goes out as JSON: redacting the encoded text
    could cut through its quotes and commas."""
    if isinstance(value, str):
        return redact.redact(value)
    if isinstance(value, dict):
        return {redact.redact(str(k)): redact_value(redact, v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact_value(redact, v) for v in value]
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int | float):
        text = json.dumps(value)
        return value if redact.redact(text) == text else REDACTED
    return redact.redact(str(value))


@attrs.frozen
class _RecordParts:
    level_name: str
    message: str
    fields: dict[str, Any]


def _json_record(raw: str) -> dict[str, Any] | None:
    """The JSON log record a stderr line is, or None."""
    stripped = raw.strip()
    if not stripped.startswith("{"):
        return None
    try:
        record = json.loads(stripped)
    except ValueError:
        return None
    if not isinstance(record, dict) or not isinstance(record.get("level"), str):
        return None
    return record


def _record_parts(record: Mapping[str, Any]) -> _RecordParts:
    fields = record.get("fields")
    fields = dict(fields) if isinstance(fields, dict) else {}
    message = record.get("message")
    if message is None:
        message = fields.pop("message", "")
    return _RecordParts(str(record.get("level", "INFO")).upper(), str(message), fields)


def _render_record(record: Mapping[str, Any], *, verbose: bool) -> tuple[int, str]:
    parts = _record_parts(record)
    extras: dict[str, Any] = {k: v for k, v in record.items() if k not in _PLAIN_KEYS}
    extras.update(parts.fields)
    if verbose and isinstance(record.get("target"), str):
        extras = {"target": record["target"], **extras}
    words = [parts.level_name, parts.message]
    words.extend(f"{key}={_show(value)}" for key, value in extras.items())
    text = " ".join(words)
    exception = record.get("exception")
    if isinstance(exception, str) and exception.strip():
        if verbose:
            text += "\n" + exception.rstrip("\n")
        else:  # the exception itself; the traceback only with -v
            last = exception.strip().splitlines()[-1].strip()
            text += f" ({last}; -v shows the traceback)"
    return _LEVELS.get(parts.level_name, logging.INFO), text


def _show(value: object) -> str:
    if isinstance(value, str) and value and not any(c.isspace() for c in value):
        return value
    return json.dumps(value, ensure_ascii=False)


def _rfc3339(seconds: float) -> str:
    clock = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))
    return f"{clock}.{int(seconds * 1000) % 1000:03d}Z"


def _isatty(stream: IO[str]) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # not a real stream, or closed
        return False


_BOLD: Final = "1"
_DIM: Final = "2"
_RED: Final = "31"
_GREEN: Final = "32"
_YELLOW: Final = "33"
_MODULE_COLOURS: Final = ("36", "35", "34", "96", "95", "94")


def _paint(text: str, code: str) -> str:
    return f"\x1b[{code}m{text}\x1b[0m"


def _level_colour(level: int) -> str:
    if level >= logging.ERROR:
        return "1;" + _RED
    if level >= logging.WARNING:
        return _YELLOW
    if level >= logging.INFO:
        return _GREEN
    return _DIM


def _module_colour(module: str) -> str:
    """A colour of its own for each module id (the same in every run)."""
    return _MODULE_COLOURS[zlib.crc32(module.encode()) % len(_MODULE_COLOURS)]
