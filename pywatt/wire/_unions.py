"""The two op-tagged enums of docs/protocol.md §4, as base classes.

Use the base class wherever Rust uses the enum: ``decode_json(line, OrchestratorToModule)``
returns the variant instance (``SecretValueResponse``, ``Heartbeat``, ...) chosen by the
``"op"`` key, and ``isinstance`` / ``match`` tell them apart. A base class rather than a
``Union`` alias keeps ``decode_json(data, type_: type[T]) -> T`` precise under mypy.
"""

from __future__ import annotations

from ._model import OpUnion

__all__ = ["ModuleToOrchestrator", "OrchestratorToModule"]


class ModuleToOrchestrator(OpUnion):
    """Base of every module→orchestrator op (stdout lines, ``Message`` content on channels)."""

    __slots__ = ()


class OrchestratorToModule(OpUnion):
    """Base of every orchestrator→module op (stdin lines, bare channel frames)."""

    __slots__ = ()
