"""Redaction of secret values and credentials from any text that leaves the process."""

from __future__ import annotations

import re
import threading

REDACTED = "[REDACTED]"

# Credentials that are recognisable by shape even when nobody registered them.
_SHAPES = [
    # JSON Web Tokens: three base64url segments, the first two starting like '{"'
    re.compile(r"eyJ[A-Za-z0-9_-]{4,}\.eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*"),
    # Authorization: Bearer <token>
    re.compile(r"(?i)(?<=bearer )[A-Za-z0-9._~+/=-]{8,}"),
    # user:password@ in URLs
    re.compile(r"(?<=://)[^/\s:@]+:[^/\s@]+(?=@)"),
]


class Redactor:
    """A set of secret values; :meth:`redact` replaces every occurrence with ``[REDACTED]``.

    Thread-safe. Empty values and values shorter than ``min_length`` are not registered (they
    would redact ordinary words). Registering is idempotent.
    """

    def __init__(self, min_length: int = 4) -> None:
        self.min_length = min_length
        self._values: set[str] = set()
        self._pattern: re.Pattern[str] | None = None
        self._lock = threading.Lock()

    def register(self, *values: str) -> None:
        """Add secret values to redact from now on."""
        fresh = {v for v in values if len(v) >= self.min_length and v not in self._values}
        if not fresh:
            return
        with self._lock:
            self._values |= fresh
            # Longest first, so a secret that contains another is redacted whole.
            ordered = sorted(self._values, key=len, reverse=True)
            self._pattern = re.compile("|".join(re.escape(v) for v in ordered))

    def redact(self, text: str) -> str:
        """``text`` with every registered value and every credential-shaped token masked."""
        pattern = self._pattern
        if pattern is not None:
            text = pattern.sub(REDACTED, text)
        for shape in _SHAPES:
            text = shape.sub(REDACTED, text)
        return text

    def __contains__(self, value: object) -> bool:
        return value in self._values

    def __len__(self) -> int:
        return len(self._values)


redactor = Redactor()
"""The process's redactor: logs and errors of every pywatt component go through it."""
