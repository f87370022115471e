"""The pytest plugin, as a module author's project meets it: a fresh project folder with a
module file and its tests, run by pytest in a process of its own. Nothing registers the
plugin but pywatt's entry point."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import trio

PYPROJECT = """\
[tool.pytest.ini_options]
trio_mode = true
"""

# A FastAPI module whose JWT keys are in a secret; /me is the only protected path.
APP_MODULE = """\
from fastapi import FastAPI, Request

from pywatt import AppState, pywatt_module
from pywatt.jwt import JwtConfig, create_jwt_middleware, extract_jwt_claims

JWT = JwtConfig(key_secrets="JWT_SECRET")

app = FastAPI()
app.add_middleware(create_jwt_middleware("fastapi", JWT), protect=["/me"])


@app.get("/public")
async def public() -> dict:
    return {"public": True}


@app.get("/me")
async def me(request: Request) -> dict:
    return {"sub": extract_jwt_claims(request, "fastapi").sub}


@pywatt_module(secrets=["JWT_SECRET"], jwt_config=JWT)
async def create_app(state: AppState[None]) -> FastAPI:
    return app


if __name__ == "__main__":
    raise SystemExit(create_app.run())
"""

TEST_APP = """\
import pytest
from fastapi.testclient import TestClient

from pywatt.testing import TEST_JWT_KEY

pytestmark = pytest.mark.pywatt_module("app_module.py", secrets={"JWT_SECRET": TEST_JWT_KEY})


async def test_public_and_protected_routes(pywatt_client, jwt_token):
    assert (await pywatt_client.get("/public")).json() == {"public": True}
    assert (await pywatt_client.get("/me")).status_code == 401
    token = jwt_token({"sub": "alice"})
    reply = await pywatt_client.get("/me", headers={"Authorization": f"Bearer {token}"})
    assert reply.json() == {"sub": "alice"}


async def test_the_module_handle(pywatt_module, pywatt_client):
    assert (await pywatt_client.get("/health")).json()["status"] == "healthy"
    assert pywatt_module.id == "app_module"
    assert pywatt_module.restarts == 0


def test_the_same_app_under_a_plain_testclient(jwt_override, jwt_token):
    from app_module import app

    with TestClient(app) as client:
        assert client.get("/public").json() == {"public": True}
        token = jwt_token({"sub": "bob"})
        reply = client.get("/me", headers={"Authorization": f"Bearer {token}"})
        assert reply.json() == {"sub": "bob"}
"""

BROKEN_MODULE = """\
from pywatt import AppState, run_module


async def main(state: AppState[None]) -> None:
    raise RuntimeError("the database schema is missing")


if __name__ == "__main__":
    raise SystemExit(run_module(main))
"""

TEST_BROKEN = """\
import pytest


@pytest.mark.pywatt_module("broken_module.py")
async def test_it_starts(pywatt_module):
    pass
"""


async def _pytest(project: Path, *args: str) -> tuple[int, str]:
    with trio.fail_after(120):
        done = await trio.run_process(
            [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", *args],
            cwd=project,
            capture_stdout=True,
            stderr=subprocess.STDOUT,
            check=False,
        )
    return done.returncode, done.stdout.decode()


def _project(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).write_text(textwrap.dedent(text))
    return root


@pytest.mark.slow
async def test_the_fixtures_run_a_module_a_client_and_tokens(tmp_path: Path) -> None:
    project = _project(
        tmp_path,
        {"pyproject.toml": PYPROJECT, "app_module.py": APP_MODULE, "test_app.py": TEST_APP},
    )
    status, out = await _pytest(project)
    assert status == 0, out
    assert "3 passed" in out


async def test_a_module_that_fails_to_start_fails_the_test_with_its_stderr(
    tmp_path: Path,
) -> None:
    project = _project(
        tmp_path,
        {
            "pyproject.toml": PYPROJECT,
            "broken_module.py": BROKEN_MODULE,
            "test_broken.py": TEST_BROKEN,
        },
    )
    status, out = await _pytest(project)
    assert status == 1, out
    assert "1 failed" in out
    assert (
        "ModuleFailedToStart: module 'broken_module' failed to start: it exited with code 1 "
        "before announcing; its last stderr lines:"
    ) in out
    assert "  | RuntimeError: the database schema is missing" in out
    assert out.count("broken_module started (pid") == 1  # not restarted


async def test_without_trio_mode_the_fixtures_say_what_to_do(tmp_path: Path) -> None:
    project = _project(
        tmp_path,
        {
            "pyproject.toml": "[tool.pytest.ini_options]\n",
            "broken_module.py": BROKEN_MODULE,
            "test_broken.py": TEST_BROKEN,
        },
    )
    status, out = await _pytest(project)
    assert status == 1, out
    assert (
        "pywatt's fixture pywatt_module runs under trio: make the test `async def` and set "
        "trio_mode = true under [tool.pytest.ini_options] in pyproject.toml"
    ) in out
    assert "started (pid" not in out  # no module was run


def test_loading_the_plugin_imports_neither_trio_nor_the_orchestrator() -> None:
    # Every pytest run of every project that has pywatt installed loads it.
    code = (
        "import sys, pywatt.testing._plugin\n"
        "print(sorted(m for m in ('trio', 'actors', 'pywatt.orchestrator', 'httpx') "
        "if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"


DOCS = Path(__file__).resolve().parents[2] / "docs" / "testing.md"


def _docs_blocks() -> dict[str, str]:
    """docs/testing.md's configuration and its complete example, by the file they name."""
    text = DOCS.read_text()
    blocks = text.split("```")[1::2]  # the fenced blocks, each with its info string
    toml = next(b for b in blocks if b.startswith("toml\n"))
    python = [b.removeprefix("python\n") for b in blocks if b.startswith("python\n")]
    app = next(b for b in python if "@pywatt_module(" in b)
    tests = next(b for b in python if "pytestmark = pytest.mark.pywatt_module(" in b)
    return {"pyproject.toml": toml.removeprefix("toml\n"), "app.py": app, "test_app.py": tests}


@pytest.mark.slow
async def test_the_complete_example_of_the_docs_passes(tmp_path: Path) -> None:
    status, out = await _pytest(_project(tmp_path, _docs_blocks()))
    assert status == 0, out
    assert "4 passed" in out
