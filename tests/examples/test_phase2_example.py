"""examples/phase2_example.py with its partner under the embedded orchestrator: database,
cache, JWT (and its key's rotation), discovery, registration and messaging, each used
through its HTTP API."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import trio
from joserfc import jwt
from joserfc.jwk import OctKey

from pywatt.orchestrator import Manifest, ModuleSpec, open_orchestrator

from ..http.prom import value

EXAMPLES = Path(__file__).parents[2] / "examples"
SECRET = "phase2-example-jwt-secret-0123456789abcdef"
ROTATED = "phase2-example-jwt-secret-rotated-fedcba987654"


def bearer(sub: str, secret: str = SECRET) -> dict[str, str]:
    claims = {"sub": sub, "exp": int(time.time()) + 120}
    return {
        "Authorization": f"Bearer {jwt.encode({'alg': 'HS256'}, claims, OctKey.import_key(secret))}"
    }


async def test_the_phase2_example_uses_every_feature(tmp_path: Path) -> None:
    specs = [
        ModuleSpec.from_command("phase2_example", str(EXAMPLES / "phase2_example.py"),
                                env={"PHASE2_DB": str(tmp_path / "users.db")}),
        ModuleSpec.from_command("analytics", str(EXAMPLES / "phase2_analytics.py")),
    ]  # fmt: skip
    manifest = Manifest(modules=specs, secrets={"JWT_SECRET": SECRET})
    with trio.fail_after(90):
        async with open_orchestrator(manifest, on_output=lambda line: None) as orch:
            users, analytics = orch.module("phase2_example"), orch.module("analytics")
            await users.wait_announced()
            await analytics.wait_announced()
            base = orch.orchestrator_api
            async with httpx.AsyncClient(base_url=base, timeout=10) as client:
                ada = {"name": "Ada", "email": "ada@example.com"}
                assert (await client.post("/users", json=ada)).status_code == 401
                created = await client.post("/users", json=ada, headers=bearer("admin"))
                assert created.status_code == 201
                assert created.json() == {"id": 1, "created_by": "admin", "users_created": 1}
                listed = await client.get("/users", headers=bearer("reader"))
                assert listed.json() == {
                    "users": [{"id": 1, "name": "Ada", "email": "ada@example.com"}],
                    "asked_by": "reader",
                }
                first, again = await client.get("/users/1"), await client.get("/users/1")
                assert (first.json()["cached"], again.json()["cached"]) == (False, True)
                await analytics.wait_stderr("analytics got user_created for user 1")
                stats = await client.get("/stats")
                assert stats.json() == {
                    "analytics_providers": 1,
                    "stats": [{"events": 1, "ada_known": True}],
                }
                metrics = await client.get(f"http://{users.announce.listen}/metrics")  # type: ignore[union-attr]
                assert metrics.status_code == 200
                # The same cache series as with Redis, from the memory backend; the SQLite pool.
                memory = {"cache": "cache", "backend": "memory"}
                assert value(metrics.text, "pywatt_cache_hits_total", **memory) == 1
                assert (value(metrics.text, "pywatt_cache_misses_total", **memory) or 0) >= 1
                assert value(metrics.text, "pywatt_db_pool_in_use", database="pywatt.db") == 0
                # The JWT key is the JWT_SECRET secret, reloaded when it rotates.
                assert (await orch.rotate("JWT_SECRET", ROTATED)).ok
                assert (await client.get("/users", headers=bearer("old"))).status_code == 401
                rotated = await client.get("/users", headers=bearer("new", ROTATED))
                assert rotated.json()["asked_by"] == "new"
            providers = {(p.name, p.service_type.name) for p in await orch.providers()}
            assert providers >= {("phase2_example", "user_management"), ("analytics", "analytics")}
            await users.wait_stderr("module phase2_example registered as ")
            record = await orch.registration("phase2_example")
    assert record is not None
    assert record.module.info.description == "users, the Phase 2 example"
    assert record.capabilities is not None
    assert "user_management" in str(record.capabilities.additional_capabilities)
