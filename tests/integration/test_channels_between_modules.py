"""Real module processes talking over channels through the embedded orchestrator: requests
over TCP and Unix sockets, a listener killed mid-traffic, a Rust-SDK peer, TLS and the auth
token, registration and discovery."""

from __future__ import annotations

import json
import ssl
from pathlib import Path
from typing import Any

import pytest
import trio
import trustme

from pywatt.channels import declaration_frame
from pywatt.orchestrator import (
    ChannelOptions,
    ModuleKind,
    ModuleSpec,
    TlsFiles,
)
from pywatt.wire import ModuleDeclaration, SecurityLevel

from .conftest import MODULES
from .helpers import orchestrated

PEER = str(MODULES / "peer.py")


def parse_summary(line: str) -> dict[str, Any]:
    start = line.index("summary ") + len("summary ")
    decoder = json.JSONDecoder()
    value, _ = decoder.raw_decode(line[start:].replace('\\"', '"'))
    assert isinstance(value, dict)
    return value


async def test_three_modules_request_each_other_over_tcp_and_unix_sockets() -> None:
    # Through the orchestrator, on the kind of channel each prefers (no direct lines:
    # tests/integration/test_direct_lines.py has those).
    off = {"PYWATT_DIRECT_LINES": "0"}
    specs = [
        ModuleSpec.from_command("a", PEER, env={"PEER_CALLS": "b,c", "PEER_ROUNDS": "5", **off}),
        ModuleSpec.from_command(
            "b", PEER,
            env={"PEER_CALLS": "a,c", "PEER_ROUNDS": "5", "PEER_PREFER": "tcp_only", **off},
        ),
        ModuleSpec.from_command(
            "c", PEER,
            env={"PEER_CALLS": "a,b", "PEER_ROUNDS": "5", "PEER_PREFER": "ipc_only", **off},
        ),
    ]  # fmt: skip
    with trio.fail_after(30):
        async with orchestrated(*specs) as (orch, _lines):
            for module_id in "abc":
                line = await orch.module(module_id).wait_stderr("summary")
                counts = parse_summary(line)
                assert counts == {"error": 0, "errors": {}, "ok": 10, "sent": 10}, line
            for module_id, other in (("a", "b"), ("b", "c"), ("c", "a")):
                await orch.module(module_id).wait_stderr(
                    f"remote-error {other} type=KeyError module={other}"
                )
            channels = {m: {c.kind: c for c in await orch.channels(m)} for m in "abc"}
            assert all(set(kinds) == {"tcp", "ipc"} for kinds in channels.values())
            # b asks over TCP only, c over the Unix socket only (its own 12 requests at least).
            assert channels["b"]["tcp"].frames_in >= 12
            assert channels["c"]["ipc"].frames_in >= 12
            for _ in range(40):  # heartbeats every 0.5 s: their round trip is measured
                (tcp,) = [c for c in await orch.channels("b") if c.kind == "tcp"]
                if tcp.latency_ms is not None:
                    break
                await trio.sleep(0.1)
            assert tcp.latency_ms is not None
            stats = await orch.routing_statistics()
            assert stats.routed >= 36
            assert stats.late_replies == 0
            # pywatt modules, both ways: requests and replies went in the binary form
            # (a module's first request may go as JSON, before its router has a writer).
            assert stats.binary >= stats.routed


async def test_a_killed_listener_reconnects_and_every_request_gets_exactly_one_outcome() -> None:
    env = {  # through the listeners, the subject here: no direct line
        "PYWATT_DIRECT_LINES": "0",
        "PEER_CALLS": "b", "PEER_ROUNDS": "300", "PEER_CONCURRENCY": "4",
        "PEER_PAUSE": "0.004", "PEER_TIMEOUT": "5",
    }  # fmt: skip
    specs = [ModuleSpec.from_command("b", PEER), ModuleSpec.from_command("a", PEER, env=env)]
    with trio.fail_after(40):
        async with orchestrated(*specs) as (orch, _lines):
            a = orch.module("a")
            await a.wait_stderr("outcome ok b 20 ")
            await orch.kill_listener("b")
            await orch.kill_listener("a")
            line = await a.wait_stderr("summary")
            counts = parse_summary(line)
            assert counts["sent"] == 300
            assert counts["ok"] + counts["error"] == 300  # none hangs
            # ModuleUnavailable: b had no open channel at the orchestrator for a moment.
            expected = {"RequestInterrupted", "RemoteError", "ModuleUnavailable", "NoChannel"}
            assert set(counts["errors"]) <= expected
            assert "RequestTimeout" not in counts["errors"]
            # After the kill the channels came back and requests went on succeeding.
            ok_after = [text for text in a.stderr if "outcome ok b 29" in text]
            assert ok_after, "no request succeeded after the listeners were killed"
            await orch.wait_channels("a", 2)
            await orch.wait_channels("b", 2)
            assert any("channel pywatt.channels.tcp.0 lost" in text for text in a.stderr)
            assert any("connected to" in text for text in list(a.stderr)[5:])


