"""The HTTP gateway's address: ``pywatt run --host/--port``, the manifest's ``gateway`` key,
and one line with exit status 1 when the port is taken. Each test runs the ``pywatt``
command as a process and reaches the gateway over a real socket."""

from __future__ import annotations

import signal
import socket
from pathlib import Path

import httpx
import pytest
import trio

from pywatt.orchestrator import ManifestError
from pywatt.orchestrator.config._manifest import parse_gateway_address

from .helpers import RAW
from .test_cli import Background, background, pywatt


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


async def gateway_answers(base: str) -> dict[str, object]:
    """What the gateway itself says for a path no module serves (a 404 of its own)."""
    async with httpx.AsyncClient(timeout=10) as client:
        reply = await client.get(f"{base}/no-such-path")
    assert reply.status_code == 404
    body: dict[str, object] = reply.json()
    return body


async def stop(run: Background) -> None:
    run.process.send_signal(signal.SIGINT)
    with trio.fail_after(15):
        await run.process.wait()
    assert run.process.returncode == 130, run.output  # stopped by Ctrl-C, as any program


async def test_run_serves_the_gateway_on_the_port_given(tmp_path: Path) -> None:
    port = free_port()
    async with background("run", RAW, "--no-control", "--port", str(port)) as run:
        await run.wait_for("raw_module is up")
        line = f"pywatt: HTTP gateway on http://127.0.0.1:{port} (HTTP/1.1 to pywatt modules, "
        assert line + "IPC to foreign ones)" in run.output
        # The module was told the same address.
        assert f'"orchestrator_api": "http://127.0.0.1:{port}"' in run.output
        assert await gateway_answers(f"http://127.0.0.1:{port}") == {
            "error": "no module serves GET /no-such-path"
        }
        await stop(run)


async def test_run_serves_the_gateway_on_the_host_given() -> None:
    port = free_port("127.0.0.2")  # all of 127/8 is this machine (Linux)
    async with background("run", RAW, "--no-control", "--host", "127.0.0.2",
                          "--port", str(port)) as run:  # fmt: skip
        await run.wait_for("raw_module is up")
        assert f"HTTP gateway on http://127.0.0.2:{port} " in run.output
        await gateway_answers(f"http://127.0.0.2:{port}")
        with pytest.raises(httpx.ConnectError):
            await gateway_answers(f"http://127.0.0.1:{port}")
        await stop(run)


async def test_the_manifest_gateway_key_sets_the_address(tmp_path: Path) -> None:
    port = free_port()
    manifest = tmp_path / "pywatt.toml"
    manifest.write_text(
        f'[orchestrator]\ngateway = "127.0.0.1:{port}"\n\n[modules.app]\ncommand = {RAW!r}\n'
    )
    async with background("run", "--manifest", str(manifest), "--no-control") as run:
        await run.wait_for("app is up")
        assert f"HTTP gateway on http://127.0.0.1:{port} " in run.output
        await gateway_answers(f"http://127.0.0.1:{port}")
        await stop(run)


async def test_a_port_in_use_is_one_line_and_exit_status_1() -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        with trio.fail_after(20):
            result = await pywatt("run", RAW, "--no-control", "--port", str(port))
    assert result.returncode == 1
    assert result.stderr.decode() == (
        f"pywatt: error: cannot serve the HTTP gateway on 127.0.0.1:{port}: the port is in use; "
        "choose another with --port (or the manifest's gateway key), or stop what holds it\n"
    )
    assert b"raw_module started" not in result.stdout  # no module was started


@pytest.mark.parametrize(
    ("value", "parsed"),
    [("0.0.0.0:8080", ("0.0.0.0", 8080)), ("[::1]:80", ("::1", 80)), (":9000", ("127.0.0.1", 9000)),
     (8081, ("127.0.0.1", 8081))],
)  # fmt: skip
def test_gateway_addresses_in_the_manifest(value: object, parsed: tuple[str, int]) -> None:
    assert parse_gateway_address(value, "pywatt.toml: orchestrator.gateway") == parsed


@pytest.mark.parametrize(
    ("value", "problem"),
    [("8080", 'expected "HOST:PORT"'), ("::1:80", "put an IPv6 host in brackets: [::1]:80"),
     ("host:99999", "the port must be a number from 0 to 65535, not '99999'"),
     (True, 'expected "HOST:PORT"')],
)  # fmt: skip
def test_bad_gateway_addresses_name_the_key(value: object, problem: str) -> None:
    with pytest.raises(ManifestError) as caught:
        parse_gateway_address(value, "pywatt.toml: orchestrator.gateway")
    assert str(caught.value).startswith("pywatt.toml: orchestrator.gateway: ")
    assert problem in str(caught.value)
