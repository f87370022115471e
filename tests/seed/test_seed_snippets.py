"""Each "Usage Examples" snippet of the seed, verbatim (``pywatt_sdk`` renamed ``pywatt``),
inside a real module under the embedded orchestrator: database (SQLite), cache (in memory),
messaging and discovery between three modules, JWT middleware in a FastAPI module. The
configuration examples, which need PostgreSQL and Redis, are in
``test_seed_config_examples.py``.

Around each snippet a module file is written: imports and the setup a snippet assumes
(tables, ``user_data``, peers being up) before it, one ``seed-check`` log line of what it
produced after it.
"""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest
import trio
from joserfc import jwt
from joserfc.jwk import OctKey

from pywatt.orchestrator import Manifest, ModuleSpec, open_orchestrator
from pywatt.testing import open_module

from . import seed_text
from .seed_text import indented

HEAD = """\
import logging

import trio

from pywatt import AnnouncedEndpoint, AppState, CacheType, DatabaseType, ServiceType
from pywatt import JwtConfig, extract_jwt_claims, pywatt_module

log = logging.getLogger("seed")
"""


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_the_snippets_are_the_seeds_with_the_package_renamed() -> None:
    for name, text in seed_text.ALL.items():
        assert "pywatt_sdk" not in text, name
    assert "from pywatt.security import create_jwt_middleware" in seed_text.JWT_SETUP


async def test_database_and_cache_snippets_in_a_module(tmp_path: Path) -> None:
    database = tmp_path / "app.db"
    body = f"""{HEAD}

@pywatt_module(database_config={{"type": "sqlite", "path": {str(database)!r}}}, enable_cache=True)
async def create_app(state: AppState[None]) -> None:
    await state.execute_query("CREATE TABLE users (name TEXT, active BOOLEAN)")
    await state.execute_query("CREATE TABLE logs (action TEXT)")
    user_data = {{"name": "Alice", "email": "alice@example.com"}}
{indented(seed_text.DATABASE)}
{indented(seed_text.CACHE)}
    after = await state.execute_query("SELECT name FROM users")
    actions = await state.execute_query("SELECT action FROM logs")
    log.info("seed-check database users=%r then %r %r", users, after, actions)
    log.info("seed-check cache user=%r exists=%r new_count=%r", user, exists, new_count)
"""
    async with open_module(write(tmp_path / "data_snippets.py", body)) as module:
        text = module.console_text()
    assert (
        "seed-check database users=[] then [{'name': 'Alice'}] [{'action': 'user_created'}]" in text
    )
    assert (
        "seed-check cache user={'name': 'Alice', 'email': 'alice@example.com'} exists=True "
        "new_count=1" in text
    )


PEERS_UP = """\
    for _ in range(100):  # the peers start beside this module: wait until both answer
        try:
            await state.send_request("config:get_setting", {"key": "ping"}, timeout=1)
            if await state.discover_service_providers(ServiceType.ANALYTICS):
                break
        except Exception:
            pass
        await trio.sleep(0.1)
"""

ANALYTICS = f"""{HEAD}

@pywatt_module()
async def create_app(state: AppState[None]) -> None:
    def user_event(event: dict) -> None:
        log.info("seed-check analytics got %r", event)

    await state.serve("user_event", user_event)
    await state.register_service_provider(ServiceType.ANALYTICS, {{"version": "2.0.0"}})
"""

CONFIG = f"""{HEAD}

@pywatt_module()
async def create_app(state: AppState[None]) -> None:
    def get_setting(request: dict) -> dict:
        return {{"key": request["key"], "value": 1000}}

    await state.serve("get_setting", get_setting)
"""


async def test_messaging_and_discovery_snippets_between_three_modules(tmp_path: Path) -> None:
    app = f"""{HEAD}

@pywatt_module()
async def create_app(state: AppState[None]) -> None:
{PEERS_UP}
{indented(seed_text.MESSAGING)}
{indented(seed_text.DISCOVERY)}
    log.info("seed-check config=%r", config)
    names = [(p.name, p.service_type.name) for p in analytics_providers]
    log.info("seed-check analytics providers=%r", names)
"""
    specs = [
        ModuleSpec.from_command("analytics", str(write(tmp_path / "analytics_mod.py", ANALYTICS))),
        ModuleSpec.from_command("config", str(write(tmp_path / "config_mod.py", CONFIG))),
        ModuleSpec.from_command("app", str(write(tmp_path / "app_mod.py", app))),
    ]
    lines: list[str] = []
    with trio.fail_after(60):
        async with open_orchestrator(
            Manifest(modules=specs), on_output=lambda line: lines.append(line.render())
        ) as orch:
            await orch.module("app").wait_stderr("seed-check analytics providers=")
            await orch.module("analytics").wait_stderr("seed-check analytics got")
            providers = {(p.name, p.service_type.name) for p in await orch.providers()}
    text = "\n".join(lines)
    assert "seed-check config={'key': 'max_users', 'value': 1000}" in text
    assert "seed-check analytics got {'event': 'login', 'user_id': 123}" in text
    assert "seed-check analytics providers=[('analytics', 'analytics')]" in text
    assert ("app", "user_management") in providers


def token(key: str, **claims: object) -> str:
    payload: dict[str, object] = {"sub": "alice", "exp": int(time.time()) + 120, **claims}
    return jwt.encode({"alg": "HS256"}, payload, OctKey.import_key(key))


@pytest.mark.filterwarnings("ignore:Key size should be")  # the seed's key is short
async def test_jwt_snippet_guards_a_fastapi_module(tmp_path: Path) -> None:
    body = f"""{HEAD}
from fastapi import FastAPI, Request

app = FastAPI()

{seed_text.JWT_SETUP}

@app.get("/me")
async def me(request: Request) -> dict:
{indented(seed_text.JWT_HANDLER)}
    return {{"user_id": user_id}}


@pywatt_module(endpoints=[AnnouncedEndpoint(path="/me", methods=["GET"])])
async def create_app(state: AppState[None]) -> FastAPI:
    return app
"""
    async with (
        open_module(write(tmp_path / "jwt_snippet.py", body)) as module,
        httpx.AsyncClient(base_url=f"http://{module.announce.listen}", timeout=10) as client,
    ):
        reply = await client.get("/me")
        assert (reply.status_code, reply.json()) == (401, {"error": "Missing Authorization header"})
        good = {"Authorization": f"Bearer {token('your-secret')}"}
        reply = await client.get("/me", headers=good)
        assert (reply.status_code, reply.json()) == (200, {"user_id": "alice"})
        forged = {"Authorization": f"Bearer {token('not-the-secret')}"}
        assert (await client.get("/me", headers=forged)).status_code == 401
