"""Run a module file under the embedded orchestrator, for a test.

::

    from pywatt.testing import open_module

    async def test_greeter_announces() -> None:
        async with open_module("greeter.py", secrets={"API_KEY": "k"}) as module:
            assert module.announce.listen.startswith("127.0.0.1:")
            result = await module.rotate("API_KEY", "k2")
            assert result.ok
            assert any("hello" in line for line in module.stderr_lines)

or as a pytest fixture (pytest-trio)::

    greeter = module_fixture(Path(__file__).parent / "greeter.py", secrets={"API_KEY": "k"})

    async def test_greeter(greeter: ModuleUnderTest) -> None: ...

The module runs as a real process speaking the real protocol; nothing is mocked.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, Final

import trio

from actors import Restart
from pywatt.orchestrator import (
    ConsoleLine,
    Manifest,
    ModuleHandle,
    ModuleKind,
    ModuleNotRunning,
    ModuleSpec,
    Orchestrator,
    RestartPolicy,
    RotationResult,
    Verbosity,
    describe_exit,
    open_orchestrator,
)
from pywatt.wire import AnnounceBlob

from ._errors import ModuleFailedToStart

if TYPE_CHECKING:
    import httpx

__all__ = ["NO_RESTARTS", "ModuleUnderTest", "module_fixture", "open_module"]

NO_RESTARTS: Final = RestartPolicy(restart=Restart.TEMPORARY)
"""The restart policy of a module under test unless the test asks for another: a process
that ends is not started again, so a crash shows as a crash."""

STDERR_TAIL: Final = 20
"""How many of its last stderr lines a :class:`ModuleFailedToStart` carries."""


class ModuleUnderTest:
    """A module running under an embedded orchestrator, as a test sees it."""

    def __init__(self, orchestrator: Orchestrator, handle: ModuleHandle) -> None:
        self.orchestrator = orchestrator
        self.handle = handle
        self.console: list[ConsoleLine] = []
        """Every console line of the run (orchestrator events and the module's stderr)."""

    @property
    def id(self) -> str:
        return self.handle.id

    @property
    def announce(self) -> AnnounceBlob:
        """The current process's announce. Raises ``LookupError`` if it has not announced."""
        if self.handle.announce is None:
            raise LookupError(f"module {self.id!r} has not announced (yet)")
        return self.handle.announce

    async def wait_announced(self) -> AnnounceBlob:
        """Block until the module announces (again, after a restart); see ModuleHandle."""
        return await self.handle.wait_announced()

    @property
    def stderr_lines(self) -> list[str]:
        """The module's stderr lines so far, redacted."""
        return list(self.handle.stderr)

    @property
    def pid(self) -> int | None:
        return self.handle.pid

    @property
    def restarts(self) -> int:
        return self.handle.restarts

    @property
    def base_url(self) -> str:
        """``http://host:port`` of the module's own HTTP listener (from its announce), or
        ``http://module`` when it listens on a Unix socket (see :meth:`http_client`)."""
        listen = self.announce.listen
        if _unix_socket(listen) is not None:
            return "http://module"
        return f"http://{listen}"

    def http_client(self, **options: Any) -> httpx.AsyncClient:
        """An ``httpx.AsyncClient`` to the module's own HTTP listener (TCP or Unix socket),
        ``base_url`` set, so ``await client.get("/health")`` reaches it; use it as
        ``async with``. ``options`` go to ``httpx.AsyncClient`` (a 10 s timeout unless
        given). The gateway, which routes only announced endpoints, is at
        ``module.orchestrator.orchestrator_api``. Needs httpx (``pywatt[testing]``)."""
        try:
            import httpx
        except ImportError as exc:
            raise ImportError(
                "ModuleUnderTest.http_client needs httpx: pip install 'pywatt[testing]'"
            ) from exc
        path = _unix_socket(self.announce.listen)
        if path is not None:
            options.setdefault("transport", httpx.AsyncHTTPTransport(uds=path))
        options.setdefault("timeout", 10.0)
        return httpx.AsyncClient(base_url=self.base_url, **options)

    def console_text(self) -> str:
        """Everything the orchestrator showed, rendered as a person would see it."""
        return "\n".join(line.render() for line in self.console)

    async def rotate(self, name: str, value: str) -> RotationResult:
        """Rotate a secret; returns once the module acked (or exited). Blocks until then."""
        return await self.orchestrator.rotate(name, value)

    async def stop(self) -> None:
        """Stop the module (shutdown line, then SIGTERM, then SIGKILL); blocks until it ended."""
        await self.orchestrator.stop_module(self.id)


@asynccontextmanager
async def open_module(
    path: str | os.PathLike[str],
    *,
    module_id: str | None = None,
    secrets: Mapping[str, str] | None = None,
    allowed_secrets: Sequence[str] | None = None,
    args: Sequence[str] = (),
    kind: ModuleKind | None = None,
    env: Mapping[str, str] | None = None,
    restart: RestartPolicy | None = None,
    grace: float = 2.0,
    term_grace: float = 2.0,
    wait_announced: float | None = 10.0,
    verbosity: Verbosity = Verbosity.NORMAL,
    echo: Callable[[ConsoleLine], None] | None = None,
) -> AsyncIterator[ModuleUnderTest]:
    """Run the module file ``path`` (a ``.py`` file runs with this interpreter; anything
    else must be executable) under an embedded orchestrator and yield its test handle.

    ``secrets`` are the values the orchestrator serves; ``allowed_secrets`` restricts the
    names the module may fetch (the manifest's ``secrets``). The module is not restarted
    when its process ends unless ``restart`` (a :class:`RestartPolicy`) asks for it. Unless
    ``wait_announced`` is None, waits that many seconds for the announce before yielding;
    if the process ends first, or is still starting at the deadline, the module is stopped
    and :class:`ModuleFailedToStart` is raised with its exit status and its last stderr
    lines. Every console line is kept in ``module.console`` and passed to ``echo``
    (default: printed, so pytest shows it for a failing test). On exit the module is shut
    down.
    """
    text_path = os.fspath(path)
    stem = os.path.splitext(os.path.basename(text_path))[0]
    spec = ModuleSpec.from_command(
        module_id or stem,
        text_path,
        args=args,
        kind=kind,
        secrets=allowed_secrets,
        restart=restart if restart is not None else NO_RESTARTS,
        env=env,
    )
    manifest = Manifest(
        modules=[spec], secrets=dict(secrets or {}), grace=grace, term_grace=term_grace
    )
    captured: list[ConsoleLine] = []

    def sink(line: ConsoleLine) -> None:
        captured.append(line)
        if echo is not None:
            echo(line)
        else:
            print(line.render())

    failed: tuple[str, str, int | None] | None = None
    async with open_orchestrator(manifest, on_output=sink, verbosity=verbosity) as orch:
        module = ModuleUnderTest(orch, orch.module(spec.id))
        module.console = captured
        if wait_announced is not None:
            failed = await _wait_started(module.handle, wait_announced)
        if failed is None:
            yield module
    if failed is not None:
        # Raised once the orchestrator is closed: every stderr line has been read by then.
        reason, state, exit_status = failed
        raise ModuleFailedToStart(
            module.id,
            state,
            reason=reason,
            exit_status=exit_status,
            stderr_tail=list(module.handle.stderr)[-STDERR_TAIL:],
        )


async def _wait_started(handle: ModuleHandle, seconds: float) -> tuple[str, str, int | None] | None:
    """None once ``handle`` announced; else why not, its state and its exit status."""
    with trio.move_on_after(seconds):
        try:
            await handle.wait_announced()
        except ModuleNotRunning:
            code = handle.last_exit
            if code is not None:
                reason = f"it {describe_exit(code)} before announcing"
            elif handle.failure is not None:
                reason = f"it could not be started: {handle.failure}"
            else:
                reason = "it could not be started"
            return reason, handle.state.value, code
        return None
    return f"it did not announce within {seconds:g} s", handle.state.value, None


def _unix_socket(listen: str) -> str | None:
    """The socket path of a Unix-socket listen address (a path), None for ``host:port``."""
    return listen if "/" in listen else None


def module_fixture(path: str | os.PathLike[str], **options: Any) -> Any:
    """A pytest fixture (for pytest-trio) that runs ``path`` via :func:`open_module` with
    ``options`` and hands the test the :class:`ModuleUnderTest`. Assign it to a name in a
    test module or conftest: ``greeter = module_fixture("greeter.py")``."""
    import pytest

    @pytest.fixture
    async def fixture() -> AsyncIterator[ModuleUnderTest]:
        async with open_module(path, **options) as module:
            yield module

    return fixture
