"""Spawning and the startup handshake (docs/protocol.md §3): InitBlob, environment, announce."""

from __future__ import annotations

import trio

from pywatt.logs import REDACTED
from pywatt.orchestrator import ModuleKind, ModuleState
from pywatt.wire import InitBlob, SocketAddress, decode_json

from .helpers import raw, running, wait_event


async def test_pywatt_module_gets_initblob_with_declaration_and_announces() -> None:
    with trio.fail_after(10):
        async with running(raw("greeter", "--endpoint", "GET /hello")) as run:
            greeter = run.orch.module("greeter")
            announce = await greeter.wait_announced()
            (init_event,) = await wait_event(greeter, "init")
            status = greeter.status()
    init = init_event["init"]
    blob = greeter.init_blob
    assert blob is not None
    # What the module read is exactly what we recorded, and it is a valid InitBlob; the auth
    # token it holds is redacted from its output like a secret.
    assert init["auth_token"] == REDACTED
    assert blob.auth_token == run.orch.endpoints("greeter").token
    assert decode_json(_compact({**init, "auth_token": blob.auth_token}), InitBlob) == blob
    assert init["module_id"] == "greeter"
    assert init["orchestrator_api"] == run.orch.orchestrator_api
    assert run.orch.orchestrator_api.startswith("http://127.0.0.1:")
    assert isinstance(blob.listen, SocketAddress)
    assert str(blob.listen.ip) == "127.0.0.1"
    assert blob.listen.port > 0
    assert init["security_level"] == "Token"  # by default: nobody connects as it without
    # Each module gets its own channel endpoints (docs/architecture.md, decision 3).
    endpoints = run.orch.endpoints("greeter")
    assert init["tcp_channel"] == {
        "address": f"127.0.0.1:{endpoints.tcp_port}",
        "tls_enabled": False,
        "required": False,
    }
    assert init["ipc_channel"] == {"socket_path": endpoints.socket_path, "required": False}
    assert set(init["env"]) == {
        "PYWATT_ORCHESTRATOR",
        "PYWATT_FORMATS",
        "PYWATT_HEARTBEAT_INTERVAL",
        "PYWATT_EVENTS",
        "PYWATT_CANCELS",  # it forwards a caller's cancel to the callee
        "PYWATT_LINES",  # it grants direct lines between pywatt modules
        "PYWATT_SPANS",  # the dashboard is on: it takes the module's spans
    }
    assert init_event["env_module_id"] == "greeter"
    assert init_event["env_embedded"] == "1"
    assert announce.listen == init["listen"]
    assert [(e.path, e.methods) for e in announce.endpoints] == [("/hello", ["GET"])]
    assert status.endpoints == ("GET /hello",)
    assert status.listen == init["listen"]
    assert status.state == "running"
    assert f"greeter is up: listening on {init['listen']}; endpoints: GET /hello" in run.text()
    assert greeter.state is ModuleState.STOPPED


async def test_foreign_module_gets_no_pywatt_keys() -> None:
    with trio.fail_after(10):
        async with running(raw("billing", kind=ModuleKind.FOREIGN)) as run:
            billing = run.orch.module("billing")
            await billing.wait_announced()
            (init_event,) = await wait_event(billing, "init")
    assert init_event["init"]["env"] == {}
    assert init_event["init"]["security_level"] == "None"  # a Rust module ignores it anyway
    assert "auth_token" not in init_event["init"]
    assert "tcp_channel" not in init_event["init"]  # it could not send the token
    assert init_event["env_module_id"] == "billing"


async def test_each_module_gets_its_own_listen_port_and_the_same_api() -> None:
    with trio.fail_after(10):
        async with running(raw("a"), raw("b"), raw("c")) as run:
            handles = run.orch.modules
            for handle in handles:
                await handle.wait_announced()
            blobs = [h.init_blob for h in handles]
    assert all(b is not None for b in blobs)
    ports = {b.listen.port for b in blobs if b is not None and isinstance(b.listen, SocketAddress)}
    assert len(ports) == 3
    assert {b.orchestrator_api for b in blobs if b is not None} == {run.orch.orchestrator_api}


def _compact(value: object) -> bytes:
    import json

    return json.dumps(value, separators=(",", ":")).encode()
