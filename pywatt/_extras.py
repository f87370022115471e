"""Optional drivers: each backend's driver comes with an extra (``pip install
'pywatt[redis]'``), and turning on a backend whose extra is missing is one clear line.

``pywatt`` itself needs only trio, attrs, cattrs, msgpack and joserfc; the in-memory cache,
SQLite, the file cache and the proxies need nothing more.
"""

from __future__ import annotations

import importlib.util
from typing import Final

from ._errors import ConfigError

# extra -> the top-level modules it installs
EXTRAS: Final[dict[str, tuple[str, ...]]] = {
    "postgres": ("psycopg",),
    "mysql": ("pymysql",),
    "redis": ("redis", "hiredis"),
    "memcached": ("pymemcache",),
    "http": ("hypercorn", "prometheus_client", "httptools"),
}
_EXTRA_OF: Final = {module: extra for extra, modules in EXTRAS.items() for module in modules}


class MissingExtra(ConfigError, ImportError):
    """A backend was turned on but the extra that installs its driver is not installed."""

    def __init__(self, extra: str, feature: str) -> None:
        super().__init__(
            f"{feature} needs the '{extra}' extra, which is not installed: "
            f"pip install 'pywatt[{extra}]'"
        )
        self.extra = extra
        self.feature = feature


def have(extra: str) -> bool:
    """Whether every driver of ``extra`` can be imported (without importing it)."""
    return all(importlib.util.find_spec(module) is not None for module in EXTRAS[extra])


def require(extra: str, feature: str) -> None:
    """Raise :class:`MissingExtra` unless ``extra`` is installed; ``feature`` names what
    needs it (``"the Redis cache"``)."""
    if not have(extra):
        raise MissingExtra(extra, feature)


def extra_for(error: ImportError) -> str | None:
    """The extra whose missing driver caused ``error``, if it is one of ours."""
    name = (getattr(error, "name", None) or "").partition(".")[0]
    return _EXTRA_OF.get(name)
