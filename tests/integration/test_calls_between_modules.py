"""Typed errors between real modules under the embedded orchestrator: a module that is down,
one that does not exist, an endpoint nobody serves, a handler that raises and an actor that
crashes; ``state.wait_for_module``; a module calling its own endpoints; ``depends_on``.

The module ``caller.py`` runs the steps it is asked to (``orch.request(id, "run", steps)``) and
answers each outcome with the exception's class names, so every check reads what the caller
could ``except``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
import trio

from pywatt.orchestrator import (
    ConsoleLine,
    Manifest,
    ModuleCallFailed,
    ModuleKind,
    ModuleSpec,
    ModuleState,
    Orchestrator,
    load_manifest,
    open_orchestrator,
)

from ..orchestrator.helpers import raw
from .conftest import MODULES, remember

CALLER = str(MODULES / "caller.py")


@asynccontextmanager
async def orchestrated(*specs: ModuleSpec) -> AsyncIterator[Orchestrator]:
    lines: list[str] = []

    def keep(line: ConsoleLine) -> None:
        lines.append(f"[{line.module}] {line.text}")

    manifest = Manifest(modules=specs, heartbeat_interval=0.5, grace=2.0, term_grace=1.0)
    async with open_orchestrator(manifest, on_output=keep) as orch:
        yield orch
    remember({}, *lines)


def caller(module_id: str, **env: str) -> ModuleSpec:
    return ModuleSpec.from_command(module_id, CALLER, env=env)


def down(module_id: str) -> ModuleSpec:
    """A module of the manifest that never opens a channel (a Rust-like raw module)."""
    return raw(module_id, kind=ModuleKind.FOREIGN)


async def run(orch: Orchestrator, module_id: str, steps: list[dict[str, Any]]) -> Any:
    """Have ``module_id`` run ``steps``; its outcomes, one per step."""
    await orch.module(module_id).wait_announced()
    await orch.wait_channels(module_id)
    return await orch.request(module_id, "run", steps)


async def test_a_call_to_a_module_that_is_down_raises_module_unavailable() -> None:
    with trio.fail_after(30):
        async with orchestrated(caller("a"), down("c")) as orch:
            await orch.module("c").wait_announced()
            (result,) = await run(orch, "a", [{"call": "c:echo", "payload": 1}])
    assert result["error"] == "ModuleUnavailable"
    assert "RemoteError" in result["classes"]
    assert result["message"] == "module 'c' is not running (no open channel)"
    assert (result["error_type"], result["module"], result["endpoint"]) == (
        "ModuleUnavailable", "c", "echo",
    )  # fmt: skip


async def test_a_call_to_an_unknown_module_raises_no_such_module() -> None:
    with trio.fail_after(30):
        async with orchestrated(caller("a")) as orch:
            (result,) = await run(orch, "a", [{"call": "nosuchmodule:echo", "payload": 1}])
    assert result["error"] == "NoSuchModule"
    assert "RemoteError" in result["classes"]
    assert result["message"] == "no module named 'nosuchmodule'"
    assert "raised" not in result["message"]


async def test_an_endpoint_the_module_does_not_serve_raises_no_such_endpoint() -> None:
    with trio.fail_after(30):
        async with orchestrated(caller("a"), caller("b")) as orch:
            await orch.module("b").wait_announced()
            (result,) = await run(orch, "a", [{"call": "b:nope", "payload": 1}])
    assert result["error"] == "NoSuchEndpoint"
    assert "RemoteError" in result["classes"]
    assert result["message"] == "module 'b' has no endpoint 'nope'"


async def test_a_handler_that_raises_is_a_remote_crash_with_its_type_and_message() -> None:
    with trio.fail_after(30):
        async with orchestrated(caller("a"), caller("b")) as orch:
            await orch.module("b").wait_announced()
            raised, crashed, after = await run(
                orch,
                "a",
                [
                    {"call": "b:fail", "payload": 1},
                    {"call": "b:crash", "payload": {"value": 1}},
                    {"call": "b:echo", "payload": "still there"},
                ],
            )
    assert raised["error"] == "RemoteCrash"
    assert "RemoteError" in raised["classes"]
    assert raised["message"] == "module 'b' endpoint 'fail' failed: ValueError: bad input"
    assert (raised["error_type"], raised["remote_message"]) == ("ValueError", "bad input")
    # The actor behind the endpoint crashed: the caller hears that, and why.
    assert crashed["error"] == "RemoteCrash"
    assert crashed["error_type"] == "ActorCrashed"
    assert crashed["message"] == (
        "module 'b' endpoint 'crash' crashed: actor 'cruncher' crashed while handling Job: "
        "ValueError: bad input"
    )
    assert after == {"ok": {"from": "b", "echo": "still there"}}


async def test_a_module_calls_its_own_endpoints() -> None:
    with trio.fail_after(30):
        async with orchestrated(caller("a")) as orch:
            echoed, failed, missing, noted, reachable = await run(
                orch,
                "a",
                [
                    {"call": "a:echo", "payload": {"n": 1}},
                    {"call": "a:fail", "payload": 1},
                    {"call": "a:nope", "payload": 1},
                    {"notify": "a:note", "payload": "to myself"},
                    {"wait": "a", "timeout": 5},
                ],
            )
    assert echoed == {"ok": {"from": "a", "echo": {"n": 1}}}
    assert failed["error"] == "RemoteCrash"
    assert failed["message"] == "module 'a' endpoint 'fail' failed: ValueError: bad input"
    assert missing["message"] == "module 'a' has no endpoint 'nope'"
    assert noted == {"ok": "to myself"}
    assert reachable == {"ok": "reachable"}


async def test_wait_for_module_returns_once_the_module_has_announced() -> None:
    with trio.fail_after(40):
        async with orchestrated(caller("a"), caller("b", CALLER_HOLD="1")) as orch:
            b = orch.module("b")
            await b.wait_stderr("holding until told to go")  # a channel, but not announced
            assert b.announce is None
            async with trio.open_nursery() as nursery:
                outcomes: list[Any] = []

                async def steps() -> None:
                    outcomes.extend(
                        await run(orch, "a", [{"wait": "b", "timeout": 20}, {"call": "b:echo"}])
                    )

                nursery.start_soon(steps)
                await orch.module("a").wait_stderr("waiting for b")
                assert b.announce is None
                assert await orch.request("b", "go", None) == "going"
            assert outcomes == [{"ok": "reachable"}, {"ok": {"from": "b", "echo": None}}]


async def test_wait_for_module_raises_typed_errors() -> None:
    with trio.fail_after(30):
        async with orchestrated(caller("a"), down("c")) as orch:
            await orch.module("c").wait_announced()
            unknown, timed_out = await run(
                orch, "a", [{"wait": "nosuchmodule"}, {"wait": "c", "timeout": 0.5}]
            )
    assert unknown["error"] == "NoSuchModule"
    assert unknown["message"] == "no module named 'nosuchmodule'"
    assert timed_out["error"] == "ModuleUnavailable"
    assert "RemoteError" in timed_out["classes"]
    assert timed_out["message"] == (
        "module 'c' did not become reachable within 0.5 s (no open channel, or it has not "
        "announced)"
    )


async def test_depends_on_starts_a_module_after_the_modules_it_depends_on_announced(
    tmp_path: Path,
) -> None:
    manifest_path = tmp_path / "pywatt.toml"
    manifest_path.write_text(
        f"""