async def test_a_peer_speaking_only_the_rust_sdk_forms_interoperates() -> None:
    greeter = ModuleSpec.from_command("greeter_peer", str(MODULES / "greeter_peer.py"))
    rust = ModuleSpec.from_command(
        "rust_peer",
        str(MODULES / "rust_peer.py"),
        kind=ModuleKind.FOREIGN,
        env={"RUST_TARGET": "greeter_peer"},
        channels=ChannelOptions(security=SecurityLevel.NONE),  # it sends no token, over TCP
    )
    with trio.fail_after(30):
        async with orchestrated(greeter, rust) as (orch, lines):
            assert any("[rust_peer] INSECURE: the TCP channel of rust_peer" in t for t in lines)
            await orch.module("greeter_peer").wait_announced()
            await orch.wait_channels("greeter_peer", 2)
            line = await orch.module("rust_peer").wait_stderr("reply from greeter_peer")
            assert 'same-id=True value={"greeting": "hello rust"}' in line
            (rust_conn,) = await orch.channels("rust_peer")
            assert not rust_conn.pywatt  # it declared nothing, and got no extension


# -- TLS and the auth token --------------------------------------------------------------------


def _tls_files(tmp: Path) -> tuple[trustme.CA, TlsFiles]:
    ca = trustme.CA()
    server = ca.issue_cert("127.0.0.1")
    client = ca.issue_cert("module@pywatt")
    paths = {name: str(tmp / f"{name}.pem") for name in ("ca", "cert", "key", "ccert", "ckey")}
    ca.cert_pem.write_to_path(paths["ca"])
    server.cert_chain_pems[0].write_to_path(paths["cert"])
    server.private_key_pem.write_to_path(paths["key"])
    client.cert_chain_pems[0].write_to_path(paths["ccert"])
    client.private_key_pem.write_to_path(paths["ckey"])
    return ca, TlsFiles(
        cert_file=paths["cert"], key_file=paths["key"], ca_file=paths["ca"],
        client_cert_file=paths["ccert"], client_key_file=paths["ckey"],
    )  # fmt: skip


async def _tls_client(port: int, context: ssl.SSLContext) -> trio.SSLStream[trio.SocketStream]:
    stream = trio.SSLStream(
        await trio.open_tcp_stream("127.0.0.1", port), context, server_hostname="127.0.0.1"
    )
    await stream.do_handshake()
    return stream


async def _closed_by_peer(stream: trio.abc.Stream) -> bool:
    """The orchestrator ended the connection (without TLS close_notify, or with it)."""
    try:
        return await stream.receive_some(100) == b""
    except (trio.BrokenResourceError, ssl.SSLError):
        return True


