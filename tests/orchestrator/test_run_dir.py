"""The run directory of the control socket is created safely: no link is followed, nothing
we did not create is chmod-ed, and a directory another user owns or can reach is refused
with one line, before any module starts."""

from __future__ import annotations

import os
import pwd
import re
import signal
import stat
from collections.abc import Callable
from pathlib import Path

import pytest
import trio

from .helpers import PYTHON, RAW
from .test_cli import background

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="chown to another user needs root")


def _nobody() -> int:
    return pwd.getpwnam("nobody").pw_uid


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


async def _pywatt_run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    base = {k: v for k, v in os.environ.items() if k not in ("PYWATT_RUN_DIR", "XDG_RUNTIME_DIR")}
    with trio.fail_after(30):
        result = await trio.run_process(
            [PYTHON, "-m", "pywatt", "run", RAW, "--for", "0.5", *args],
            capture_stdout=True,
            capture_stderr=True,
            check=False,
            env={**base, **(env or {})},
        )
    return result.returncode, result.stdout.decode(), result.stderr.decode()


def _victim(tmp_path: Path) -> Path:
    """A directory of ours that is meant to be readable by everyone."""
    victim = tmp_path / "victim"
    victim.mkdir()
    victim.chmod(0o755)
    return victim


async def test_a_link_at_the_default_run_dir_is_not_followed_nor_its_target_chmodded(
    tmp_path: Path,
) -> None:
    shared_tmp = tmp_path / "tmp"
    shared_tmp.mkdir()
    shared_tmp.chmod(0o1777)  # like /tmp: everyone may create entries
    victim = _victim(tmp_path)
    link = shared_tmp / f"pywatt-{os.getuid()}"
    link.symlink_to(victim)
    if os.geteuid() == 0:
        os.lchown(link, _nobody(), -1)  # planted by another user

    code, out, err = await _pywatt_run(env={"TMPDIR": str(shared_tmp)})

    assert code == 0, out + err
    assert _mode(victim) == 0o755
    assert list(victim.iterdir()) == []
    refusals = [
        re.sub(r"^\d\d:\d\d:\d\d\.\d{3} ", "", line)  # the pretty form's timestamp
        for line in out.splitlines()
        if "no control socket" in line
    ]
    assert refusals == [
        f"pywatt: warning: no control socket: run directory {link} is a symbolic link, which "
        "pywatt does not follow; remove it if it is yours, or pass --run-dir (or set "
        "PYWATT_RUN_DIR) to a directory of your own"
    ]
    assert "raw_module stopped (exited with code 0)" in out


def _link_to_victim(tmp_path: Path) -> Path:
    link = tmp_path / "run"
    link.symlink_to(_victim(tmp_path))
    return link


def _dangling_link(tmp_path: Path) -> Path:
    link = tmp_path / "run"
    link.symlink_to(tmp_path / "not-there")
    return link


def _open_dir_of_ours(tmp_path: Path) -> Path:
    return _victim(tmp_path)


def _a_file(tmp_path: Path) -> Path:
    path = tmp_path / "run"
    path.write_text("")
    return path


def _dir_of_another_user(tmp_path: Path) -> Path:
    path = tmp_path / "run"
    path.mkdir()
    path.chmod(0o700)
    os.chown(path, _nobody(), -1)
    return path


def _inside_a_dir_of_another_user(tmp_path: Path) -> Path:
    parent = tmp_path / "theirs"
    parent.mkdir()
    parent.chmod(0o755)
    os.chown(parent, _nobody(), -1)
    return parent / "run"


def _inside_a_world_writable_dir(tmp_path: Path) -> Path:
    parent = tmp_path / "shared"
    parent.mkdir()
    parent.chmod(0o777)  # not sticky: anyone could rename our directory away
    return parent / "run"


@pytest.mark.parametrize(
    ("make", "problem"),
    [
        pytest.param(
            _link_to_victim, "is a symbolic link, which pywatt does not follow", id="link"
        ),
        pytest.param(_dangling_link, "is a symbolic link", id="dangling-link"),
        pytest.param(_open_dir_of_ours, "is open to other users (mode 0755)", id="open-dir"),
        pytest.param(_a_file, "exists and is not a directory", id="file"),
        pytest.param(
            _dir_of_another_user,
            "belongs to uid 65534, not to you",
            id="other-owner",
            marks=needs_root,
        ),
        pytest.param(
            _inside_a_dir_of_another_user,
            "which belongs to uid 65534",
            id="parent-of-other-owner",
            marks=needs_root,
        ),
        pytest.param(
            _inside_a_world_writable_dir,
            "which every user can write and which is not sticky (mode 0777)",
            id="parent-world-writable",
        ),
    ],
)
async def test_an_unsafe_run_dir_is_refused_in_one_line_before_any_module_starts(
    tmp_path: Path, make: Callable[[Path], Path], problem: str
) -> None:
    run_dir = make(tmp_path)
    target = run_dir.resolve() if run_dir.is_symlink() else run_dir
    before = _mode(target) if target.exists() else None

    code, out, err = await _pywatt_run("--run-dir", str(run_dir))

    assert code == 1, out + err
    assert "started" not in out, out
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"pywatt: error: run directory {run_dir} ")
    assert problem in lines[0]
    assert "--run-dir" in lines[0]
    if before is None:
        assert not target.is_symlink()
        assert not target.exists()
    else:
        assert _mode(target) == before
        if target.is_dir():
            assert not (target / "control.sock").exists()


async def test_a_run_dir_in_use_by_a_live_orchestrator_is_refused_in_one_line(
    tmp_path: Path,
) -> None:
    run_dir = tmp_path / "run"
    with trio.fail_after(30):
        async with background("run", RAW, "--run-dir", str(run_dir), "--for", "20") as first:
            await first.wait_for("control socket:")
            code, out, err = await _pywatt_run("--run-dir", str(run_dir))
            await first.wait_for("raw_module is up")
            first.process.send_signal(signal.SIGTERM)
    assert code == 1, out + err
    assert "started" not in out, out
    assert err == (
        f"pywatt: error: another orchestrator is running with control socket "
        f"{run_dir}/control.sock; stop it (pywatt stop) or pass --run-dir\n"
    )
