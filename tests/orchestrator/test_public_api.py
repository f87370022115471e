"""The public surface of pywatt.orchestrator and the pywatt.testing kit."""

from __future__ import annotations

from pathlib import Path

import trio

import pywatt.orchestrator as orchestrator
from pywatt.orchestrator import ModuleState
from pywatt.testing import ModuleUnderTest, module_fixture, open_module

from .helpers import RAW, events

EXPECTED = {
    "ChannelOptions", "ConnectionInfo", "HubStatistics", "ModuleEndpoints",
    "RegistrationRecord", "TlsFiles", "ModuleCallFailed", "GatewayUnavailable",
    "Console", "ConsoleLine", "ControlError", "Manifest", "ManifestError", "ModuleExited",
    "ModuleHandle", "ModuleKind", "ModuleNotRunning", "ModuleSpec", "ModuleState",
    "ModuleStatus", "NoSuchModule", "Orchestrator", "OrchestratorError", "PortUnavailable",
    "RestartPolicy", "RotationOutcome", "RotationResult", "SecretNotFound", "SecretsFileError",
    "TrafficRecord", "TreeUnavailable", "Verbosity", "default_run_dir", "load_env_file",
    "load_manifest", "DashboardSettings",
    "logging_sink", "main", "module_from_file", "open_orchestrator", "parse_env_text",
    "render_log_record", "run_standalone", "send_command", "stream_sink", "describe_exit",
}  # fmt: skip


def test_public_names_are_exactly_the_documented_ones() -> None:
    public = {name for name in dir(orchestrator) if not name.startswith("_")}
    assert public == EXPECTED == set(orchestrator.__all__)
    for name in EXPECTED:
        assert getattr(orchestrator, name).__module__.startswith("pywatt.orchestrator")


async def test_open_module_runs_a_module_file_for_a_test() -> None:
    with trio.fail_after(10):
        async with open_module(
            RAW,
            module_id="greeter",
            args=["--secret", "API_KEY", "--endpoint", "GET /hi"],
            secrets={"API_KEY": "key-one"},
            echo=lambda line: None,
        ) as module:
            assert module.announce.endpoints[0].path == "/hi"
            assert module.pid is not None
            result = await module.rotate("API_KEY", "key-two")
            assert result.ok
            await module.handle.wait_until(lambda h: len(events(h, "secret_ok")) == 2)
            await module.stop()
            assert module.handle.state is ModuleState.STOPPED
    assert module.restarts == 0
    assert any('"event": "announced"' in line for line in module.stderr_lines)
    assert "greeter stopped (exited with code 0)" in module.console_text()


greeter = module_fixture(
    Path(RAW), module_id="fixture-greeter", args=["--endpoint", "GET /f"], echo=lambda line: None
)


async def test_module_fixture_hands_the_test_a_running_module(greeter: ModuleUnderTest) -> None:
    assert greeter.id == "fixture-greeter"
    assert greeter.announce.endpoints[0].path == "/f"
    assert greeter.handle.state is ModuleState.RUNNING
