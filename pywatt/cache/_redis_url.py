"""Redis URLs, read without the Redis driver (so a config is checked before it is needed)."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote, urlsplit

from ._errors import CacheConfigError


def parse_redis_url(url: str) -> dict[str, Any]:
    """Split ``redis://[user[:password]@]host[:port][/db]`` (``rediss://`` for TLS).

    Returns ``host``, ``port``, ``tls``, ``username``, ``password``, ``db``. Raises
    :class:`CacheConfigError` for another scheme or a bad port or db.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("redis", "rediss"):
        raise CacheConfigError(f"a Redis URL starts with redis:// or rediss://, not {url!r}")
    try:
        port = parts.port or 6379
        path = parts.path.strip("/")
        db = int(path) if path else 0
    except ValueError as exc:
        raise CacheConfigError(f"bad Redis URL {url!r}: {exc}") from None
    return {
        "host": parts.hostname or "127.0.0.1",
        "port": port,
        "tls": parts.scheme == "rediss",
        "username": unquote(parts.username) if parts.username else None,
        "password": unquote(parts.password) if parts.password else None,
        "db": db,
    }
