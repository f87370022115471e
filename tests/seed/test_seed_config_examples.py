"""The seed's two configuration examples, verbatim, as real modules against real servers
(``just test`` starts them; run alone under ``bash .ci/with-services.sh``).

The examples name their servers literally; the test points those names at its own: the
Redis port ``6379`` becomes the test server's, the host ``db.example.com`` becomes
``localhost``, and the PostgreSQL port and user come from ``PGPORT`` / ``PGUSER``, which
libpq reads when a config names none. Nothing else in the text changes. After each
example's own ``create_app`` a check (outside the seed's text) uses what it configured.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import pytest
import trio
from joserfc import jwt
from joserfc.jwk import OctKey

from pywatt.testing import open_module

from . import seed_text

pytestmark = pytest.mark.filterwarnings("ignore:Key size should be")

HEAD = """\
import logging

from pywatt import AnnouncedEndpoint, AppState, CacheType, DatabaseType, pywatt_module
from pywatt.wire import ChannelType

log = logging.getLogger("seed")


class MyUserState:
    pass

"""

CHECK = """

_seed_main = create_app.main


async def _checked(state: AppState[MyUserState]) -> None:  # not the seed's: the check
    await _seed_main(state)
    (row,) = await state.execute_query("SELECT current_database() AS name")
    await state.cache_set("seed-check", {"ok": True}, ttl=60)
    claims = await state.validate_jwt_token(TOKEN)
    log.info(
        "seed-check database=%s cache=%r jwt=%s channels=%s",
        row["name"], await state.cache_get("seed-check"), claims.sub,
        sorted(kind.name for kind in state.available_channels()),
    )


create_app.main = _checked
"""


def env(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        pytest.fail(f"{name} is not set: run these tests with `just test` (or under "
                    ".ci/with-services.sh)")  # fmt: skip
    return value


def create_database(name: str) -> None:
    with psycopg.connect(env("DATABASE_URL"), autocommit=True) as connection:
        exists = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        if exists.fetchone() is None:
            connection.execute(f'CREATE DATABASE "{name}"')


def token(key: str) -> str:
    claims = {"sub": "seed-user", "exp": int(time.time()) + 300}
    return jwt.encode({"alg": "HS256"}, claims, OctKey.import_key(key))


def module_text(example: str, key: str) -> str:
    return f"{HEAD}TOKEN = {token(key)!r}\n\n{example}{CHECK}"


async def test_basic_phase2_module_example(tmp_path: Path) -> None:
    create_database("myapp")
    redis_port = str(urlsplit(env("REDIS_URL")).port)
    example = seed_text.CONFIG_BASIC.replace('"port": 6379', f'"port": {redis_port}')
    path = tmp_path / "basic_example.py"
    path.write_text(module_text(example, "your-secret-key"))
    secrets = {"DATABASE_URL": env("DATABASE_URL"), "JWT_SECRET": "unused-by-this-example"}
    async with open_module(path, secrets=secrets) as module:
        with trio.fail_after(20):
            line = await module.handle.wait_stderr("seed-check ")
        assert [(e.path, e.methods, e.auth) for e in module.announce.endpoints] == [
            ("/users", ["GET", "POST"], "jwt"),
            ("/health", ["GET"], None),
        ]
    assert "seed-check database=myapp cache={'ok': True} jwt=seed-user" in line


async def test_advanced_configuration_example(tmp_path: Path) -> None:
    create_database("production")
    example = seed_text.CONFIG_ADVANCED.replace('"db.example.com"', '"localhost"')
    path = tmp_path / "advanced_example.py"
    key = "jwt-key-the-orchestrator-validates-with-0123"
    path.write_text(module_text(example, key))
    async with open_module(path, secrets={"JWT_SECRET": key}) as module:
        with trio.fail_after(20):
            line = await module.handle.wait_stderr("seed-check ")
            # The module registers after it announces (enable_module_registration).
            await module.handle.wait_stderr(f"module {module.id} registered as ")
            record = await module.orchestrator.registration(module.id)
            channels = await module.orchestrator.wait_channels(module.id, count=11)
    assert "seed-check database=production cache={'ok': True} jwt=seed-user" in line
    assert "channels=['IPC', 'TCP']" in line
    assert record is not None
    assert len(channels) >= 11  # pool_size 10 over TCP, and the Unix socket
