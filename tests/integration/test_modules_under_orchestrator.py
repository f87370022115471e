"""Real pywatt modules as real processes under the embedded orchestrator."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import trio

from pywatt.orchestrator import ModuleState, RestartPolicy
from pywatt.testing import open_module
from pywatt.wire import EXIT_CANNOT_START, EndpointAnnounce

from .conftest import EXAMPLES, MODULES, ROOT, remember

FAST = RestartPolicy(max_restarts=2, within=30.0)


async def test_handshake_secret_fetch_and_announce() -> None:
    secrets = {"GREETING": "integration-hello-1"}
    async with open_module(EXAMPLES / "greeter.py", secrets=secrets) as module:
        assert module.announce.endpoints == [EndpointAnnounce(path="/greet", methods=["GET"])]
        await module.handle.wait_stderr("fetched secret GREETING: version 1")
        remember(secrets, module.console_text())


async def test_a_rotation_is_refetched_picked_up_and_acked() -> None:
    secrets = {"GREETING": "integration-hello-2"}
    async with open_module(EXAMPLES / "greeter.py", secrets=secrets) as module:
        result = await module.rotate("GREETING", "integration-rotated-2")
        assert result.ok
        assert result.outcomes[module.id].status == "success"
        await module.handle.wait_stderr("picked up rotated secret GREETING: version 2")
        remember({"new": "integration-rotated-2", **secrets}, module.console_text())


async def test_an_unknown_secret_fails_the_module_fast_with_a_clear_error() -> None:
    async with open_module(
        MODULES / "needs_secret.py",
        restart=RestartPolicy(max_restarts=0, within=30.0),
        wait_announced=None,
    ) as module:
        with trio.fail_after(20):
            await module.handle.wait_stderr("secret 'MISSING_SECRET' not found")
            # A restart cannot make the secret appear: the module is not restarted.
            await module.handle.wait_until(lambda h: h.state is ModuleState.FAILED)
        assert module.restarts == 0
        assert module.handle.last_exit == EXIT_CANNOT_START
        remember({}, module.console_text())


async def test_a_crashed_module_is_restarted(tmp_path: object) -> None:
    env = {"FLAKY_STATE_DIR": str(tmp_path)}
    async with open_module(EXAMPLES / "flaky.py", env=env, restart=FAST) as module:
        with trio.fail_after(20):
            await module.handle.wait_stderr("restarted after the crash")
        assert module.restarts == 1
        remember({}, module.console_text())


async def test_a_module_that_keeps_crashing_is_given_up_on() -> None:
    async with open_module(
        MODULES / "crashes_at_start.py",
        restart=RestartPolicy(max_restarts=1, within=30.0),
        wait_announced=None,
    ) as module:
        with trio.fail_after(20):
            await module.handle.wait_until(lambda h: h.state is ModuleState.GAVE_UP)
        assert module.restarts == 1
        assert "gave up on crashes_at_start" in module.console_text()


async def test_an_actor_crashing_inside_a_module_is_restarted_while_the_module_stays_up() -> None:
    async with open_module(MODULES / "fragile_actor.py") as module:
        with trio.fail_after(20):
            await module.handle.wait_stderr("worker incarnation 2 serving")
        assert module.restarts == 0
        assert module.handle.state is ModuleState.RUNNING
        assert "worker fault on purpose" in module.console_text()


async def test_shutdown_stops_the_tree_in_reverse_and_exits_cleanly() -> None:
    async with open_module(EXAMPLES / "greeter.py", secrets={"GREETING": "bye-now-1"}) as module:
        await module.stop()
        text = module.console_text()
        assert "module greeter shutting down: the orchestrator asked" in text
        assert "module greeter stopped cleanly" in text
        assert module.handle.last_exit == 0


def _spawn_module(path: str, **kwargs: object) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYWATT_EMBEDDED": "1", "PYWATT_MODULE_ID": "raw"}
    return subprocess.Popen(
        [sys.executable, path],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        cwd=ROOT,
        **kwargs,  # type: ignore[call-overload]
    )


INIT = (
    b'{"orchestrator_api":"http://127.0.0.1:9","module_id":"raw","env":{},'
    b'"listen":"127.0.0.1:4102","security_level":"None"}\n'
)


def test_eof_on_stdin_shuts_a_module_down_cleanly() -> None:
    process = _spawn_module(str(MODULES / "fragile_actor.py"))
    assert process.stdin is not None
    assert process.stdout is not None
    process.stdin.write(INIT)
    process.stdin.flush()
    announce = process.stdout.readline()
    assert announce.startswith(b'{"op":"announce"')
    process.stdin.close()
    assert process.wait(timeout=20) == 0
    assert b"the orchestrator closed stdin" in process.stderr.read()  # type: ignore[union-attr]


def test_malformed_stdin_lines_are_logged_and_do_not_stop_the_module() -> None:
    process = _spawn_module(str(EXAMPLES / "greeter.py"))
    assert process.stdin is not None
    assert process.stdout is not None
    process.stdin.write(INIT)
    process.stdin.write(b"{not json\n")
    process.stdin.write(b'{"op":"secret","name":"GREETING"}\n')  # no value
    process.stdin.flush()
    assert process.stdout.readline() == b'{"op":"get_secret","name":"GREETING"}\n'
    process.stdin.write(b'{"op":"secret","name":"GREETING","value":"after-garbage-1"}\n')
    process.stdin.flush()
    assert process.stdout.readline().startswith(b'{"op":"announce"')
    process.stdin.write(b'{"op":"shutdown"}\n')
    process.stdin.flush()
    assert process.wait(timeout=20) == 0
    stderr = process.stderr.read().decode()  # type: ignore[union-attr]
    assert stderr.count("ignored a malformed stdin line") == 2
    assert "missing field `value`" in stderr
    remember({"v": "after-garbage-1"}, stderr)


def test_a_module_run_directly_starts_its_own_orchestrator() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYWATT_")}
    env["GREETING"] = "standalone-hello-1"
    process = subprocess.Popen(
        [sys.executable, str(EXAMPLES / "greeter.py"), "--secret", "GREETING", "--no-control"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=env,
        cwd=ROOT,
    )
    assert process.stdout is not None
    lines: list[str] = []
    for raw in process.stdout:
        lines.append(raw.decode())
        if "greeter is up" in lines[-1]:
            break
    process.send_signal(signal.SIGTERM)
    rest, _ = process.communicate(timeout=30)
    text = "".join(lines) + rest.decode()
    assert "no orchestrator on stdin; starting the embedded orchestrator" in text
    assert "fetched secret GREETING: version 1" in text
    assert "all modules stopped" in text
    remember({"GREETING": "standalone-hello-1"}, text)
