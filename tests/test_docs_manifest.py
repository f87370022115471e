"""docs/manifest.md cannot drift from the loader.

* Every ```toml block of the docs that describes modules is a manifest the real loader
  (``load_manifest``, what ``pywatt run`` uses) accepts, and the complete example on
  docs/manifest.md uses every key and means what the page says.
* Each table the loader reads has a section on the page (a heading naming it, such as
  ``[modules.<id>.channels]``) whose rows are exactly the keys the loader accepts there.
  The accepted keys are asked of the loader itself, by handing it an unknown key in that
  table and reading the list its error gives; they are the sets in
  ``pywatt/orchestrator/config/_manifest.py``.
* Every default the page gives as a TOML value is the value the loader fills in.
"""

from __future__ import annotations

import re
import sys
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from actors import Restart
from pywatt.orchestrator import Manifest, ManifestError, ModuleKind, ModuleSpec, load_manifest
from pywatt.orchestrator.config import _manifest as loader
from pywatt.wire import SecurityLevel

from .test_docs import DOCS, ROOT, _split

PAGE = ROOT / "docs" / "manifest.md"

# Where an unknown key goes to ask the loader what it accepts in each table.
TABLES: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "": lambda data: data,
    "orchestrator": lambda data: data.setdefault("orchestrator", {}),
    "orchestrator.tls": lambda data: data.setdefault("orchestrator", {}).setdefault("tls", {}),
    "modules.<id>": lambda data: data["modules"]["m"],
    "modules.<id>.backoff": lambda data: data["modules"]["m"].setdefault("backoff", {}),
    "modules.<id>.channels": lambda data: data["modules"]["m"].setdefault("channels", {}),
}

# The value the loader fills in for each key the page gives a TOML default for.
DEFAULTS: dict[tuple[str, str], Callable[[Manifest, ModuleSpec], object]] = {
    ("orchestrator", "grace"): lambda m, s: m.grace,
    ("orchestrator", "term_grace"): lambda m, s: m.term_grace,
    ("orchestrator", "heartbeat_interval"): lambda m, s: m.heartbeat_interval,
    ("modules.<id>", "args"): lambda m, s: list(s.argv[2:]),  # after python and the file
    ("modules.<id>", "env"): lambda m, s: dict(s.env),
    ("modules.<id>", "restart"): lambda m, s: s.restart.restart.value,
    ("modules.<id>", "max_restarts"): lambda m, s: s.restart.max_restarts,
    ("modules.<id>", "within"): lambda m, s: s.restart.within,
    ("modules.<id>", "depends_on"): lambda m, s: list(s.depends_on),
    ("modules.<id>.backoff", "first"): lambda m, s: s.restart.backoff.first,
    ("modules.<id>.backoff", "base"): lambda m, s: s.restart.backoff.base,
    ("modules.<id>.backoff", "multiplier"): lambda m, s: s.restart.backoff.multiplier,
    ("modules.<id>.backoff", "cap"): lambda m, s: s.restart.backoff.cap,
    ("modules.<id>.backoff", "jitter"): lambda m, s: s.restart.backoff.jitter,
    ("modules.<id>.channels", "tcp"): lambda m, s: s.channels.tcp,
    ("modules.<id>.channels", "ipc"): lambda m, s: s.channels.ipc,
    ("modules.<id>.channels", "tls"): lambda m, s: s.channels.tls,
    ("modules.<id>.channels", "required"): lambda m, s: s.channels.required,
}

SECTION = re.compile(r"^#{2,6}\s+`\[([^\]]+)\]`\s*$")
ROW = re.compile(r"^\|\s*`([^`]+)`\s*\|(.*)\|\s*$")
LITERAL = re.compile(r"^`([^`]+)`$")


def minimal() -> dict[str, Any]:
    return {"modules": {"m": {"command": "m.py"}}}


def accepted(table: str, tmp_path: Path) -> set[str]:
    """The keys the loader accepts in ``table``, from the error an unknown key gets."""
    (tmp_path / "m.py").touch()
    data = minimal()
    TABLES[table](data)["__probe__"] = 1
    with pytest.raises(ManifestError) as caught:
        loader.manifest_from_dict(data, source=str(tmp_path / "pywatt.toml"))
    assert caught.value.where.endswith(f"{table.replace('<id>', 'm')}.__probe__".lstrip("."))
    listing = re.fullmatch(r"unknown key \(expected one of: (.*)\)", caught.value.problem)
    assert listing is not None, caught.value.problem
    return set(listing.group(1).split(", "))


def documented() -> dict[str, dict[str, str]]:
    """Each section of the page (``""`` is "Top level") and its rows: key -> the cells after
    the key, as written."""
    sections: dict[str, dict[str, str]] = {}
    current: str | None = None
    for _, line in _split(PAGE)[0]:
        if line.startswith("#"):
            match = SECTION.match(line)
            current = match.group(1) if match else ("" if line == "## Top level" else None)
            if current is not None:
                sections.setdefault(current, {})
            continue
        row = ROW.match(line)
        if row and current is not None:
            sections[current][row.group(1)] = row.group(2)
    return sections


def toml_literal(cell: str) -> tuple[bool, object]:
    """(True, value) when ``cell`` is one TOML value in backticks, else (False, None)."""
    match = LITERAL.match(cell.strip())
    if match is None:
        return False, None
    try:
        return True, tomllib.loads(f"v = {match.group(1)}")["v"]
    except tomllib.TOMLDecodeError:
        return False, None  # a name, such as `client_cert_file`


