"""Redaction of secret values and credentials from any text that leaves the process."""

from __future__ import annotations

import re
import threading

from ._forms import LINE_MIN_LENGTH, secret_forms

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

    An occurrence is the value as registered, the value without surrounding whitespace, its
    escaped forms (``repr``, ``ascii``, the repr of its bytes, JSON, and JSON of those) and,
    for a multi-line value, each line long enough to stand alone (at least
    ``line_min_length`` characters with a letter or digit; see :mod:`pywatt.logs._forms` for
    why 8), so that a value printed or read line by line is masked too.

    Thread-safe. Empty values and values shorter than ``min_length`` are not registered (they
    would redact ordinary words). Registering is idempotent.
    """

    def __init__(self, min_length: int = 4, line_min_length: int = LINE_MIN_LENGTH) -> None:
        self.min_length = min_length
        self.line_min_length = line_min_length
        self._values: set[str] = set()
        self._forms: set[str] = set()
        self._pattern: re.Pattern[str] | None = None
        self._lock = threading.Lock()
        self.generation = 0
        """Changes whenever :meth:`redact` may give another answer for a text (a value was
        registered): what remembers redacted texts forgets them then."""

    def register(self, *values: str) -> None:
        """Add secret values to redact from now on. Does not block."""
        fresh = {v for v in values if len(v) >= self.min_length and v not in self._values}
        if not fresh:
            return
        with self._lock:
            self._values |= fresh
            for value in fresh:
                self._forms |= secret_forms(
                    value, min_length=self.min_length, line_min_length=self.line_min_length
                )
            self._pattern = _alternation(self._forms)
            self.generation += 1

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


def _alternation(texts: set[str]) -> re.Pattern[str]:
    """A pattern matching any of ``texts``, the longest where several start at one place (so
    a secret that contains another, or a line of itself, is redacted whole).

    Grouped by first character: a flat alternation of a few hundred escaped forms tries
    every branch at every position and is several times slower per line than this, where
    a position enters only the group of its own character.
    """
    groups: dict[str, list[str]] = {}
    for text in texts:
        groups.setdefault(text[0], []).append(text[1:])
    branches = []
    for first, rests in sorted(groups.items()):
        rests.sort(key=len, reverse=True)
        branches.append(re.escape(first) + "(?:" + "|".join(map(re.escape, rests)) + ")")
    return re.compile("|".join(branches))


redactor = Redactor()
"""The process's redactor: logs and errors of every pywatt component go through it."""
