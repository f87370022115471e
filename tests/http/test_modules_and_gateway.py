"""Real FastAPI and Flask apps served by real modules under the embedded orchestrator:
direct HTTP to the module's server, through the gateway over IPC and over HTTP, JWT-protected
endpoints, /health and /metrics, and no token or key in any log line."""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import trio
from joserfc import jwt
from joserfc.jwk import OctKey

from actors import Backoff
from pywatt.orchestrator import Manifest, ModuleSpec, ModuleState, RestartPolicy, open_orchestrator
from pywatt.testing import ModuleUnderTest, open_module

from .prom import families, samples, value

MODULES = Path(__file__).parent / "modules"
SECRET = "jwt-secret-for-the-http-tests-0123456789"
LOGS: list[str] = []
TOKENS: list[str] = []


def token(**claims: object) -> str:
    payload = {"sub": "alice", "iss": "pywatt-tests", "exp": int(time.time()) + 120,
               "roles": ["reader"]}  # fmt: skip
    payload.update(claims)
    minted = jwt.encode({"alg": "HS256"}, payload, OctKey.import_key(SECRET))
    TOKENS.append(minted)
    return minted


@pytest.fixture(params=["fastapi_mod", "flask_mod"])
async def module(request: pytest.FixtureRequest) -> AsyncIterator[ModuleUnderTest]:
    async with open_module(MODULES / f"{request.param}.py", secrets={"JWT_SECRET": SECRET},
                           echo=lambda line: LOGS.append(line.render())) as running:  # fmt: skip
        yield running
        LOGS.extend(running.stderr_lines)


def bases(module: ModuleUnderTest) -> dict[str, str]:
    return {"direct": f"http://{module.announce.listen}",
            "gateway": module.orchestrator.orchestrator_api}  # fmt: skip


async def test_public_and_protected_endpoints_directly_and_through_the_gateway(
    module: ModuleUnderTest,
) -> None:
    framework = "flask" if module.id == "flask_mod" else "fastapi"
    async with httpx.AsyncClient(timeout=10) as client:
        for how, base in bases(module).items():
            reply = await client.get(f"{base}/public")
            assert reply.status_code == 200, how
            assert reply.json() == {"hello": "world", "framework": framework}, how
            reply = await client.get(f"{base}/private")
            assert reply.status_code == 401, how
            assert reply.json() == {"error": "Missing Authorization header"}
            assert reply.headers["www-authenticate"] == "Bearer"
            reply = await client.get(f"{base}/private",
                                     headers={"Authorization": f"Bearer {token()}"})  # fmt: skip
            assert reply.status_code == 200, how
            assert reply.json() == {"sub": "alice", "roles": ["reader"]}, how
            for bad, reason in ((token(exp=int(time.time()) - 600), "token expired"),
                                (token(iss="evil"), "invalid claim 'iss'"),
                                (token()[:-4] + "AAAA", "bad signature")):  # fmt: skip
                reply = await client.get(f"{base}/private",
                                         headers={"Authorization": f"Bearer {bad}"})  # fmt: skip
                assert reply.status_code == 401, (how, reason)
                assert reply.json() == {"error": f"Unauthorized: {reason}"}
                assert bad not in reply.text


async def test_bodies_queries_and_limits_reach_the_app_on_every_path(
    module: ModuleUnderTest,
) -> None:
    async with httpx.AsyncClient(timeout=10) as client:
        for how, base in bases(module).items():
            body = "héllo wörld".encode()
            reply = await client.post(f"{base}/echo?x=1&y=two", content=body,
                                      headers={"content-type": "text/plain"})  # fmt: skip
            assert reply.status_code == 200, how
            assert reply.json() == {"length": len(body), "text": "héllo wörld",
                                    "content_type": "text/plain",
                                    "query": {"x": "1", "y": "two"}}, how  # fmt: skip
            reply = await client.post(f"{base}/echo", content=b"x" * (64 * 1024 + 1))
            assert reply.status_code == 413, how


async def test_the_gateway_answers_404_405_for_unannounced_routes(
    module: ModuleUnderTest,
) -> None:
    gateway = module.orchestrator.orchestrator_api
    async with httpx.AsyncClient(timeout=10) as client:
        reply = await client.get(f"{gateway}/not-announced")
        assert reply.status_code == 404
        assert "no module serves GET /not-announced" in reply.json()["error"]
        reply = await client.delete(f"{gateway}/public")
        assert reply.status_code == 405
        assert reply.headers["allow"] == "GET"


