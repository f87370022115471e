"""One placeholder style for every driver: ``?`` in, the driver's own style out.

Users write ``?`` for each parameter, whatever the database (the seed's style). On the proxy
path ``$1``, ``$2``, ... are accepted too, because that is what the Rust SDK sends; they may
repeat and come in any order. :func:`translate` turns a statement into the driver's style:

* PostgreSQL (psycopg) and MySQL (PyMySQL) take ``%s``; a literal ``%`` must then be written
  ``%%``, which the translation does;
* SQLite takes ``?`` (``$n`` becomes ``?`` with the parameters reordered).

A small tokenizer finds the placeholders, so a ``?`` or ``$1`` inside a quoted string, a
quoted identifier, a comment or a PostgreSQL dollar-quoted string is left alone. Dialects
differ in what quotes mean: backslash escapes exist in MySQL strings and in PostgreSQL's
``E'...'`` strings, backticks quote identifiers only in MySQL, ``$tag$...$tag$`` only in
PostgreSQL, and block comments nest only in PostgreSQL.

Translations are cached (they are pure functions of the text), so the cost is paid once per
distinct statement. Errors are :class:`~pywatt.db.ParameterError` with the offset.
"""

from __future__ import annotations

import enum
import functools
import re
from collections.abc import Sequence
from typing import Any, Final

import attrs

from ._errors import ParameterError

__all__ = ["Dialect", "Translation", "bind", "translate"]


class Dialect(enum.Enum):
    """The SQL dialect, which decides both the quoting rules and the output style."""

    POSTGRESQL = "postgresql"
    MYSQL = "mysql"
    SQLITE = "sqlite"


@attrs.frozen
class Translation:
    """A statement in the driver's style.

    ``order`` gives, for each placeholder of ``sql`` in turn, the index of the user's
    parameter it takes (``?`` style: ``0, 1, 2, ...``; ``$n`` style: ``n - 1`` each).
    ``count`` is how many parameters the user must pass.
    """

    sql: str
    order: tuple[int, ...]
    count: int


_DOLLAR_TAG: Final = re.compile(r"\$([A-Za-z_\x80-\uffff][A-Za-z_0-9\x80-\uffff]*)?\$")
_DOLLAR_NUM: Final = re.compile(r"\$([0-9]+)")


def translate(sql: str, dialect: Dialect, *, allow_numbered: bool = False) -> Translation:
    """Translate ``sql`` from ``?`` (or, with ``allow_numbered``, ``$n``) to ``dialect``.

    Pure and cached; does not block. Raises :class:`ParameterError` for an unterminated
    string, identifier or comment, for ``$n`` when it is not allowed (or ``$0``), and for
    ``?`` and ``$n`` mixed in one statement.
    """
    return _translate(sql, dialect, allow_numbered)


def bind(
    sql: str, params: Sequence[Any], dialect: Dialect, *, allow_numbered: bool = False
) -> tuple[str, tuple[Any, ...]]:
    """The driver's statement and its parameters, in the order the driver wants them.

    Raises :class:`ParameterError` when the number of parameters does not match the
    placeholders (saying how many each side has), or as :func:`translate`.
    """
    translation = _translate(sql, dialect, allow_numbered)
    if len(params) != translation.count:
        raise ParameterError(
            f"the statement has {translation.count} placeholder(s) but "
            f"{len(params)} parameter(s) were given",
            sql=sql,
        )
    if translation.order == tuple(range(translation.count)):
        return translation.sql, tuple(params)
    return translation.sql, tuple(params[i] for i in translation.order)


