"""The custom-provider example replaces the built-in cache by registration alone."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import attrs
import pytest

import actors
from pywatt.cache import CACHE, CACHE_NAME, CacheFacade, NotAnInteger, cache_children

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "custom_cache_provider.py"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("custom_cache_provider", EXAMPLE)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


example = _load()


async def test_the_provider_answers_exactly_as_the_built_in_cache(tmp_path: Path) -> None:
    answers = await example.main(str(tmp_path / "cache.db"))
    assert answers["sqlite"] == answers["built-in memory"]
    assert answers["sqlite"][:4] == [{"name": "Ada"}, True, 1, 6]


async def test_it_takes_the_place_of_the_configured_cache_under_its_supervisor(
    tmp_path: Path,
) -> None:
    # the module's tree as cache_children builds it, with only the factory swapped
    (supervisor,) = cache_children({"type": "memory"})
    assert isinstance(supervisor, actors.SupervisorSpec)
    (child,) = supervisor.children
    assert isinstance(child, actors.ChildSpec)
    custom = attrs.evolve(
        supervisor,
        children=[attrs.evolve(child, factory=lambda: example.SqliteCache(str(tmp_path / "c.db")))],
    )
    async with actors.open_actor_system() as system:
        await system.start_supervisor(custom)
        cache = CacheFacade(system)
        await cache.set("k", [1, 2])
        assert await cache.get("k") == [1, 2]
        assert (await cache.stats()).backend == "sqlite"
        await cache.set("text", "x")
        with pytest.raises(NotAnInteger):
            await cache.increment("text")
        assert await cache.get("k") == [1, 2]  # a reply error: the provider kept running


async def test_an_actor_missing_part_of_the_protocol_is_refused() -> None:
    class Partial(actors.Actor[Any]):
        accepts = (example.Get, example.Set)

    async with actors.open_actor_system() as system:
        with pytest.raises(actors.ProtocolMismatch, match="Increment"):
            await system.spawn(Partial, name=CACHE_NAME, protocol=CACHE)


def test_the_example_runs_as_a_script(tmp_path: Path) -> None:
    run = subprocess.run(
        [sys.executable, str(EXAMPLE), str(tmp_path / "script.db")],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    lines = run.stdout.splitlines()
    assert lines[0].startswith("built-in memory: [{'name': 'Ada'}, True, 1, 6")
    assert lines[1].replace("sqlite", "built-in memory") == lines[0]
