"""The built package as a user gets it: sdist and wheel built from a copy of the sources,
checked by twine, and the wheel installed with only its runtime dependencies (the locked
versions, no extras) into a fresh venv, run from outside the source tree."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import pywatt

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ["pyproject.toml", "README.md", "LICENSE", "CHANGELOG.md", "actors", "pywatt"]

pytestmark = pytest.mark.slow

MEMORY_MODULE = """
    from pywatt import AppState, pywatt_module

    @pywatt_module(enable_cache=True, cache_config={"type": "in_memory"})
    async def create_app(state: AppState[None]) -> None:
        await state.cache.set("answer", {"value": 42})
        print("cache says", await state.cache.get("answer"), flush=True)

    if __name__ == "__main__":
        raise SystemExit(create_app.run())
"""

REDIS_MODULE = """
    from pywatt import AppState, pywatt_module

    @pywatt_module(enable_cache=True, cache_config={"type": "redis", "url": "redis://127.0.0.1:1"})
    async def create_app(state: AppState[None]) -> None:
        pass

    if __name__ == "__main__":
        raise SystemExit(create_app.run())
"""


def _uv() -> str:
    uv = os.environ.get("PYWATT_UV") or shutil.which("uv")
    if not uv:
        pytest.fail("this test needs uv: run it through `just test` (it sets PYWATT_UV)")
    return uv


def _run(*args: str | Path, cwd: Path, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        [str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, f"{args} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout + done.stderr


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv holding the built wheel and the locked runtime dependencies only."""
    work = tmp_path_factory.mktemp("dist")
    src = work / "src"
    src.mkdir()
    for name in SOURCES:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, src / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, src / name)
    out = work / "dist"
    _run(sys.executable, "-m", "build", "--no-isolation", "--outdir", out, src, cwd=work)
    wheels = list(out.glob("pywatt-*.whl"))
    sdists = list(out.glob("pywatt-*.tar.gz"))
    assert len(wheels) == 1
    assert len(sdists) == 1
    _run(sys.executable, "-m", "twine", "check", "--strict", *wheels, *sdists, cwd=work)
    uv = _uv()
    requirements = work / "runtime.txt"
    _run(uv, "export", "--frozen", "--no-dev", "--no-emit-project", "--format",
         "requirements-txt", "--quiet", "-o", requirements, cwd=ROOT)  # fmt: skip
    venv = work / "venv"
    _run(uv, "venv", "--quiet", "--python", sys.executable, venv, cwd=work)
    python = venv / "bin" / "python"
    _run(uv, "pip", "install", "--quiet", "--python", python, "-r", requirements, cwd=work)
    _run(uv, "pip", "install", "--quiet", "--python", python, "--no-deps", wheels[0], cwd=work)
    return venv


def _env(venv: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    return env


def test_the_wheel_installs_no_driver_and_imports_from_site_packages(
    installed: Path, tmp_path: Path
) -> None:
    code = (
        "import importlib.util, actors, pywatt, pywatt.cache, pywatt.db, pywatt.module\n"
        "print(pywatt.__file__)\n"
        "for m in ('psycopg', 'redis', 'hiredis', 'pymemcache', 'pymysql', 'hypercorn'):\n"
        "    assert importlib.util.find_spec(m) is None, m\n"
    )
    out = _run(installed / "bin" / "python", "-c", code, cwd=tmp_path, env=_env(installed))
    assert str(installed) in out
    assert str(ROOT) not in out


def test_pywatt_version_from_the_wheel(installed: Path, tmp_path: Path) -> None:
    out = _run(installed / "bin" / "pywatt", "--version", cwd=tmp_path, env=_env(installed))
    assert out.strip() == f"pywatt {pywatt.__version__}"


def _run_until(venv: Path, module: Path, needed: set[str], *, stop: bool = True) -> tuple[int, str]:
    """``pywatt run module`` until every text in ``needed`` has been printed, then ``pywatt
    stop`` (or, with ``stop=False``, until it ends by itself); returns the exit status and
    everything printed."""
    run_dir = module.parent / "run"
    env = _env(venv)
    pywatt_cmd = str(venv / "bin" / "pywatt")
    proc = subprocess.Popen(
        [pywatt_cmd, "run", str(module), "--run-dir", str(run_dir)],
        cwd=module.parent,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert proc.stdout is not None
    seen: list[str] = []
    try:
        for line in proc.stdout:  # waits for the lines themselves (pytest-timeout bounds it)
            seen.append(line)
            needed = {n for n in needed if n not in line}
            if not needed:
                break
        assert not needed, "".join(seen)
        if stop:
            _run(pywatt_cmd, "stop", "--run-dir", run_dir, cwd=module.parent, env=env)
        rest, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return proc.returncode, "".join(seen) + rest


def test_an_in_memory_module_runs_under_pywatt_run(installed: Path, tmp_path: Path) -> None:
    module = tmp_path / "memmod.py"
    module.write_text(textwrap.dedent(MEMORY_MODULE))
    status, output = _run_until(installed, module, {"cache says {'value': 42}", "memmod is up"})
    assert status == 0, output
    assert "HTTP gateway off: install 'pywatt[http]'" in output
    assert "Traceback" not in output


def test_a_backend_without_its_extra_is_one_line_naming_the_extra(
    installed: Path, tmp_path: Path
) -> None:
    module = tmp_path / "redismod.py"
    module.write_text(textwrap.dedent(REDIS_MODULE))
    expected = (
        "cache_config type 'redis' needs the 'redis' extra, which is not installed: "
        "pip install 'pywatt[redis]'"
    )
    # A missing extra cannot heal: the module is not restarted and pywatt run ends, failed.
    status, output = _run_until(installed, module, {expected}, stop=False)
    assert status == 1, output
    assert output.count(expected) == 1
    assert "Traceback" not in output
    assert "ImportError" not in output


def test_the_dashboards_static_files_are_in_the_wheel(installed: Path, tmp_path: Path) -> None:
    code = (
        "import importlib.resources\n"
        "folder = importlib.resources.files('pywatt.orchestrator.dashboard') / 'static'\n"
        "print(sorted(entry.name for entry in folder.iterdir()))\n"
    )
    out = _run(installed / "bin" / "python", "-c", code, cwd=tmp_path, env=_env(installed))
    assert out.strip() == "['dashboard.css', 'dashboard.js', 'index.html']"
