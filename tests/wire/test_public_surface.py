"""The public surface of ``pywatt.wire``: what the benchmark and later issues rely on."""

from __future__ import annotations

import ast
from pathlib import Path

import pywatt.wire as w

REQUIRED = {
    "encode_json",
    "decode_json",
    "encode_msgpack",
    "decode_msgpack",
    "encode_bincode",
    "decode_bincode",
    "ModuleToOrchestrator",
    "OrchestratorToModule",
    "Message",
    "MessageMetadata",
    "EncodedMessage",
    "Frame",
    "FrameFormat",
    "FrameDecoder",
    "encode_frame",
    "NEED_DATA",
    "LineDecoder",
    "encode_line",
    "DiscoveryUpdate",
    "SecretError",
    "LocalProtocolError",
    "RemoteProtocolError",
    "DecodeError",
}


def test_benchmark_and_issue_names_are_exported() -> None:
    missing = {n for n in REQUIRED if not hasattr(w, n)}
    assert not missing


def test_every_error_class_of_the_package_is_exported() -> None:
    tree = ast.parse((Path(w.__file__).parent / "_errors.py").read_text())
    classes = {n.name for n in tree.body if isinstance(n, ast.ClassDef)}
    assert classes <= set(dir(w))
    for name in classes:
        assert issubclass(getattr(w, name), w.WireError)


def test_wire_package_imports_no_io_or_clock() -> None:
    banned = {"trio", "socket", "time", "asyncio", "datetime", "os", "select"}
    for path in Path(w.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names = {node.module.split(".")[0]}
            else:
                continue
            assert not names & banned, (path.name, names & banned)


def test_every_op_variant_is_registered_under_its_tag() -> None:
    m2o = set(w.ModuleToOrchestrator.VARIANTS)
    o2m = set(w.OrchestratorToModule.VARIANTS)
    assert {"heartbeat_ack", "route_to_module", "identify"} <= m2o
    assert {"init", "heartbeat", "discovery_update", "secret_error"} <= o2m
    assert not m2o & o2m