async def test_the_gateway_answers_503_while_the_module_is_down_and_502_once_it_stopped() -> None:
    # The first restart waits a minute: the module stays down while the test looks.
    slow = RestartPolicy(backoff=Backoff(first=60, base=60, multiplier=1.0, cap=60, jitter=0.0))
    async with open_module(MODULES / "fastapi_mod.py", secrets={"JWT_SECRET": SECRET},
                           restart=slow) as module:  # fmt: skip
        gateway = module.orchestrator.orchestrator_api
        async with httpx.AsyncClient(timeout=10) as client:
            assert (await client.get(f"{gateway}/public")).status_code == 200
            assert module.pid is not None
            os.kill(module.pid, signal.SIGKILL)
            with trio.fail_after(30):
                await module.handle.wait_until(lambda h: h.state is ModuleState.RESTARTING)
            reply = await client.get(f"{gateway}/public")
            assert reply.status_code == 503
            assert reply.headers["retry-after"] == "1"
            assert reply.json() == {
                "error": "module 'fastapi_mod' serves /public but is restarting; retry shortly"
            }
            # a path nobody ever announced is still the gateway's own 404
            assert (await client.get(f"{gateway}/not-announced")).status_code == 404
            await module.stop()
            reply = await client.get(f"{gateway}/public")
            assert reply.status_code == 502
            assert reply.json() == {"error": "module 'fastapi_mod' serves /public but is stopped"}


async def test_health_and_metrics_reflect_the_modules_actors() -> None:
    async with open_module(MODULES / "fastapi_mod.py", secrets={"JWT_SECRET": SECRET},
                           echo=lambda line: LOGS.append(line.render())) as module:  # fmt: skip
        base = f"http://{module.announce.listen}"
        async with httpx.AsyncClient(timeout=10) as client:
            await client.get(f"{module.orchestrator.orchestrator_api}/public")  # via the gateway
            await client.get(f"{base}/boom")
            health = await client.get(f"{base}/health")
            assert health.status_code == 200
            report = health.json()
            assert report["status"] == "healthy"
            assert report["module_id"] == "fastapi_mod"
            assert report["actors"] >= 6
            assert report["restarting"] == []
            metrics = (await client.get(f"{base}/metrics")).text
        assert value(metrics, "pywatt_actor_up", actor="pywatt.http") == 1
        assert value(metrics, "pywatt_actor_mailbox_depth", actor="pywatt.link") is not None
        handled = [v for (name, _), v in samples(metrics).items()
                   if name == "pywatt_actor_handling_seconds_count"]  # fmt: skip
        assert handled
        assert all(v > 0 for v in handled)
        assert (value(metrics, "pywatt_actors", kind="HttpServer") or 0) >= 1
        assert value(metrics, "pywatt_dead_letters_total", reason="crashed") is not None
        assert "pywatt_actor_restarts" in families(metrics)
        # The gateway reaches a pywatt module over its pooled connections: HTTP.
        gateway = {"transport": "http", "method": "GET", "route": "/public", "status": "2xx"}
        assert value(metrics, "pywatt_http_requests_total", **gateway) == 1
        boom = {"transport": "http", "method": "GET", "route": "/boom", "status": "5xx"}
        assert value(metrics, "pywatt_http_requests_total", **boom) == 1
        # The module's router, secrets and channels are on the page too.
        assert value(metrics, "pywatt_router_in_flight", actor="pywatt.router") == 0
        assert value(metrics, "pywatt_secrets_misses_total", actor="pywatt.secrets") is not None
        assert value(metrics, "pywatt_channel_up", channel="pywatt.channels.ipc.0", kind="ipc")
        LOGS.extend(module.stderr_lines)


async def test_the_gateway_can_forward_over_http_to_the_modules_listen_address() -> None:
    spec = ModuleSpec.from_command("web", str(MODULES / "fastapi_mod.py"))
    manifest = Manifest(modules=[spec], secrets={"JWT_SECRET": SECRET}, grace=2, term_grace=2)
    async with open_orchestrator(manifest, on_output=lambda line: LOGS.append(line.render()),
                                 gateway_transport="http") as orch:  # fmt: skip
        with trio.fail_after(10):
            await orch.module("web").wait_announced()
        async with httpx.AsyncClient(timeout=10) as client:
            reply = await client.put(f"{orch.orchestrator_api}/items/7", json={"a": 1})
            assert reply.json() == {"item": 7, "body": {"a": 1}}
            reply = await client.get(f"{orch.orchestrator_api}/private",
                                     headers={"Authorization": f"Bearer {token()}"})  # fmt: skip
            assert reply.json()["sub"] == "alice"
        LOGS.extend(orch.stderr_lines("web"))
        traffic = [record.op for record in orch.module("web").traffic]
        assert "http_request" not in traffic  # it went over HTTP, not stdin


