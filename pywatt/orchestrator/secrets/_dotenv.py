"""``.env``-style secrets files, read with python-dotenv.

The syntax is python-dotenv's: ``KEY=VALUE`` lines, blank lines and ``#`` comments, an
optional ``export`` prefix; a value may be unquoted (it ends at `` #``, a comment, and is
stripped), in double quotes (``\\n``, ``\\t``, ``\\"``, ``\\\\`` escapes) or in single quotes,
and a quoted value may span several lines (a PEM key). ``${VAR}`` and ``${VAR:-default}`` in
an unquoted or double-quoted value expand to a variable defined earlier in the file, else
one of the environment; a single-quoted value is taken literally (no expansion), as a shell
would. Unlike python-dotenv, a line it cannot parse is an error, not a warning: errors name
the file and line but never show a value.
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Mapping
from typing import Final

from dotenv.parser import Binding, parse_stream
from dotenv.variables import parse_variables

from .._errors import SecretsFileError

__all__ = ["load_env_file", "parse_env_text"]

# The start of a statement whose value is quoted: ``KEY = '`` or ``export KEY="``.
_QUOTED_START: Final = re.compile(
    r"[^\S\r\n]*(?:export[^\S\r\n]+)?[^=#\s]+[^\S\r\n]*=[^\S\r\n]*(['\"])"
)


def load_env_file(path: str, environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """Read and parse a secrets file. Blocks on file I/O.

    ``${VAR}`` falls back on ``environ`` (default: this process's environment). Raises
    :class:`SecretsFileError` if it cannot be read or a statement is malformed.
    """
    try:
        with open(path, encoding="utf-8") as file:
            text = file.read()
    except OSError as exc:
        raise SecretsFileError(
            path, f"cannot read the secrets file: {exc.strerror or exc}"
        ) from exc
    except UnicodeDecodeError as exc:
        raise SecretsFileError(path, f"not UTF-8 text (byte {exc.start})") from exc
    return parse_env_text(text, path, environ)


def parse_env_text(
    text: str, path: str = "<secrets>", environ: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Parse ``.env`` text; later lines win. Raises :class:`SecretsFileError`.

    ``${VAR}`` falls back on ``environ`` (default: this process's environment).
    """
    fallback = os.environ if environ is None else environ
    values: dict[str, str] = {}
    for binding in parse_stream(io.StringIO(text)):
        if binding.error:
            raise SecretsFileError(path, _diagnose(binding), binding.original.line)
        if binding.key is None:  # a blank line or a comment
            continue
        if binding.value is None:
            raise SecretsFileError(
                path, f"expected KEY=VALUE ({binding.key!r} has no '=')", binding.original.line
            )
        values[binding.key] = _expand(binding, values, fallback)
    return values


def _expand(binding: Binding, earlier: Mapping[str, str], environ: Mapping[str, str]) -> str:
    value = binding.value
    assert value is not None
    start = _QUOTED_START.match(binding.original.string)
    if "${" not in value or (start is not None and start.group(1) == "'"):
        return value
    scope = {**environ, **earlier}
    return "".join(atom.resolve(scope) for atom in parse_variables(value))


def _diagnose(binding: Binding) -> str:
    """What is wrong with a statement python-dotenv could not parse (never its value)."""
    start = _QUOTED_START.match(binding.original.string)
    if start is None:
        return "expected KEY=VALUE"
    quote = start.group(1)
    rest = binding.original.string[start.end() :]
    closing = _closing_quote(rest, quote)
    if closing < 0:
        return f"unterminated {'single' if quote == chr(39) else 'double'} quote"
    return "unexpected text after the closing quote"


def _closing_quote(text: str, quote: str) -> int:
    """Where the unescaped closing ``quote`` is in ``text`` (after the opening one), or -1."""
    i = 0
    while i < len(text):
        if text[i] == "\\":
            i += 2
            continue
        if text[i] == quote:
            return i
        i += 1
    return -1
