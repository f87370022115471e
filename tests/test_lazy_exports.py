"""The lazily exported packages: the TYPE_CHECKING imports (what type checkers see) and
the table handed to ``attach`` (what runs) name the same things, and every name resolves."""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LAZY = [
    "pywatt",
    "pywatt.orchestrator",
    "pywatt.cache",
    "pywatt.discovery",
    "pywatt.http",
    "pywatt.testing",
    "pywatt.security",
    "pywatt.metrics",
]


def _type_checking_names(package: str) -> dict[str, str]:
    path = ROOT / package.replace(".", "/") / "__init__.py"
    tree = ast.parse(path.read_text())
    names: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING":
            for stmt in node.body:
                assert isinstance(stmt, ast.ImportFrom)
                for alias in stmt.names:
                    assert alias.asname == alias.name
                    names[alias.name] = "." * stmt.level + (stmt.module or "")
    return names


@pytest.mark.parametrize("package", LAZY)
def test_the_lazy_table_matches_the_type_checking_imports(package: str) -> None:
    module = importlib.import_module(package)
    declared = _type_checking_names(package)
    assert sorted(declared) == sorted(module.__all__)
    for name, source in declared.items():
        value = getattr(module, name)
        origin = importlib.import_module(source, package)
        assert value is getattr(origin, name)


def test_an_unknown_name_is_an_attribute_error() -> None:
    import pywatt

    with pytest.raises(AttributeError, match="has no attribute 'nope'"):
        _ = pywatt.nope  # type: ignore[attr-defined]


def test_the_command_line_does_not_load_trio() -> None:
    code = (
        "import sys; from pywatt.orchestrator import main\n"
        "try:\n    main(['--version'])\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in ('trio', 'cattrs', 'msgpack', 'actors') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip().splitlines()[-1] == "[]"
