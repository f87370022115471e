"""JSON-lines logging to stderr with redaction (stdout belongs to the protocol)."""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import IO, Any

from ._redaction import Redactor, redactor

# Attributes every LogRecord has; anything else on a record came from ``extra=``.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """Formats a record as one JSON object per line, redacted.

    Keys: ``timestamp`` (RFC 3339, UTC), ``level``, ``target`` (the logger name), ``message``,
    ``fields`` (the record's ``extra=`` values) and ``exception`` (the formatted traceback).
    The message, the traceback and every extra value pass through the redactor, so a secret
    cannot leave by any of them.
    """

    def __init__(self, redact: Redactor = redactor, module_id: str | None = None) -> None:
        super().__init__()
        self.redact = redact
        self.module_id = module_id

    def format(self, record: logging.LogRecord) -> str:
        created = time.gmtime(record.created)
        event: dict[str, Any] = {
            "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S", created) + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "target": record.name,
            "message": self.redact.redact(record.getMessage()),
        }
        if self.module_id is not None:
            event["module_id"] = self.module_id
        fields = {
            key: _redact_value(self.redact, value)
            for key, value in vars(record).items()
            if key not in _STANDARD
        }
        if fields:
            event["fields"] = fields
        if record.exc_info:
            event["exception"] = self.redact.redact(self.formatException(record.exc_info))
        return json.dumps(event, ensure_ascii=False, default=str, separators=(",", ":"))


def _redact_value(redact: Redactor, value: object) -> object:
    if isinstance(value, str):
        return redact.redact(value)
    if isinstance(value, dict):
        return {str(k): _redact_value(redact, v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_redact_value(redact, v) for v in value]
    if isinstance(value, int | float | bool) or value is None:
        return value
    return redact.redact(repr(value))


def configure_logging(
    level: int | str = logging.INFO,
    *,
    stream: IO[str] | None = None,
    module_id: str | None = None,
    redact: Redactor = redactor,
) -> logging.Handler:
    """Send every log record of the process to ``stream`` (stderr) as redacted JSON lines.

    Replaces handlers that an earlier call installed; returns the handler. Call it once from
    a module main (``run_module`` does).
    """
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter(redact, module_id))
    handler.set_name("pywatt-json")
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == "pywatt-json"]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    return handler
