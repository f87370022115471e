"""The modules' sockets get a directory short enough for a Unix socket's path, even under a
temporary directory whose path is long (a test runner's, a sandbox's)."""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
from pathlib import Path

import pytest

from pywatt.orchestrator._socket_dir import SOCKET_PATH_MAX, make_socket_dir

from .test_run_dir import _pywatt_run


def _long_dir(tmp_path: Path) -> Path:
    """A directory whose path is about 90 bytes: a module's socket under it would not fit."""
    long = tmp_path / ("d" * max(1, 90 - len(str(tmp_path)) - 1))
    long.mkdir(exist_ok=True)
    assert len(str(long)) >= 80
    return long


def test_a_long_temporary_directory_moves_the_sockets_under_tmp(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(_long_dir(tmp_path)))
    made = make_socket_dir(["m" * 64])
    try:
        assert os.path.dirname(made) == "/tmp"
        assert stat.S_IMODE(os.stat(made).st_mode) == 0o700
        assert len(os.path.join(made, "m" * 64 + ".line.sock")) <= SOCKET_PATH_MAX
    finally:
        os.rmdir(made)


def test_a_short_temporary_directory_is_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    short = tempfile.mkdtemp(prefix="t", dir="/tmp")
    monkeypatch.setattr(tempfile, "tempdir", short)
    try:
        made = make_socket_dir(["m" * 64])
        assert os.path.dirname(made) == short
    finally:
        shutil.rmtree(short)


async def test_pywatt_run_under_a_long_tmpdir_starts_and_stops_its_module(
    tmp_path: Path,
) -> None:
    code, out, err = await _pywatt_run("--no-control", env={"TMPDIR": str(_long_dir(tmp_path))})
    assert code == 0, out + err
    assert "raw_module stopped (exited with code 0)" in out
