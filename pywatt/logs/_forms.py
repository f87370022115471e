"""The forms a secret value takes in text, so that redaction can find every one of them.

A value rarely reaches a log exactly as it was registered:

* **escaped**: ``f"{v!r}"``, ``%r``, ``ascii()``, the repr of its UTF-8 bytes, and JSON
  (``json.dumps``, with or without ``ensure_ascii``) turn a newline into ``\\n``, a quote into
  ``\\'`` or ``\\"``, a backslash into ``\\\\`` and, for some, ``é`` into ``\\xe9`` or
  ``\\u00e9``; and any of these may in turn sit inside a JSON log line, escaped once more.
* **split into lines**: whatever reads a stream line by line (the orchestrator's console, a
  log collector) sees a multi-line value one line at a time, so each line must be redacted
  on its own. Surrounding whitespace is dropped, because a printed value is often indented
  or carries the trailing newline of the file it came from.

Not every line is worth redacting on its own. A multi-line secret has structural lines
(``-----BEGIN PRIVATE KEY-----`` is long enough, but ``{``, ``},``, ``-----`` or an empty line
are not) and redacting those would mask ordinary text everywhere. So a line is redacted by
itself only if, stripped, it has at least :data:`LINE_MIN_LENGTH` (8) characters of which one
at least is a letter or a digit. Eight is where a fragment stops looking like a common word
(``true``, ``null``, ``END``, a short base64 tail such as ``Yw==``) while every line that
carries key material (64-character base64, hex, ``key = value``) is far longer. What a
shorter line reveals is at most seven characters of a value that is not printed whole; the
whole value, and each of its escaped forms, is redacted in every case.
"""

from __future__ import annotations

import json
import re
from typing import Final

__all__ = ["LINE_MIN_LENGTH", "escaped_forms", "secret_forms", "secret_lines"]

LINE_MIN_LENGTH: Final = 8
"""The shortest line of a multi-line secret that is redacted on its own (see above)."""

_NEWLINES: Final = re.compile(r"\r\n|\r|\n")


def secret_forms(
    value: str, *, min_length: int = 4, line_min_length: int = LINE_MIN_LENGTH
) -> set[str]:
    """Every text that stands for ``value``: the value and its whitespace-stripped self (if at
    least ``min_length`` long), each line of it that is worth redacting alone, and the
    escaped forms of all of these. Pure; does not block."""
    bases = {v for v in (value, value.strip()) if v and len(v) >= min_length}
    bases.update(secret_lines(value, line_min_length))
    forms: set[str] = set()
    for base in bases:
        forms.update(escaped_forms(base))
    return forms


def secret_lines(value: str, min_length: int = LINE_MIN_LENGTH) -> list[str]:
    """The lines of a multi-line ``value`` that are redacted on their own: stripped, at least
    ``min_length`` long, with a letter or digit. Empty for a value of one line."""
    pieces = _NEWLINES.split(value)
    if len(pieces) < 2:
        return []
    stripped = (piece.strip() for piece in pieces)
    return [p for p in stripped if len(p) >= min_length and any(c.isalnum() for c in p)]


def escaped_forms(value: str) -> set[str]:
    """``value`` itself, as Python's repr / ascii / bytes repr and JSON write it between the
    quotes, and each of those as JSON writes it again (inside a JSON log line)."""
    once = {value, *_python_forms(value), *_json_forms(value)}
    return once.union(*(_json_forms(form) for form in once))


def _python_forms(value: str) -> set[str]:
    data = value.encode("utf-8", "surrogatepass")
    plain = (
        "".join(repr(c)[1:-1] for c in value),
        "".join(ascii(c)[1:-1] for c in value),
        "".join(repr(bytes([b]))[2:-1] for b in data),
    )
    # Escaped one character at a time, a ' stays as it is. repr() escapes it only when the
    # string holds both quotes, and inside a larger string (a dict, a list) that depends on
    # the rest, so the form with \' is a form too. No escape sequence contains a '.
    return {*plain, *(form.replace("'", "\\'") for form in plain)}


def _json_forms(value: str) -> set[str]:
    return {json.dumps(value)[1:-1], json.dumps(value, ensure_ascii=False)[1:-1]}
