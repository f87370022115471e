"""The hub keeps what modules and listeners told it: a registration heartbeat with a token of
any characters is answered without crashing it, and a hub crashed mid-traffic goes on routing
between two real module processes by itself."""

from __future__ import annotations

import json
from typing import Any

import trio

from pywatt.channels import declaration_frame, encode_module_frame
from pywatt.orchestrator import ModuleSpec, Orchestrator
from pywatt.wire import (
    NEED_DATA,
    FrameDecoder,
    HealthStatus,
    HeartbeatRequest,
    Message,
    ModuleDeclaration,
    ModuleInfo,
    RegistrationRequest,
)

from .conftest import MODULES
from .test_channels_between_modules import orchestrated, parse_summary

PEER = str(MODULES / "peer.py")


async def _response(stream: trio.abc.Stream, decoder: FrameDecoder, kind: str) -> dict[str, Any]:
    """The next bare ``<kind>`` response the orchestrator writes (heartbeats skipped)."""
    while True:
        frame = decoder.next_frame()
        if frame is NEED_DATA:
            data = await stream.receive_some(65536)
            assert data, "the orchestrator closed the connection"
            decoder.feed(data)
            continue
        body = json.loads(frame.payload)
        if body.get("response_type") == kind:
            return body  # type: ignore[no-any-return]


async def _as_module(orch: Orchestrator, module_id: str) -> trio.SocketStream:
    """A raw connection on the module's own Unix socket, declared with its token."""
    endpoints = orch.endpoints(module_id)
    assert endpoints.socket_path is not None
    stream = await trio.open_unix_socket(endpoints.socket_path)
    declared = ModuleDeclaration(version="0.1.0", auth_token=endpoints.token)
    await stream.send_all(declaration_frame(declared))
    return stream


def _traffic(rounds: int) -> dict[str, str]:
    # Through the hub, the subject here: no direct line between the modules.
    return {
        "PYWATT_DIRECT_LINES": "0",
        "PEER_CALLS": "b", "PEER_ROUNDS": str(rounds), "PEER_CONCURRENCY": "4",
        "PEER_PAUSE": "0.004", "PEER_TIMEOUT": "5",
    }  # fmt: skip


async def test_a_heartbeat_token_that_is_not_ascii_does_not_break_routing() -> None:
    specs = [
        ModuleSpec.from_command("b", PEER),
        ModuleSpec.from_command("a", PEER, env=_traffic(200)),
        ModuleSpec.from_command("c", PEER),  # the intruder's connection speaks as c
    ]
    with trio.fail_after(40):
        async with orchestrated(*specs) as (orch, lines):
            a = orch.module("a")
            await a.wait_stderr("outcome ok b 20 ")
            stream = await _as_module(orch, "c")
            decoder = FrameDecoder()
            info = ModuleInfo(name="intruder", version="1.0.0", description="")
            await stream.send_all(
                encode_module_frame(
                    RegistrationRequest(module_info=info), as_type=Message[RegistrationRequest]
                )
            )
            registered = await _response(stream, decoder, "register")
            module_id = registered["module"]["id"]
            for token in ("tök-ñ", "🔑", registered["module"]["token"] + "é"):
                heartbeat = HeartbeatRequest(
                    module_id=module_id, token=token, status=HealthStatus.HEALTHY
                )
                await stream.send_all(
                    encode_module_frame(heartbeat, as_type=Message[HeartbeatRequest])
                )
                answer = await _response(stream, decoder, "heartbeat")
                assert answer["success"] is False
                assert answer["error"] == "unknown module id or token"
            counts = parse_summary(await a.wait_stderr("summary"))
            assert counts["sent"] == 200
            assert counts["error"] == 0, counts
            assert not any("internal error in actor pywatt.hub" in line for line in lines)
            await stream.aclose()


async def test_a_crashed_hub_goes_on_routing_between_two_modules_by_itself() -> None:
    specs = [
        ModuleSpec.from_command("b", PEER),
        ModuleSpec.from_command("a", PEER, env=_traffic(300)),
    ]
    with trio.fail_after(40):
        async with orchestrated(*specs) as (orch, lines):
            a = orch.module("a")
            await a.wait_stderr("outcome ok b 20 ")
            before = await orch.routing_statistics()
            await orch.kill_hub()
            counts = parse_summary(await a.wait_stderr("summary"))
            assert counts["sent"] == 300
            assert counts["error"] == 0, counts  # nothing queued at the hub was lost either
            # What listeners and modules told the crashed incarnation is still known.
            assert {c.kind for c in await orch.channels("b")} == {"tcp", "ipc"}
            assert {c.kind for c in await orch.channels("a")} == {"tcp", "ipc"}
            after = await orch.routing_statistics()
            assert after.routed >= before.routed + 250
            await orch.kill_hub()  # once more, with nothing in flight
            assert await orch.request("b", "echo", {"i": 1}) == {"from": "b", "echo": {"i": 1}}
            assert sum("internal error in actor pywatt.hub: HubKilled" in t for t in lines) == 2


async def test_a_hub_crashed_again_and_again_is_back_at_once_every_time() -> None:
    specs = [ModuleSpec.from_command("b", PEER)]
    with trio.fail_after(40):
        # Heartbeats at the default pace: this test is about the hub, and a loaded machine
        # that starves b for 1.5 s must not close its channels in between.
        async with orchestrated(*specs, heartbeat_interval=5.0) as (orch, _lines):
            await orch.module("b").wait_announced()
            await orch.wait_channels("b", 2)
            for _ in range(12):
                await orch.kill_hub()
                # Not after a backoff grown to seconds: all routing waits while it is down.
                with trio.fail_after(1.0):
                    assert await orch.request("b", "echo", {"i": 2}) == {
                        "from": "b", "echo": {"i": 2}
                    }  # fmt: skip
