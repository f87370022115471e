"""The manifest, module specs, ``--secret`` flags and ``.env`` files: what is accepted and
the errors for what is not."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from actors import Backoff, Restart
from pywatt.orchestrator import (
    Manifest,
    ManifestError,
    ModuleKind,
    ModuleSpec,
    SecretsFileError,
    load_manifest,
    module_from_file,
    parse_env_text,
)
from pywatt.orchestrator.config._manifest import DEFAULT_BACKOFF, parse_secret_assignment

from .helpers import RAW


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_full_manifest_is_read_in_order_with_paths_relative_to_it(tmp_path: Path) -> None:
    (tmp_path / "greeter.py").write_text("")
    binary = write(tmp_path / "billing", "#!/bin/sh\n")
    binary.chmod(0o755)
    manifest = load_manifest(
        str(
            write(
                tmp_path / "pywatt.toml",
                """
[orchestrator]
secrets_file = ".env"
grace = 1.5
term_grace = 2

[modules.greeter]
command = "greeter.py"
secrets = ["API_KEY"]
env = { LOG = "debug" }
max_restarts = 2
within = 10
backoff = { first = 0.2, cap = 3 }

[modules.billing]
command = ["./billing", "--port-file", "p"]
args = ["--verbose"]
restart = "on-failure"
max_restarts = "unlimited"
""",
            )
        )
    )
    greeter, billing = manifest.modules
    assert manifest.secrets_file == str(tmp_path / ".env")
    assert (manifest.grace, manifest.term_grace) == (1.5, 2.0)
    assert greeter.id == "greeter"
    assert greeter.argv == (sys.executable, str(tmp_path / "greeter.py"))
    assert greeter.kind is ModuleKind.PYWATT
    assert greeter.secrets == ("API_KEY",)
    assert greeter.env == {"LOG": "debug"}
    assert greeter.restart.restart is Restart.PERMANENT
    assert (greeter.restart.max_restarts, greeter.restart.within) == (2, 10.0)
    assert greeter.restart.backoff == Backoff(
        first=0.2, base=DEFAULT_BACKOFF.base, multiplier=2.0, cap=3.0, jitter=0.1
    )
    assert billing.argv == (str(binary), "--port-file", "p", "--verbose")
    assert billing.kind is ModuleKind.FOREIGN
    assert billing.secrets is None
    assert billing.restart.restart is Restart.TRANSIENT
    assert billing.restart.max_restarts is None


A = '[modules.a]\ncommand = "a.py"\n'


@pytest.mark.parametrize(
    ("body", "where", "problem"),
    [
        (A + 'colour = "red"\n', "modules.a.colour", "unknown key"),
        ("[modules.a]\nsecrets = []\n", "modules.a", "missing key 'command'"),
        ('[modules.a]\ncommand = "nope.py"\n', "modules.a.command", "nope.py does not exist"),
        (A + 'kind = "rust"\n', "modules.a.kind", "'pywatt' or 'foreign'"),
        (A + "max_restarts = -1\n", "modules.a.max_restarts", "non-negative"),
        (A + 'secrets = "A"\n', "modules.a.secrets", "list of strings"),
        (A + 'secrets = ["bad name"]\n', "modules.a.secrets", "not a valid secret name"),
        (A + "within = 0\n", "modules.a.within", "must be positive"),
        (A + "backoff = { slow = 1 }\n", "modules.a.backoff.slow", "unknown key"),
        ('[modules."a b"]\ncommand = "a.py"\n', 'modules.a b', "a module id must be"),
        ('[orchestrator]\ngrace = "long"\n' + A, "orchestrator.grace", "non-negative number"),
        ("[orchestrator]\n", "pywatt.toml", "no modules"),
        ("modules = [", "pywatt.toml", "not valid TOML"),
        ('[modules.a]\ncommand = "missing-program-xyz"\n', "modules.a.command", "not on PATH"),
    ],
)  # fmt: skip
def test_manifest_errors_name_the_file_and_key(
    tmp_path: Path, body: str, where: str, problem: str
) -> None:
    (tmp_path / "a.py").write_text("")
    path = write(tmp_path / "pywatt.toml", body)
    with pytest.raises(ManifestError) as caught:
        load_manifest(str(path))
    message = str(caught.value)
    assert where in message
    assert problem in message


B = '[modules.b]\ncommand = "a.py"\n'


@pytest.mark.parametrize(
    ("body", "where", "problem"),
    [
        (A + 'depends_on = ["ledger"]\n', "modules.a.depends_on", "no module named 'ledger'"),
        (A + 'depends_on = ["a"]\n', "modules.a.depends_on", "a cycle: a -> a"),
        (A + 'depends_on = ["b"]\n' + B + 'depends_on = ["a"]\n', "modules.b.depends_on",
         "a cycle: a -> b -> a"),
        (A + 'depends_on = "b"\n' + B, "modules.a.depends_on", "list of strings"),
    ],
)  # fmt: skip
def test_depends_on_errors_name_the_key(
    tmp_path: Path, body: str, where: str, problem: str
) -> None:
    (tmp_path / "a.py").write_text("")
    path = write(tmp_path / "pywatt.toml", body)
    with pytest.raises(ManifestError) as caught:
        load_manifest(str(path))
    assert caught.value.where == f"{path}: {where}"
    assert problem in caught.value.problem


def test_depends_on_orders_the_start_after_the_modules_named(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("")
    body = "".join(
        f'[modules.{name}]\ncommand = "a.py"\ndepends_on = {deps}\n'
        for name, deps in [("web", '["api", "db"]'), ("api", '["db"]'), ("db", "[]"), ("x", "[]")]
    )
    manifest = load_manifest(str(write(tmp_path / "pywatt.toml", body)))
    assert [spec.id for spec in manifest.modules] == ["web", "api", "db", "x"]
    assert [spec.id for spec in manifest.start_order()] == ["db", "api", "web", "x"]
    assert manifest.modules[0].depends_on == ("api", "db")


def test_a_missing_manifest_is_reported() -> None:
    with pytest.raises(ManifestError, match="cannot read the manifest"):
        load_manifest("/nonexistent/pywatt.toml")


def test_module_from_file_takes_the_stem_as_id() -> None:
    spec = module_from_file(RAW)
    assert spec.id == "raw_module"
    assert spec.argv == (sys.executable, os.path.abspath(RAW))
    assert spec.kind is ModuleKind.PYWATT


def test_a_file_stem_that_is_not_an_id_asks_for_a_manifest(tmp_path: Path) -> None:
    bad = write(tmp_path / "my module.py", "")
    with pytest.raises(ManifestError, match="not a valid module id; name it in a manifest"):
        module_from_file(str(bad))


def test_a_non_executable_command_is_refused(tmp_path: Path) -> None:
    plain = write(tmp_path / "tool", "#!/bin/sh\n")
    with pytest.raises(ManifestError, match="is not executable"):
        ModuleSpec.from_command("tool", str(plain))


def test_duplicate_module_ids_are_refused() -> None:
    spec = module_from_file(RAW)
    with pytest.raises(ManifestError, match="two modules have the id 'raw_module'"):
        Manifest(modules=[spec, spec])


def test_manifest_repr_never_shows_secret_values() -> None:
    manifest = Manifest(modules=[module_from_file(RAW)], secrets={"K": "hunter2-value"})
    assert "hunter2-value" not in repr(manifest)


def test_secret_assignment_flags() -> None:
    assert parse_secret_assignment("API_KEY=a=b") == ("API_KEY", "a=b")
    assert parse_secret_assignment("EMPTY=") == ("EMPTY", "")
    with pytest.raises(ManifestError, match="expected NAME=VALUE"):
        parse_secret_assignment("API_KEY")
    with pytest.raises(ManifestError, match="not a valid secret name"):
        parse_secret_assignment("9BAD=x")


def test_env_file_syntax() -> None:
    text = """
# a comment
export PLAIN = plain value   # trailing comment
SINGLE='it''s # not a comment'
DOUBLE="line\\nbreak \\"quoted\\""
HASH=abc#def
EMPTY=
"""
    assert parse_env_text(text.replace("it''s", "its")) == {
        "PLAIN": "plain value",
        "SINGLE": "its # not a comment",
        "DOUBLE": 'line\nbreak "quoted"',
        "HASH": "abc#def",
        "EMPTY": "",
    }


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("JUST_A_NAME\n", ":1: expected KEY=VALUE"),
        ("A=1\nB='open\n", ":2: unterminated single quote"),
        ('A="open\n', ":1: unterminated double quote"),
        ("A='x' y\n", ":1: unexpected text after the closing quote"),
    ],
)
def test_env_file_errors_name_the_line_but_not_the_value(text: str, problem: str) -> None:
    with pytest.raises(SecretsFileError) as caught:
        parse_env_text(text, "dev.env")
    assert str(caught.value).startswith("dev.env")
    assert problem in str(caught.value)
    assert "open" not in str(caught.value)
