"""Tracebacks a real Python prints, folded to one line (and kept whole with -v)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from pywatt.orchestrator.console._tracebacks import FoldedTraceback, TracebackFolder

PROGRAMS = {
    "import": ("import pywatt_no_such_package\n", "ModuleNotFoundError", 1),
    "chained": (
        "try:\n    {}['a']\nexcept KeyError as e:\n    raise ValueError('bad') from e\n",
        "ValueError",
        4,
    ),
    "during": ("try:\n    1 / 0\nexcept Exception:\n    undefined_name\n", "NameError", 4),
    "group": ("raise ExceptionGroup('g', [ValueError('v'), KeyError('k')])\n", "ValueError", 1),
    "syntax": ("def f(:\n    pass\n", "SyntaxError", 1),
    "multiline": ("raise RuntimeError('first\\n\\tsecond')\n", "RuntimeError", 1),
}


def _stderr_of(tmp_path: Path, name: str) -> list[str]:
    program = tmp_path / f"{name}.py"
    program.write_text(PROGRAMS[name][0])
    done = subprocess.run([sys.executable, str(program)], capture_output=True, text=True)
    assert done.returncode == 1
    return done.stderr.splitlines()


def _fold(lines: list[str], *, verbose: bool = False) -> tuple[list[object], TracebackFolder]:
    folder = TracebackFolder(verbose=verbose)
    out: list[object] = []
    for line in lines:
        out.extend(folder.feed(line))
    out.extend(folder.flush())
    return out, folder


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_a_traceback_between_plain_lines_is_one_summary(tmp_path: Path, name: str) -> None:
    out, folder = _fold(["before", *_stderr_of(tmp_path, name), "after"])
    assert out[0] == "before"
    assert out[-1] == "after"
    assert len(out) == 3, out
    folded = out[1]
    assert isinstance(folded, FoldedTraceback)
    _, exception, line = PROGRAMS[name]
    assert folded.exception == exception
    assert (folded.file, folded.line) == (str(tmp_path / f"{name}.py"), line)
    assert folded.summary().endswith(f" (at {name}.py:{line}; -v shows the traceback)")
    assert folder.last == folded


def test_the_summary_names_the_exception_and_its_message(tmp_path: Path) -> None:
    out, _ = _fold(_stderr_of(tmp_path, "import"))
    assert [o.summary() for o in out if isinstance(o, FoldedTraceback)] == [
        "ModuleNotFoundError: No module named 'pywatt_no_such_package' "
        "(at import.py:1; -v shows the traceback)"
    ]
    out, _ = _fold(_stderr_of(tmp_path, "group"))
    assert isinstance(out[0], FoldedTraceback)
    assert out[0].message == "v (and 1 more in the group)"


def test_verbose_passes_every_line_and_still_remembers(tmp_path: Path) -> None:
    lines = ["before", *_stderr_of(tmp_path, "chained"), "after"]
    out, folder = _fold(lines, verbose=True)
    assert out == lines
    assert folder.last is not None
    assert folder.last.exception == "ValueError"


def test_a_log_record_after_a_traceback_ends_it() -> None:
    lines = [
        "Traceback (most recent call last):",
        '  File "m.py", line 3, in f',
        '{"level": "INFO"}',
    ]
    out, _ = _fold(lines)
    assert isinstance(out[0], FoldedTraceback)
    assert out[0].message == "(incomplete)"
    assert out[1] == '{"level": "INFO"}'


def test_a_quiet_stream_ends_a_finished_traceback_only_when_flushed(tmp_path: Path) -> None:
    folder = TracebackFolder()
    shown = [part for line in _stderr_of(tmp_path, "import") for part in folder.feed(line)]
    assert shown == []
    assert folder.pending
    (folded,) = folder.flush()
    assert isinstance(folded, FoldedTraceback)
    assert not folder.pending