@functools.lru_cache(maxsize=1024)
def _translate(sql: str, dialect: Dialect, allow_numbered: bool) -> Translation:
    percent = dialect is not Dialect.SQLITE  # %s drivers need literal % doubled
    mark = "?" if dialect is Dialect.SQLITE else "%s"
    out: list[str] = []
    order: list[int] = []
    style: str | None = None  # "?" or "$"
    numbered_max = 0
    i = 0
    n = len(sql)
    start = 0  # start of the pending literal chunk

    def flush(upto: int) -> None:
        chunk = sql[start:upto]
        out.append(chunk.replace("%", "%%") if percent else chunk)

    while i < n:
        c = sql[i]
        if c == "'":
            backslash = dialect is Dialect.MYSQL or (
                dialect is Dialect.POSTGRESQL
                and i > 0
                and sql[i - 1] in "eE"
                and _word_start(sql, i - 1)
            )
            i = _skip_quoted(sql, i, "'", backslash, "string")
        elif c == '"':
            i = _skip_quoted(sql, i, '"', dialect is Dialect.MYSQL, "quoted identifier")
        elif c == "`" and dialect is not Dialect.POSTGRESQL:
            i = _skip_quoted(sql, i, "`", False, "quoted identifier")
        elif (c == "-" and sql.startswith("--", i)) or (c == "#" and dialect is Dialect.MYSQL):
            end = sql.find("\n", i)
            i = n if end < 0 else end + 1
        elif c == "/" and sql.startswith("/*", i):
            i = _skip_block_comment(sql, i, nested=dialect is Dialect.POSTGRESQL)
        elif c == "$" and dialect is Dialect.POSTGRESQL and (tag := _DOLLAR_TAG.match(sql, i)):
            if i > 0 and (sql[i - 1].isalnum() or sql[i - 1] == "_"):
                i += 1  # part of an identifier such as a$b$
                continue
            end = sql.find(tag.group(0), tag.end())
            if end < 0:
                raise ParameterError(f"unterminated dollar-quoted string at offset {i}", sql=sql)
            i = end + len(tag.group(0))
        elif c == "$" and (num := _DOLLAR_NUM.match(sql, i)) and not _in_word(sql, i):
            if not allow_numbered:
                raise ParameterError(
                    f"'$' placeholders are accepted only on the proxy path (offset {i}); "
                    "write '?' for each parameter",
                    sql=sql,
                )
            if style == "?":
                raise ParameterError(f"'?' and '$n' placeholders mixed (offset {i})", sql=sql)
            style = "$"
            index = int(num.group(1))
            if index == 0:
                raise ParameterError(
                    f"'$0' is not a parameter (offset {i}); they start at $1", sql=sql
                )
            numbered_max = max(numbered_max, index)
            flush(i)
            out.append(mark)
            order.append(index - 1)
            i = num.end()
            start = i
        elif c == "?":
            if dialect is Dialect.POSTGRESQL and i + 1 < n and sql[i + 1] in "|&-#":
                i += 2  # jsonb operators ?| ?& and geometric ?- ?# are not placeholders
                continue
            if style == "$":
                raise ParameterError(f"'?' and '$n' placeholders mixed (offset {i})", sql=sql)
            style = "?"
            flush(i)
            out.append(mark)
            order.append(len(order))
            i += 1
            start = i
        else:
            i += 1
    flush(n)
    count = numbered_max if style == "$" else len(order)
    if style == "$":
        missing = sorted(set(range(count)) - set(order))
        if missing:
            raise ParameterError(
                f"placeholder ${missing[0] + 1} is never used but ${count} is", sql=sql
            )
    return Translation("".join(out), tuple(order), count)


def _word_start(sql: str, i: int) -> bool:
    return i == 0 or not (sql[i - 1].isalnum() or sql[i - 1] == "_")


def _in_word(sql: str, i: int) -> bool:
    return i > 0 and (sql[i - 1].isalnum() or sql[i - 1] == "_")


def _skip_quoted(sql: str, i: int, quote: str, backslash: bool, what: str) -> int:
    """Index just past the quoted run starting at ``sql[i]`` (doubled quotes escape)."""
    j = i + 1
    n = len(sql)
    while j < n:
        c = sql[j]
        if backslash and c == "\\":
            j += 2
            continue
        if c == quote:
            if j + 1 < n and sql[j + 1] == quote:
                j += 2
                continue
            return j + 1
        j += 1
    raise ParameterError(f"unterminated {what} starting at offset {i}", sql=sql)


def _skip_block_comment(sql: str, i: int, *, nested: bool) -> int:
    depth = 0
    j = i
    n = len(sql)
    while j < n:
        if sql.startswith("/*", j):
            depth = depth + 1 if nested or depth == 0 else depth
            j += 2
        elif sql.startswith("*/", j):
            depth -= 1
            j += 2
            if depth == 0:
                return j
        else:
            j += 1
    raise ParameterError(f"unterminated block comment starting at offset {i}", sql=sql)
