"""A module whose ``state.cache`` / ``state.database`` is served by a provider of its own or
by a database with a name, chosen by ``DATA_CASE``; files go to ``DATA_DIR``.

It uses the facades in ``create_app`` and logs what they answered, one line per case
(``data: ...``), which the test waits for.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import sys
from pathlib import Path
from typing import Any

from pywatt import AppState, run_module
from pywatt.cache import CACHE
from pywatt.db import DATABASE, DatabasePool, PoolSettings
from pywatt.db._sqlite import SqliteDriver

log = logging.getLogger("data_providers")

CASE = os.environ["DATA_CASE"]
DIRECTORY = Path(os.environ["DATA_DIR"])
EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "custom_cache_provider.py"


def _sqlite_cache() -> Any:
    spec = importlib.util.spec_from_file_location("custom_cache_provider", EXAMPLE)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module.SqliteCache


SqliteCache = _sqlite_cache()


def cache_provider() -> Any:
    return SqliteCache(str(DIRECTORY / "cache.db"))


def database_provider() -> DatabasePool:
    """A pool over a driver the module chose itself (the docs' "a database driver")."""
    driver = SqliteDriver(str(DIRECTORY / "provided.db"), name="provided-sqlite")
    return DatabasePool(driver, PoolSettings(max_connections=2))


OPTIONS: dict[str, dict[str, Any]] = {
    "named_database": {
        "database_config": {"type": "sqlite", "path": str(DIRECTORY / "named.db"), "name": "main"}
    },
    "database_provider": {"database_provider": database_provider},
    "named_database_provider": {
        "database_provider": database_provider,
        "database_config": {"name": "main"},
    },
    "database_spawned": {},
    "cache_provider": {"cache_provider": cache_provider, "cache_config": {"default_ttl": 600}},
    "cache_spawned": {},
    # Mistakes: each is one line and exit status 78.
    "cache_provider_and_backend": {
        "cache_provider": cache_provider,
        "cache_config": {"type": "redis", "url": "redis://127.0.0.1:1"},
    },
    "database_provider_and_backend": {
        "database_provider": database_provider,
        "database_config": {"type": "sqlite", "path": "x.db"},
    },
    "cache_provider_not_callable": {"cache_provider": "sqlite"},
    "cache_provider_disabled": {"cache_provider": cache_provider, "enable_cache": False},
}


async def create_app(state: AppState[None]) -> None:
    if CASE == "database_spawned":
        await state.spawn(database_provider, name="pywatt.db", protocol=DATABASE)
    if CASE == "cache_spawned":
        await state.spawn(cache_provider, name="cache", protocol=CACHE)
    if "database" in CASE:
        await state.execute_query("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT)")
        await state.execute_query("INSERT INTO t (name) VALUES (?)", ["Ada"])
        rows = await state.execute_query("SELECT name FROM t")
        backend = (await state.database.statistics()).backend
        log.info("data: %s rows=%s backend=%s", CASE, rows, backend)
    if "cache" in CASE:
        await state.cache_set("user:1", {"name": "Ada"})
        value = await state.cache_get("user:1")
        backend = (await state.cache.stats()).backend
        log.info("data: %s value=%s backend=%s", CASE, value, backend)


if __name__ == "__main__":
    raise SystemExit(run_module(create_app, **OPTIONS[CASE]))