async def test_http_over_ipc_end_to_end_is_on_the_modules_stdio() -> None:
    spec = ModuleSpec.from_command("web", str(MODULES / "fastapi_mod.py"))
    manifest = Manifest(modules=[spec], secrets={"JWT_SECRET": SECRET}, grace=2, term_grace=2)
    async with open_orchestrator(manifest, on_output=lambda line: LOGS.append(line.render()),
                                 gateway_transport="ipc") as orch:  # fmt: skip
        with trio.fail_after(10):
            await orch.module("web").wait_announced()
        async with httpx.AsyncClient(timeout=10) as client:
            reply = await client.get(f"{orch.orchestrator_api}/items/41")
        assert reply.json() == {"item": 41}
        ops = [(r.direction, r.op) for r in orch.module("web").traffic]
        assert ("out", "http_request") in ops
        assert ("in", "http_response") in ops
        LOGS.extend(orch.stderr_lines("web"))


async def test_the_default_gateway_reaches_a_pywatt_module_over_http_not_its_stdio() -> None:
    async with open_module(MODULES / "fastapi_mod.py", secrets={"JWT_SECRET": SECRET},
                           echo=lambda line: LOGS.append(line.render())) as module:  # fmt: skip
        async with httpx.AsyncClient(timeout=10) as client:
            for n in range(5):  # one pooled connection, reused
                reply = await client.get(f"{module.orchestrator.orchestrator_api}/items/{n}")
                assert reply.json() == {"item": n}
        ops = [r.op for r in module.handle.traffic]
        assert "http_request" not in ops
        LOGS.extend(module.stderr_lines)


def test_zz_no_token_or_key_appears_in_any_captured_log() -> None:
    """Runs last in this file: every line the tests above captured (the modules' stderr and
    the orchestrator's console) is searched for every token minted and the key."""
    assert LOGS, "the tests above captured no log lines"
    assert TOKENS, "the tests above minted no tokens"
    text = "\n".join(LOGS)
    assert SECRET not in text
    for minted in TOKENS:
        for part in minted.split("."):
            assert part not in text or len(part) < 12, "a token leaked into the logs"
    json.dumps(LOGS)  # the lines are plain text


async def test_gateway_traffic_resumes_by_itself_after_the_module_is_killed_mid_traffic() -> None:
    """The gateway's pooled connections to a module die with its process: requests in the
    gap get a 502 or 503 (never a hang), and once the module is back (restarted by its policy, on
    the same port) the same gateway serves it again, on new connections."""
    spec = ModuleSpec.from_command("web", str(MODULES / "fastapi_mod.py"))
    manifest = Manifest(modules=[spec], secrets={"JWT_SECRET": SECRET}, grace=2, term_grace=2)
    async with open_orchestrator(manifest, on_output=lambda line: LOGS.append(line.render())
                                 ) as orch:  # fmt: skip
        handle = orch.module("web")
        with trio.fail_after(10):
            await handle.wait_announced()
        statuses: list[int] = []
        answered = [trio.Event()]

        async def served_ok(since: int, count: int) -> None:
            while statuses[since:].count(200) < count:
                await answered[0].wait()

        async with httpx.AsyncClient(timeout=10) as client:
            url = f"{orch.orchestrator_api}/items/1"

            async def traffic() -> None:
                while True:
                    statuses.append((await client.get(url)).status_code)
                    answered[0].set()
                    answered[0] = trio.Event()
                    await trio.sleep(0.01)

            async with trio.open_nursery() as nursery:
                nursery.start_soon(traffic)
                await served_ok(0, 5)
                first = handle.incarnation
                assert handle.pid is not None
                os.kill(handle.pid, signal.SIGKILL)
                with trio.fail_after(60):
                    await handle.wait_until(
                        lambda h: h.incarnation > first and h.state.value == "running"
                    )
                    await served_ok(len(statuses), 5)
                nursery.cancel_scope.cancel()
        # 502: a request the dying process took; 503: the module is down, back shortly.
        assert set(statuses) <= {200, 502, 503}, statuses
        LOGS.extend(orch.stderr_lines("web"))
