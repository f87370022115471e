"""The reference SDK's logging helpers (``info``, ``safe_log``, ``init_module``, ...) on
pywatt's logging: JSON lines on stderr, every registered secret redacted.

Keyword arguments become the line's fields (``info("user created", user_id=7)``). In a
module, pywatt configures logging before ``create_app`` runs, so ``init_module()`` is only
needed in a script that is not one.
"""

from __future__ import annotations

import logging
import os
from typing import Any, Final

from pywatt.logs import configure_logging, redactor

__all__ = [
    "critical",
    "debug",
    "error",
    "get_logger",
    "info",
    "init_module",
    "redact_secrets",
    "register_secret_for_redaction",
    "safe_log",
    "warn",
    "warning",
]

_LOGGER: Final = "pywatt.module"
_RESERVED: Final = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
}


def init_module() -> None:
    """Log JSON lines to stderr at ``PYWATT_LOG_LEVEL`` (default INFO), secrets redacted."""
    level = os.environ.get("PYWATT_LOG_LEVEL", "INFO").upper()
    configure_logging(level if isinstance(logging.getLevelName(level), int) else "INFO")


def safe_log(level: str, message: str, **fields: Any) -> None:
    """Log ``message`` at ``level`` (``"debug"`` ... ``"critical"``) with ``fields``."""
    number = logging.getLevelName(level.upper())
    extra = {f"{key}_" if key in _RESERVED else key: value for key, value in fields.items()}
    logging.getLogger(_LOGGER).log(
        number if isinstance(number, int) else logging.INFO, message, extra=extra
    )


def debug(message: str, **fields: Any) -> None:
    safe_log("debug", message, **fields)


def info(message: str, **fields: Any) -> None:
    safe_log("info", message, **fields)


def warning(message: str, **fields: Any) -> None:
    safe_log("warning", message, **fields)


warn = warning


def error(message: str, **fields: Any) -> None:
    safe_log("error", message, **fields)


def critical(message: str, **fields: Any) -> None:
    safe_log("critical", message, **fields)


def get_logger(name: str | None = None) -> logging.Logger:
    """A standard logger (``name``, or the one these helpers use); its lines reach pywatt's
    JSON handler, which redacts them."""
    return logging.getLogger(name or _LOGGER)


def register_secret_for_redaction(secret_value: str) -> None:
    """Mask ``secret_value`` in every log line from now on."""
    redactor.register(secret_value)


def redact_secrets(text: str) -> str:
    """``text`` with every registered secret masked."""
    return redactor.redact(text)
