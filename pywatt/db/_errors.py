"""Typed database errors, each chained from the driver's own error (``raise ... from exc``).

They are the *reply errors* of every database actor (docs/architecture.md, decision 12): a
failed query answers its asker with one of these and the pool goes on serving. Errors never
carry parameter values, and messages from drivers are redacted of URL credentials.
"""

from __future__ import annotations

import re
from typing import Final

from .._errors import BackendUnavailable, PywattError

__all__ = [
    "ConstraintViolation",
    "DatabaseConnectionError",
    "DatabaseError",
    "DatabaseRefused",
    "DatabaseTimeout",
    "ParameterError",
    "QueryError",
    "TransactionError",
    "error_from_kind",
    "error_kind",
]

_URL_CREDENTIALS: Final = re.compile(r"(://[^:/@\s]+:)[^@\s]+@")
_PASSWORD_KV: Final = re.compile(r"(password\s*=\s*)('[^']*'|\S+)", re.IGNORECASE)


def redact(text: str) -> str:
    """``text`` with URL passwords and ``password=...`` pairs masked."""
    return _PASSWORD_KV.sub(r"\1[REDACTED]", _URL_CREDENTIALS.sub(r"\1[REDACTED]@", text))


class DatabaseError(PywattError):
    """Base of the database errors. ``backend`` names the pool that raised it, if known."""

    kind: str = "database"

    def __init__(self, message: str, *, backend: str | None = None) -> None:
        message = redact(message)
        super().__init__(f"{backend}: {message}" if backend else message)
        self.backend = backend
        self.detail = message


class DatabaseConnectionError(DatabaseError, BackendUnavailable):
    """The database cannot be reached, or the connection broke during the operation (a
    :class:`ConnectionError`)."""

    kind = "connection"


class DatabaseRefused(DatabaseConnectionError):
    """The server was reached and refused the connection (a password it rejects, an unknown
    user or database), or the database file cannot be opened: retrying alone will not help
    until the configuration or the secret changes."""

    kind = "refused"


class QueryError(DatabaseError):
    """The database refused or failed the statement (syntax, types, permissions, ...)."""

    kind = "query"

    def __init__(
        self, message: str, *, backend: str | None = None, sqlstate: str | None = None
    ) -> None:
        super().__init__(message, backend=backend)
        self.sqlstate = sqlstate


class ConstraintViolation(QueryError):
    """A unique, foreign key, not-null or check constraint refused the change."""

    kind = "constraint"


class ParameterError(QueryError, ValueError):
    """The statement's placeholders and the parameters given do not match, or the
    statement cannot be tokenized (an unterminated string or comment)."""

    kind = "parameter"

    def __init__(self, message: str, *, sql: str | None = None, backend: str | None = None) -> None:
        if sql is not None:
            excerpt = sql if len(sql) <= 120 else sql[:117] + "..."
            message = f"{message} in {excerpt!r}"
        super().__init__(message, backend=backend)


class DatabaseTimeout(DatabaseError, TimeoutError):
    """No connection became free within the acquire deadline, or the statement ran past
    its deadline and was cancelled on the server."""

    kind = "timeout"


class TransactionError(DatabaseError):
    """The transaction named is unknown or already ended (committed, rolled back, or
    rolled back by the pool after its deadline or a lost connection)."""

    kind = "transaction"


_KINDS: Final[dict[str, type[DatabaseError]]] = {
    cls.kind: cls
    for cls in (
        DatabaseError,
        DatabaseConnectionError,
        DatabaseRefused,
        QueryError,
        ConstraintViolation,
        ParameterError,
        DatabaseTimeout,
        TransactionError,
    )
}


def error_kind(error: DatabaseError) -> str:
    """The short kind name used in proxied error texts (``"constraint: ..."``)."""
    return error.kind


def error_from_kind(text: str, *, backend: str | None = None) -> DatabaseError:
    """Rebuild a typed error from a proxied error text ``"<kind>: <message>"``.

    A text without a known kind prefix (a foreign orchestrator's) is a :class:`QueryError`.
    """
    kind, sep, rest = text.partition(": ")
    cls = _KINDS.get(kind) if sep else None
    if cls is None:
        return QueryError(text, backend=backend)
    if cls is ParameterError:
        return ParameterError(rest, backend=backend)
    return cls(rest, backend=backend)
