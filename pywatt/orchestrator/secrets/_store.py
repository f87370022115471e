"""The secret store actor: serves ``get_secret``, tracks who holds what, drives rotations.

Values come from three layers, the first that has the name wins: values rotated in while
running, explicit values (``--secret NAME=VALUE``), the secrets file, and — only for names a
module lists in its ``secrets`` — the orchestrator's environment. A module that lists its
secrets may fetch only those.

Every value is registered with :data:`pywatt.logs.redactor` the moment the store learns it,
so it is masked in everything the orchestrator prints. Messages that carry values keep them
out of their ``repr``.

Rotation (docs/architecture.md, decision 10): :class:`RotateSecrets` updates the store first and
answers with a :class:`Rotation` naming the modules that fetched one of the keys; the
orchestrator then sends each of them ``rotated``; each module refetches (answered from the
updated store) and acks; :class:`RotationAcked` records the ack, and the rotation completes
when every notified module has acked or exited.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

import attrs
import trio

from actors import Actor, Request
from pywatt.logs import Redactor, redactor

from .._errors import SecretNotFound, SecretsFileError
from ._dotenv import load_env_file

__all__ = [
    "FetchSecret",
    "ModuleGone",
    "ReloadSecretsFile",
    "RotateSecrets",
    "Rotation",
    "RotationAcked",
    "RotationOutcome",
    "RotationResult",
    "SecretStore",
]

STORE_NAME: Final = "pywatt.secrets"


# --- messages ------------------------------------------------------------------------------


@attrs.frozen
class FetchSecret(Request[str]):
    """Answer ``get_secret`` for a module: the value, or :class:`SecretNotFound`.

    A successful fetch records the module as a holder of ``name`` (it will be told when
    ``name`` rotates).
    """

    module_id: str
    name: str


@attrs.frozen
class RotateSecrets(Request["Rotation"]):
    """Set new values (added to the store if new); answers the :class:`Rotation` to carry out."""

    values: Mapping[str, str] = attrs.field(repr=False)


@attrs.frozen
class ReloadSecretsFile(Request["Rotation | None"]):
    """Re-read the secrets file; rotate the names whose effective value changed.

    A name edited in the file takes the file's value even if it was rotated by hand since
    (the newer change wins); an explicit ``--secret`` value still wins over the file. Answers
    None when nothing changed; raises :class:`SecretsFileError` (a reply) when the file
    cannot be read or no file was configured.
    """


@attrs.frozen
class RotationAcked:
    """A module acked a rotation (``status`` ``"success"`` or ``"error"``)."""

    module_id: str
    rotation_id: str
    status: str
    message: str | None = None


@attrs.frozen
class ModuleGone:
    """A module's process ended: it holds nothing now and will ack nothing."""

    module_id: str


# --- rotation records ----------------------------------------------------------------------


@attrs.frozen
class RotationOutcome:
    """How one module finished a rotation: ``"success"``, ``"error"`` or ``"exited"``."""

    status: str
    message: str | None = None


@attrs.frozen
class RotationResult:
    """A completed rotation: its id, the keys, and each notified module's outcome."""

    rotation_id: str
    keys: tuple[str, ...]
    outcomes: Mapping[str, RotationOutcome]

    @property
    def ok(self) -> bool:
        """True when every notified module acked with ``"success"``."""
        return all(o.status == "success" for o in self.outcomes.values())


@attrs.define(eq=False)
class Rotation:
    """A rotation in progress: which modules to tell which keys, and their outcomes so far.

    Made by the store; the store records outcomes into it. :meth:`wait` returns once every
    notified module has acked or exited.
    """

    rotation_id: str
    keys: tuple[str, ...]
    notify: dict[str, tuple[str, ...]]
    outcomes: dict[str, RotationOutcome] = attrs.field(factory=dict)
    _done: trio.Event = attrs.field(factory=trio.Event)

    @property
    def pending(self) -> list[str]:
        """Notified modules that have neither acked nor exited yet."""
        return [m for m in self.notify if m not in self.outcomes]

    def _record(self, module_id: str, outcome: RotationOutcome) -> None:
        if module_id in self.notify and module_id not in self.outcomes:
            self.outcomes[module_id] = outcome
        if not self.pending:
            self._done.set()

    async def wait(self) -> RotationResult:
        """Block until every notified module has acked or exited; the caller sets deadlines."""
        await self._done.wait()
        return self.result()

    def result(self) -> RotationResult:
        """The outcomes so far, as a frozen record. Does not block."""
        return RotationResult(self.rotation_id, self.keys, dict(self.outcomes))


