"""``state.cache`` and ``state.database`` backed by a provider of the module's own, and by a
database with a name: real module processes under the embedded orchestrator."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
import trio

from pywatt.orchestrator import ModuleState
from pywatt.testing import open_module
from pywatt.wire import EXIT_CANNOT_START

MODULE = Path(__file__).parent / "modules" / "data_providers.py"


async def _data_line(case: str, directory: Path) -> str:
    env = {"DATA_CASE": case, "DATA_DIR": str(directory)}
    async with open_module(MODULE, env=env, echo=lambda line: None) as module:
        with trio.fail_after(20):
            return await module.handle.wait_stderr(f"data: {case} ")


@pytest.mark.parametrize(
    ("case", "database_file", "backend"),
    [
        ("named_database", "named.db", "main"),
        ("database_provider", "provided.db", "provided-sqlite"),
        ("named_database_provider", "provided.db", "provided-sqlite"),
        ("database_spawned", "provided.db", "provided-sqlite"),
    ],
)
async def test_the_database_facade_asks_the_database_the_module_configured(
    case: str, database_file: str, backend: str, tmp_path: Path
) -> None:
    line = await _data_line(case, tmp_path)
    assert f"rows=[{{'name': 'Ada'}}] backend={backend}" in line
    with sqlite3.connect(tmp_path / database_file) as db:
        assert db.execute("SELECT name FROM t").fetchall() == [("Ada",)]


@pytest.mark.parametrize("case", ["cache_provider", "cache_spawned"])
async def test_the_cache_facade_asks_a_provider_of_the_modules_own(
    case: str, tmp_path: Path
) -> None:
    line = await _data_line(case, tmp_path)
    assert "value={'name': 'Ada'} backend=sqlite" in line
    with sqlite3.connect(tmp_path / "cache.db") as db:
        assert db.execute("SELECT key FROM cache").fetchall() == [("user:1",)]


@pytest.mark.parametrize(
    ("case", "message"),
    [
        (
            "cache_provider_and_backend",
            "cache_config cannot choose a backend when cache_provider is given: it takes "
            "only codec, default_ttl (not type, url)",
        ),
        (
            "database_provider_and_backend",
            "database_config cannot describe a database when database_provider is given: it "
            "takes only name (not path, type)",
        ),
        (
            "cache_provider_not_callable",
            "cache_provider must be an actor factory (an Actor subclass or a function "
            "returning an actor), not 'sqlite'",
        ),
        (
            "cache_provider_disabled",
            "cache_provider is given but enable_cache is False",
        ),
    ],
)
async def test_a_provider_that_cannot_be_used_is_one_line_and_no_restart(
    case: str, message: str, tmp_path: Path
) -> None:
    env = {"DATA_CASE": case, "DATA_DIR": str(tmp_path)}
    async with open_module(MODULE, env=env, wait_announced=None, echo=lambda line: None) as module:
        with trio.fail_after(20):
            await module.handle.wait_until(lambda h: h.state is ModuleState.FAILED)
        assert module.handle.last_exit == EXIT_CANNOT_START
        errors = [line for line in module.stderr_lines if "cannot start" in line]
        assert len(errors) == 1, module.stderr_lines
        assert message in errors[0]
        assert not any("Traceback" in line for line in module.stderr_lines)