async def test_tls_and_the_auth_token_on_module_channels(tmp_path: Path) -> None:
    _ca, files = _tls_files(tmp_path)
    secure = ChannelOptions(tls=True, security=SecurityLevel.TOKEN, ipc=False)
    mtls = ChannelOptions(tls=True, security=SecurityLevel.MTLS, ipc=False)
    specs = [
        ModuleSpec.from_command("plain", PEER),
        ModuleSpec.from_command(
            "secure", PEER, env={"PEER_CALLS": "plain,mutual"}, channels=secure
        ),
        ModuleSpec.from_command("mutual", PEER, env={"PEER_CALLS": "plain"}, channels=mtls),
    ]
    with trio.fail_after(30):
        async with orchestrated(*specs, tls=files) as (orch, lines):
            for module_id in ("secure", "mutual"):
                counts = parse_summary(await orch.module(module_id).wait_stderr("summary"))
                assert counts["error"] == 0
                assert counts["ok"] > 0
            blob = orch.module("secure").init_blob
            assert blob is not None
            assert blob.tcp_channel is not None
            assert blob.tcp_channel.tls_enabled
            assert blob.security_level is SecurityLevel.TOKEN
            assert blob.auth_token == orch.endpoints("secure").token
            assert orch.module("plain").init_blob.tcp_channel.tls_enabled is False  # type: ignore[union-attr]
            (secure_conn,) = await orch.channels("secure")
            assert secure_conn.pywatt

            port = orch.endpoints("secure").tcp_port
            assert port is not None
            trusting = ssl.create_default_context(cafile=files.ca_file)
            # A wrong auth token in the first frame: the connection is refused.
            stream = await _tls_client(port, trusting)
            wrong = ModuleDeclaration(version="0.1.0", auth_token="not-the-token")
            await stream.send_all(declaration_frame(wrong))
            assert await _closed_by_peer(stream)
            # No token at all: refused too.
            stream = await _tls_client(port, trusting)
            await stream.send_all(declaration_frame(ModuleDeclaration(version="0.1.0")))
            assert await _closed_by_peer(stream)
            # A client certificate signed by another CA: the handshake is refused (Mtls).
            rogue = trustme.CA().issue_cert("rogue@pywatt")
            rogue_context = ssl.create_default_context(cafile=files.ca_file)
            rogue.configure_cert(rogue_context)
            mutual_port = orch.endpoints("mutual").tcp_port
            assert mutual_port is not None
            try:
                stream = await _tls_client(mutual_port, rogue_context)
                await stream.send_all(b"\x00")
                assert await _closed_by_peer(stream)
            except trio.BrokenResourceError:
                pass  # refused during the handshake
            await trio.sleep(0.2)
            text = "\n".join(lines)
            assert "refused a tcp connection for secure: a wrong or missing auth token" in text
            assert "refused a TLS connection for mutual" in text
            assert orch.endpoints("secure").token not in text


# -- registration and discovery ----------------------------------------------------------------


@pytest.mark.slow
async def test_registration_capabilities_health_discovery_and_updates() -> None:
    provider = str(MODULES / "provider.py")
    late = {"PROVIDE_AFTER": "1.5"}  # after the watcher has subscribed
    specs = [
        ModuleSpec.from_command("watcher", provider, env={"WATCH": "1"}),
        ModuleSpec.from_command(
            "search1", provider,
            env={"PROVIDE": "fast-search", "PROVIDE_CAPS": "fulltext", **late},
        ),
        ModuleSpec.from_command("search2", provider, env={"PROVIDE": "slow-search", **late}),
        ModuleSpec.from_command(
            "finder", provider, env={"DISCOVER": "1", "DISCOVER_AT_LEAST": "2"}
        ),
    ]  # fmt: skip
    with trio.fail_after(40):
        async with orchestrated(*specs) as (orch, _lines):
            watcher = orch.module("watcher")
            await watcher.wait_stderr("update appeared fast-search")
            await watcher.wait_stderr("update appeared slow-search")
            found = await orch.module("finder").wait_stderr("discovered")
            assert "discovered ['fast-search']" in found  # capability matching
            providers = {p.name: p for p in await orch.providers()}
            assert providers["fast-search"].metadata["capabilities"] == "fulltext"
            assert providers["fast-search"].module_id == "search1"
            assert providers["fast-search"].version == "1.2"
            # Registration comes after the announce, independently of discovery: wait for it.
            await orch.module("search1").wait_stderr("module search1 registered as")
            record = await orch.registration("search1")
            assert record is not None
            assert record.module.info.description == "a search module"
            caps = record.capabilities
            assert caps is not None
            assert caps.additional_capabilities is not None
            assert caps.additional_capabilities["streaming"] is True
            assert caps.additional_capabilities["websocket"] is False
            assert caps.additional_capabilities["custom"] == ["search"]
            while record is None or record.heartbeats < 2:  # polls the hub's own record
                await trio.sleep(0.05)  # (bounded by the fail_after above)
                record = await orch.registration("search1")
            assert record.health is not None
            assert record.health.value == "Healthy"
            await orch.stop_module("search1")
            assert await orch.registration("search1") is None  # unregistered on shutdown
            await watcher.wait_stderr("update left fast-search")
