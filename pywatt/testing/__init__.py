"""Test kit for module authors (docs/testing.md).

* :func:`open_module` runs a module file under the embedded orchestrator and yields a
  :class:`ModuleUnderTest`; a module that does not start raises
  :class:`ModuleFailedToStart` with its exit status and last stderr lines, and a module is
  not restarted unless the test asks.
* :func:`jwt_token` signs test tokens; :func:`override_jwt` makes the JWT middleware
  validate them under a plain Starlette/FastAPI ``TestClient`` or Flask ``test_client``.
* The pytest plugin (entry point ``pywatt``, on once pywatt is installed) offers them as
  fixtures: ``pywatt_module``, ``pywatt_client``, ``jwt_token``, ``jwt_override``,
  ``pywatt_jwt_key``. The async ones need pytest-trio with ``trio_mode = true``.

Modules run as real processes speaking the real protocol; nothing is mocked.
"""

from typing import TYPE_CHECKING

from pywatt._lazy import attach

if TYPE_CHECKING:
    from ._errors import ModuleFailedToStart as ModuleFailedToStart
    from ._jwt import TEST_JWT_KEY as TEST_JWT_KEY
    from ._jwt import JwtOverride as JwtOverride
    from ._jwt import jwt_token as jwt_token
    from ._jwt import override_jwt as override_jwt
    from ._module import NO_RESTARTS as NO_RESTARTS
    from ._module import ModuleUnderTest as ModuleUnderTest
    from ._module import module_fixture as module_fixture
    from ._module import open_module as open_module

__getattr__, __dir__, __all__ = attach(
    __name__,
    {
        "._errors": ["ModuleFailedToStart"],
        "._jwt": ["TEST_JWT_KEY", "JwtOverride", "jwt_token", "override_jwt"],
        "._module": ["NO_RESTARTS", "ModuleUnderTest", "module_fixture", "open_module"],
    },
)