def load_block(text: str, directory: Path) -> Manifest:
    """Load ``text`` as ``directory/pywatt.toml``, with each module's command made to exist."""
    for body in tomllib.loads(text).get("modules", {}).values():
        command = body["command"]
        first = command if isinstance(command, str) else command[0]
        path = directory / first
        path.parent.mkdir(parents=True, exist_ok=True)
        if first.endswith(".py"):
            path.write_text("")
        else:
            path.write_text("#!/bin/sh\n")
            path.chmod(0o755)
    manifest_file = directory / "pywatt.toml"
    manifest_file.write_text(text, encoding="utf-8")
    return load_manifest(str(manifest_file))


MANIFEST_BLOCKS = [
    pytest.param(text, id=f"{page.relative_to(ROOT)}:{start}")
    for page in DOCS
    for start, info, text in _split(page)[1]
    if info.split()[:1] == ["toml"] and "modules" in tomllib.loads(text)
]


def test_the_page_has_a_complete_example() -> None:
    assert any(str(param.id).startswith("docs/manifest.md:") for param in MANIFEST_BLOCKS)


@pytest.mark.parametrize("text", MANIFEST_BLOCKS)
def test_every_manifest_in_the_docs_loads(text: str, tmp_path: Path) -> None:
    load_block(text, tmp_path)


def test_the_complete_example_uses_every_key_and_means_what_the_page_says(
    tmp_path: Path,
) -> None:
    (text,) = [
        block for _, info, block in _split(PAGE)[1] if info == "toml" and "[orchestrator]" in block
    ]
    data = tomllib.loads(text)
    used: dict[str, set[str]] = {table: set() for table in TABLES}
    used[""] = set(data)
    used["orchestrator"] = set(data["orchestrator"])
    used["orchestrator.tls"] = set(data["orchestrator"]["tls"])
    for body in data["modules"].values():
        used["modules.<id>"] |= set(body)
        used["modules.<id>.backoff"] |= set(body.get("backoff", {}))
        used["modules.<id>.channels"] |= set(body.get("channels", {}))
    for table in TABLES:
        assert used[table] == accepted(table, tmp_path), table

    manifest = load_block(text, tmp_path)
    assert [spec.id for spec in manifest.start_order()] == ["users", "api", "billing"]
    users, api, billing = (next(s for s in manifest.modules if s.id == i) for i in data["modules"])
    assert manifest.secrets_file == str(tmp_path / "secrets.env")
    assert (manifest.gateway_host, manifest.gateway_port) == ("127.0.0.1", 8080)
    assert (manifest.grace, manifest.term_grace, manifest.heartbeat_interval) == (5, 5, 5)
    assert manifest.tls is not None
    assert manifest.tls.client_ca_file == str(tmp_path / "tls" / "ca.pem")
    assert users.argv == (sys.executable, str(tmp_path / "users.py"))
    assert users.secrets == ("DATABASE_URL",)
    assert users.env == {"LOG_LEVEL": "DEBUG"}
    assert (users.channels.tls, users.channels.security) == (True, SecurityLevel.MTLS)
    assert users.channels.required
    assert api.argv[2:] == ("--workers", "2", "--verbose")
    assert api.cwd == str(tmp_path / "data")
    assert (api.restart.restart, api.restart.max_restarts) == (Restart.TRANSIENT, None)
    assert api.restart.backoff.cap == 30
    assert api.depends_on == ("users",)
    assert (billing.kind, billing.secrets) == (ModuleKind.FOREIGN, None)
    assert billing.restart.restart is Restart.TEMPORARY
    assert billing.channels.security is SecurityLevel.NONE


def test_each_table_is_documented_with_exactly_the_keys_the_loader_accepts(
    tmp_path: Path,
) -> None:
    sections = documented()
    assert set(sections) == set(TABLES)
    for table in TABLES:
        assert set(sections[table]) == accepted(table, tmp_path), f"the section [{table}]"


def test_the_probed_keys_are_the_loaders_sets(tmp_path: Path) -> None:
    assert accepted("orchestrator", tmp_path) == loader._ORCHESTRATOR_KEYS
    assert accepted("orchestrator.tls", tmp_path) == loader._TLS_KEYS
    assert accepted("modules.<id>", tmp_path) == loader._MODULE_KEYS
    assert accepted("modules.<id>.backoff", tmp_path) == loader._BACKOFF_KEYS
    assert accepted("modules.<id>.channels", tmp_path) == loader._CHANNEL_KEYS


def test_every_default_given_as_a_value_is_the_loaders(tmp_path: Path) -> None:
    (tmp_path / "m.py").touch()
    manifest = loader.manifest_from_dict(minimal(), source=str(tmp_path / "pywatt.toml"))
    (spec,) = manifest.modules
    checked: set[tuple[str, str]] = set()
    for table, rows in documented().items():
        for key, cells in rows.items():
            columns = [cell.strip() for cell in cells.split("|")]
            if len(columns) < 3:
                continue  # the top level: key and meaning only
            is_value, value = toml_literal(columns[1])
            if is_value:
                assert (table, key) in DEFAULTS, f"no check for the default of [{table}] {key}"
                assert DEFAULTS[table, key](manifest, spec) == value, f"[{table}] {key}"
                checked.add((table, key))
    assert checked == set(DEFAULTS)
