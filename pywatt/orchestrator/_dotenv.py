"""``.env``-style secrets files: ``KEY=VALUE`` lines.

Rules: blank lines and lines starting with ``#`` are skipped; an optional ``export`` prefix is
allowed; a value may be wrapped in single quotes (taken literally) or double quotes (with
``\\n``, ``\\t``, ``\\"`` and ``\\\\`` escapes); an unquoted value ends at `` #`` (a comment)
and is stripped. Errors name the file and line but never show a value.
"""

from __future__ import annotations

import re
from typing import Final

from ._errors import SecretsFileError

__all__ = ["load_env_file", "parse_env_text"]

_LINE_RE: Final = re.compile(r"\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_.-]*)\s*=\s*(.*?)\s*")
_ESCAPES: Final = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\", "$": "$"}


def load_env_file(path: str) -> dict[str, str]:
    """Read and parse a secrets file. Blocks on file I/O.

    Raises :class:`SecretsFileError` if it cannot be read or a line is malformed.
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
    return parse_env_text(text, path)


def parse_env_text(text: str, path: str = "<secrets>") -> dict[str, str]:
    """Parse ``.env`` text; later lines win. Raises :class:`SecretsFileError`."""
    values: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        match = _LINE_RE.fullmatch(line)
        if match is None:
            raise SecretsFileError(path, "expected KEY=VALUE", number)
        name, raw = match.groups()
        values[name] = _value(raw, path, number)
    return values


def _value(raw: str, path: str, line: int) -> str:
    if raw[:1] == "'":
        end = raw.find("'", 1)
        if end < 0:
            raise SecretsFileError(path, "unterminated single quote", line)
        _only_comment_after(raw[end + 1 :], path, line)
        return raw[1:end]
    if raw[:1] == '"':
        out: list[str] = []
        i = 1
        while i < len(raw):
            char = raw[i]
            if char == "\\" and i + 1 < len(raw):
                out.append(_ESCAPES.get(raw[i + 1], "\\" + raw[i + 1]))
                i += 2
                continue
            if char == '"':
                _only_comment_after(raw[i + 1 :], path, line)
                return "".join(out)
            out.append(char)
            i += 1
        raise SecretsFileError(path, "unterminated double quote", line)
    comment = re.search(r"\s#", raw)
    return (raw[: comment.start()] if comment else raw).strip()


def _only_comment_after(rest: str, path: str, line: int) -> None:
    rest = rest.strip()
    if rest and not rest.startswith("#"):
        raise SecretsFileError(path, "unexpected text after the closing quote", line)
