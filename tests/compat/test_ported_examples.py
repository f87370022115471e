"""The reference-SDK modules in examples/ported (imports changed to pywatt.compat) start and
answer under the embedded orchestrator: directly, through the gateway (the Flask one only
there: it binds no port), talking to each other, registered for discovery."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import trio
from joserfc import jwt
from joserfc.jwk import OctKey

from pywatt.orchestrator import Manifest, ModuleSpec, open_orchestrator

PORTED = Path(__file__).parents[2] / "examples" / "ported"
API_KEY = "notes-api-key-for-the-ported-test"
JWT_KEY = "inventory-jwt-key-for-the-ported-test-0123"


def token(sub: str) -> str:
    claims = {"sub": sub, "exp": int(time.time()) + 120}
    return jwt.encode({"alg": "HS256"}, claims, OctKey.import_key(JWT_KEY))


async def test_ported_modules_start_and_answer(tmp_path: Path) -> None:
    env = {"INVENTORY_JWT_KEY": JWT_KEY, "INVENTORY_DB": str(tmp_path / "inventory.db")}
    specs = [
        ModuleSpec.from_command("notes", str(PORTED / "notes_service.py")),
        ModuleSpec.from_command("inventory", str(PORTED / "inventory_service.py"), env=env),
        ModuleSpec.from_command("audit", str(PORTED / "audit_log.py")),
    ]
    manifest = Manifest(modules=specs, secrets={"NOTES_API_KEY": API_KEY})
    lines: list[str] = []
    with trio.fail_after(90):
        async with open_orchestrator(
            manifest, on_output=lambda line: lines.append(line.render())
        ) as orch:
            for spec in specs:
                await orch.module(spec.id).wait_announced()
            gateway = orch.orchestrator_api
            notes = f"http://{orch.module('notes').announce.listen}"  # type: ignore[union-attr]
            async with httpx.AsyncClient(timeout=10) as client:
                key = {"X-API-Key": API_KEY}
                reply = await client.post(f"{notes}/notes", json={"text": "hi"}, headers=key)
                assert (reply.status_code, reply.json()) == (201, {"id": 1, "text": "hi"})
                reply = await client.get(f"{gateway}/notes", headers=key)
                assert reply.json() == {"notes": [{"id": 1, "text": "hi"}]}
                wrong = await client.get(f"{gateway}/notes", headers={"X-API-Key": "nope"})
                assert wrong.status_code == 403
                assert (await client.get(f"{notes}/health")).status_code == 200

                item = {"sku": "A-1", "name": "anvil", "quantity": 3}
                refused = await client.post(f"{gateway}/items", json=item)
                assert refused.status_code == 401
                bearer = {"Authorization": f"Bearer {token('ada')}"}
                added = await client.post(f"{gateway}/items", json=item, headers=bearer)
                assert added.json() == {"sku": "A-1", "added_by": "ada"}
                listed = await client.get(f"{gateway}/items")
                assert listed.json() == {"items": [{"sku": "A-1", "name": "anvil", "quantity": 3}]}
                first = await client.get(f"{gateway}/items/A-1")
                again = await client.get(f"{gateway}/items/A-1")
                assert (first.json()["cached"], again.json()["cached"]) == (False, True)

                await orch.module("audit").wait_stderr("audit record")
                records = await client.get(f"{gateway}/audit/records")
                assert records.json() == {
                    "records": [{"action": "item_added", "sku": "A-1", "by": "ada"}]
                }
            providers = [(p.name, p.service_type.name) for p in await orch.providers()]
            assert ("inventory", "storage") in providers
            audit = orch.module("audit").announce
            assert audit is not None
            host, port = str(audit.listen).rsplit(":", 1)
            with trio.socket.socket() as probe:  # the Flask module binds nothing: IPC only
                try:
                    await probe.connect((host, int(port)))
                except OSError:
                    pass
                else:
                    raise AssertionError("the audit module listens though bind_http=False")
    text = "\n".join(lines)
    assert "notes service starting as notes" in text
    assert "cannot start" not in text
