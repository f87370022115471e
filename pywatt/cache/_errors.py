"""Errors of the cache protocol. Every backend raises these as *reply errors*: the asker gets
them and the cache actor keeps running (docs/architecture.md, decision 12)."""

from __future__ import annotations

from .._errors import BackendUnavailable, ConfigError, PywattError


class CacheError(PywattError):
    """Base of the cache errors."""


class CacheUnavailable(CacheError, BackendUnavailable):
    """The backend cannot be reached: not connected, the connection broke, or no reply came
    within the operation timeout (a :class:`ConnectionError`). Retrying later may succeed (the
    actor reconnects)."""

    def __init__(self, backend: str, detail: str) -> None:
        super().__init__(f"{backend} cache is unavailable: {detail}")
        self.backend = backend
        self.detail = detail


class InvalidKey(CacheError, ValueError):
    """A key that this backend cannot store (empty, too long, whitespace on Memcached...)."""

    def __init__(self, key: object, reason: str) -> None:
        super().__init__(f"invalid cache key {key!r}: {reason}")
        self.key = key


class NotAnInteger(CacheError, ValueError):
    """``increment``/``decrement`` on a value that is not a decimal integer."""

    def __init__(self, key: str, detail: str = "the stored value is not an integer") -> None:
        super().__init__(f"cannot count on {key!r}: {detail}")
        self.key = key


class CounterOverflow(CacheError, OverflowError):
    """``increment``/``decrement`` would leave the backend's integer range."""

    def __init__(self, key: str, detail: str) -> None:
        super().__init__(f"counter {key!r} would overflow: {detail}")
        self.key = key


class ValueTooLarge(CacheError, ValueError):
    """The value is larger than the backend accepts (``max_bytes``, Memcached's item size)."""

    def __init__(self, key: str, size: int, limit: str) -> None:
        super().__init__(f"value for {key!r} is too large ({size} bytes): {limit}")
        self.key = key
        self.size = size


class CacheFull(CacheError):
    """An in-memory cache with the ``None`` policy is full: it never evicts."""


class CacheProtocolError(CacheError):
    """The server sent something this client does not understand (the peer's fault)."""


class CacheBackendError(CacheError):
    """The server refused an operation for a reason not covered above (its text is kept)."""


class CacheConfigError(CacheError, ConfigError):
    """A cache configuration is invalid; the message says which key and why."""


class CodecError(CacheError, ValueError):
    """The facade could not encode a value, or a stored value is not valid for its codec."""
