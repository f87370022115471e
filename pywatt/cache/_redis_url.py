"""Redis URLs, read by redis-py's own parser (``redis.connection.parse_url``): one parser
for the cache and discovery."""

from __future__ import annotations

from typing import Any

from pywatt._extras import require

from ._errors import CacheConfigError

__all__ = ["parse_redis_url"]


def parse_redis_url(url: str) -> dict[str, Any]:
    """Split ``redis://[user[:password]@]host[:port][/db]`` (``rediss://`` for TLS).

    Returns ``host``, ``port``, ``tls``, ``username``, ``password``, ``db``. Raises
    :class:`CacheConfigError` for another scheme (a ``unix://`` socket included) or a bad
    port or db; ``MissingExtra`` without the ``redis`` extra.
    """
    require("redis", "a Redis URL")
    from redis.connection import SSLConnection, parse_url

    try:
        parts = parse_url(url)  # type: ignore[no-untyped-call]
    except ValueError as exc:
        raise CacheConfigError(f"bad Redis URL {url!r}: {exc}") from None
    if "path" in parts:
        raise CacheConfigError(f"a Redis URL starts with redis:// or rediss://, not {url!r}")
    return {
        "host": parts.get("host") or "127.0.0.1",
        "port": int(parts.get("port") or 6379),
        "tls": parts.get("connection_class") is SSLConnection,
        "username": parts.get("username"),
        "password": parts.get("password"),
        "db": int(parts.get("db") or 0),
    }