[orchestrator]
grace = 2

[modules.b]
command = {str(CALLER)!r}
env = {{ CALLER_AT_START = "a:echo" }}
depends_on = ["a"]

[modules.a]
command = {str(CALLER)!r}
env = {{ CALLER_HOLD = "1" }}
"""
    )
    manifest = load_manifest(str(manifest_path))
    assert [spec.id for spec in manifest.modules] == ["b", "a"]
    assert manifest.modules[0].depends_on == ("a",)
    lines: list[str] = []
    with trio.fail_after(40):
        async with open_orchestrator(manifest, on_output=lambda ln: lines.append(ln.text)) as orch:
            a, b = orch.module("a"), orch.module("b")
            await a.wait_stderr("holding until told to go")  # a runs, has not announced
            assert a.announce is None
            assert (b.state, b.pid) == (ModuleState.WAITING, None)
            # a's channels are open on its side; wait until the hub has admitted them too.
            await orch.wait_channels("a", 2)
            assert await orch.request("a", "go", None) == "going"
            line = await b.wait_stderr("at-start")
            assert "at-start ok" in line, line
            assert [m.id for m in orch.modules] == ["a", "b"]  # and b stops first
    remember({}, *lines)


async def test_an_orchestrator_request_over_the_frame_limit_streams_an_unencodable_fails() -> None:
    """17 MiB of JSON (over the frame limit) go to a pywatt module in a stream and come back
    in one (docs/streams.md); a value with no JSON form fails that request alone."""
    with trio.fail_after(60):
        async with orchestrated(caller("a")) as orch:
            await orch.module("a").wait_announced()
            before = [c.label for c in await orch.wait_channels("a")]
            big = ["x" * (17 * 1024 * 1024)]
            assert await orch.request("a", "echo", big) == {"from": "a", "echo": big}
            with pytest.raises(ModuleCallFailed) as unencodable:
                await orch.request("a", "run", [object()])
            assert unencodable.value.error_type == "EncodeError"
            # the hub and the module serve on, on the same channel
            assert await run(orch, "a", []) == []
            assert [c.label for c in await orch.channels("a")] == before
