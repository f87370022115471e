"""pywatt's pytest plugin, registered by the ``pytest11`` entry point ``pywatt``: installed
with pywatt, it is on in every pytest run (``-p no:pywatt`` turns it off).

Fixtures (docs/testing.md):

* ``pywatt_module``: the module file named by the test's ``@pytest.mark.pywatt_module(path,
  **options)`` marker (on the test, its class or the file's ``pytestmark``; ``path``
  relative to the test file's folder; ``options`` those of :func:`open_module`), running
  under the embedded orchestrator and announced: a :class:`ModuleUnderTest`.
* ``pywatt_client``: an ``httpx.AsyncClient`` to that module's HTTP listener.
* ``pywatt_jwt_key``: the key tokens are signed with (:data:`TEST_JWT_KEY`; override the
  fixture to change it).
* ``jwt_token``: ``jwt_token(claims) -> str``, signed with ``pywatt_jwt_key``.
* ``jwt_override``: for the test's duration, the JWT middleware outside a module validates
  with ``pywatt_jwt_key`` (:func:`override_jwt`), for a plain TestClient.

The first two run under trio: they need pytest-trio and ``trio_mode = true``. This module
imports nothing but pytest until a fixture runs, so loading it costs nothing.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import pytest

if TYPE_CHECKING:
    import httpx

    from ._jwt import JwtOverride
    from ._module import ModuleUnderTest

MARKER: Final = "pywatt_module"
TRIO_FIXTURES: Final = frozenset({"pywatt_module", "pywatt_client"})


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{MARKER}(path, **options): the module file the pywatt_module fixture runs (path "
        "relative to the test file; options: those of pywatt.testing.open_module)",
    )


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """A test using the trio fixtures outside trio fails at once with what to do, not with
    pytest-trio's or pytest's message about async fixtures."""
    used = sorted(TRIO_FIXTURES.intersection(getattr(item, "fixturenames", ())))
    if not used or item.get_closest_marker("trio") is not None:
        return
    names = " and ".join(used)
    if not item.config.pluginmanager.hasplugin("trio"):
        pytest.fail(
            f"pywatt's fixture {names} runs under trio: install pytest-trio "
            "(pip install 'pywatt[testing]') and set trio_mode = true under "
            "[tool.pytest.ini_options] in pyproject.toml",
            pytrace=False,
        )
    pytest.fail(
        f"pywatt's fixture {names} runs under trio: make the test `async def` and set "
        "trio_mode = true under [tool.pytest.ini_options] in pyproject.toml (or mark the "
        "test @pytest.mark.trio)",
        pytrace=False,
    )


def _marker_arguments(request: pytest.FixtureRequest) -> tuple[Path, dict[str, Any]]:
    marker = request.node.get_closest_marker(MARKER)
    if marker is None or len(marker.args) != 1:
        pytest.fail(
            f"the pywatt_module fixture needs the module file: "
            f"@pytest.mark.{MARKER}('module.py', secrets={{...}}) on the test, its class, or "
            f"the test file (pytestmark = pytest.mark.{MARKER}(...))",
            pytrace=False,
        )
    path = Path(marker.args[0])
    if not path.is_absolute():
        path = request.path.parent / path
    return path, dict(marker.kwargs)


@pytest.fixture
async def pywatt_module(request: pytest.FixtureRequest) -> AsyncIterator[ModuleUnderTest]:
    """The module of the test's ``pywatt_module`` marker, running and announced. Raises
    :class:`ModuleFailedToStart` (with its exit status and last stderr lines) if it does not
    start; it is not restarted unless the marker's ``restart`` asks for it."""
    from ._module import open_module

    path, options = _marker_arguments(request)
    async with open_module(path, **options) as module:
        yield module


@pytest.fixture
async def pywatt_client(pywatt_module: ModuleUnderTest) -> AsyncIterator[httpx.AsyncClient]:
    """An ``httpx.AsyncClient`` to the module's own HTTP listener (``base_url`` set)."""
    async with pywatt_module.http_client() as client:
        yield client


@pytest.fixture
def pywatt_jwt_key() -> str:
    """The HMAC key ``jwt_token`` signs with and ``jwt_override`` validates with: serve it
    to the module under test as its JWT secret. Override this fixture to use another."""
    from ._jwt import TEST_JWT_KEY

    return TEST_JWT_KEY


@pytest.fixture
def jwt_token(pywatt_jwt_key: str) -> Callable[..., str]:
    """``jwt_token(claims=None, **more_claims) -> str``: an HS256 token signed with
    ``pywatt_jwt_key`` (``iat`` and a one-hour ``exp`` added unless given)."""
    from ._jwt import jwt_token as mint

    def token(claims: dict[str, Any] | None = None, **more_claims: Any) -> str:
        return mint(claims, key=pywatt_jwt_key, **more_claims)

    return token


@pytest.fixture
def jwt_override(pywatt_jwt_key: str) -> Iterator[JwtOverride]:
    """For the test's duration, every JWT middleware outside a module validates with
    ``pywatt_jwt_key`` (see :func:`override_jwt`)."""
    from ._jwt import override_jwt

    with override_jwt(pywatt_jwt_key) as override:
        yield override