# --- the actor -----------------------------------------------------------------------------

StoreMessage = FetchSecret | RotateSecrets | ReloadSecretsFile | RotationAcked | ModuleGone


class SecretStore(Actor[StoreMessage]):
    """Serves secrets to modules and keeps rotations in order (see the module docstring).

    ``allowed`` maps each module id to the names it lists (``None``: any file or explicit
    secret, nothing from the environment).
    """

    reply_errors = (SecretNotFound, SecretsFileError)

    def __init__(
        self,
        *,
        allowed: Mapping[str, tuple[str, ...] | None],
        explicit: Mapping[str, str],
        file_values: Mapping[str, str],
        secrets_file: str | None,
        environment: Mapping[str, str],
        redact: Redactor = redactor,
    ) -> None:
        self._allowed = dict(allowed)
        self._explicit = dict(explicit)
        self._file = dict(file_values)
        self._secrets_file = secrets_file
        self._environment = environment  # what ${VAR} in the secrets file falls back on
        self._rotated: dict[str, str] = {}
        listed = {n for names in allowed.values() if names is not None for n in names}
        self._env = {n: environment[n] for n in listed if n in environment}
        self._redact = redact
        self._held: dict[str, set[str]] = {}
        self._active: dict[str, Rotation] = {}
        self._counter = 0
        redact.register(*self._explicit.values(), *self._file.values(), *self._env.values())

    async def receive(self, message: StoreMessage) -> object:
        if isinstance(message, FetchSecret):
            return self._fetch(message.module_id, message.name)
        if isinstance(message, RotateSecrets):
            return self._rotate(dict(message.values))
        if isinstance(message, ReloadSecretsFile):
            return await self._reload()
        if isinstance(message, RotationAcked):
            rotation = self._active.get(message.rotation_id)
            if rotation is not None:
                rotation._record(
                    message.module_id, RotationOutcome(message.status, message.message)
                )
                self._settle(rotation)
            return None
        self._forget(message.module_id)
        return None

    # -- lookups ---------------------------------------------------------------------------

    def _global_value(self, name: str) -> str | None:
        for layer in (self._rotated, self._explicit, self._file):
            if name in layer:
                return layer[name]
        return None

    def _fetch(self, module_id: str, name: str) -> str:
        allowed = self._allowed.get(module_id)
        if allowed is not None and name not in allowed:
            raise SecretNotFound(module_id, name, "it is not listed in the module's secrets")
        value = self._global_value(name)
        if value is None and allowed is not None:
            value = self._env.get(name)
        if value is None:
            raise SecretNotFound(
                module_id,
                name,
                f"it is not set: pass --secret {name}=... or add it to the secrets file",
            )
        self._held.setdefault(module_id, set()).add(name)
        return value

    # -- rotation --------------------------------------------------------------------------

    def _rotate(self, values: dict[str, str]) -> Rotation:
        self._redact.register(*values.values())
        self._rotated.update(values)
        self._counter += 1
        keys = tuple(values)
        notify: dict[str, tuple[str, ...]] = {}
        for module_id, held in self._held.items():
            mine = tuple(k for k in keys if k in held)
            if mine:
                notify[module_id] = mine
        rotation = Rotation(f"rot-{self._counter}", keys, notify)
        self._active[rotation.rotation_id] = rotation
        self._settle(rotation)
        return rotation

    async def _reload(self) -> Rotation | None:
        path = self._secrets_file
        if path is None:
            raise SecretsFileError("<none>", "no secrets file was given (--secrets-file)")
        fresh = await trio.to_thread.run_sync(load_env_file, path, self._environment)
        self._redact.register(*fresh.values())
        edited = {n for n in {*self._file, *fresh} if self._file.get(n) != fresh.get(n)}
        before = {n: self._global_value(n) for n in edited}
        self._file = fresh
        for name in edited & set(fresh):
            self._rotated.pop(name, None)  # the file was edited after the hand rotation: it wins
        changed = {}
        for name in sorted(edited):
            new = self._global_value(name)
            if new is not None and new != before[name]:
                changed[name] = new
        if not changed:
            return None
        return self._rotate(changed)

    def _forget(self, module_id: str) -> None:
        self._held.pop(module_id, None)
        for rotation in list(self._active.values()):
            rotation._record(module_id, RotationOutcome("exited"))
            self._settle(rotation)

    def _settle(self, rotation: Rotation) -> None:
        if not rotation.pending:
            rotation._done.set()
            self._active.pop(rotation.rotation_id, None)
