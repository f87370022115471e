"""Logging for modules: JSON lines on stderr, with secrets redacted everywhere."""

from ._json_logs import JsonFormatter as JsonFormatter
from ._json_logs import configure_logging as configure_logging
from ._redaction import REDACTED as REDACTED
from ._redaction import Redactor as Redactor
from ._redaction import redactor as redactor
