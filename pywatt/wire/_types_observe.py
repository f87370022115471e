"""Wire types of the observability extension (docs/protocol-extensions.md, section 10):
the orchestrator asks a pywatt module for its supervision tree, and a module forwards its
events and finished spans. Stdio lines only, and only between pywatt peers: ``tree_request``
goes to a module the orchestrator started as a pywatt module, ``events`` goes to an
orchestrator that set ``PYWATT_EVENTS`` in ``InitBlob.env``, ``spans`` to one that set
``PYWATT_SPANS``.
"""

from __future__ import annotations

import uuid
from typing import ClassVar, Final

import attrs

from ._unions import ModuleToOrchestrator, OrchestratorToModule
from ._values import JsonValue, UInt32

__all__ = ["ENV_EVENTS", "ENV_SPANS", "ModuleEvents", "ModuleSpans", "ModuleTree", "TreeRequest"]

#: ``InitBlob.env`` key: ``"1"`` when the orchestrator takes ``events`` lines from the module.
ENV_EVENTS: Final = "PYWATT_EVENTS"
#: ``InitBlob.env`` key: ``"1"`` when the orchestrator takes ``spans`` lines from the module.
ENV_SPANS: Final = "PYWATT_SPANS"


@attrs.frozen(kw_only=True)
class TreeRequest(OrchestratorToModule):
    """``tree_request`` (extension): send me your supervision tree.

    ``{"op":"tree_request","request_id":"<uuid>"}``; answered by one ``tree`` line.
    """

    OP: ClassVar[str] = "tree_request"

    request_id: uuid.UUID


@attrs.frozen(kw_only=True)
class ModuleTree(ModuleToOrchestrator):
    """``tree`` (extension): the answer to ``tree_request``, the same ``request_id``.

    ``tree`` is the root node as JSON (``actors.TreeNode`` unstructured: ``name``, ``kind``,
    ``state``, ``incarnation``, ``restarts``, ``restart``, ``strategy``, ``mailbox``,
    ``children``).
    """

    OP: ClassVar[str] = "tree"

    request_id: uuid.UUID
    tree: JsonValue


@attrs.frozen(kw_only=True)
class ModuleEvents(ModuleToOrchestrator):
    """``events`` (extension): events of the module, oldest first, as JSON objects each with
    a ``kind``; ``dropped`` counts the events the module dropped since its last ``events``
    line (its buffer was full), so the receiver knows the stream has a gap.

    ``{"op":"events","events":[{"kind":"crashed",...}],"dropped":0}``
    """

    OP: ClassVar[str] = "events"

    events: list[JsonValue]
    dropped: UInt32 = 0


@attrs.frozen(kw_only=True)
class ModuleSpans(ModuleToOrchestrator):
    """``spans`` (extension): finished spans of the module's tracing, as JSON objects
    (``pywatt.tracing.span_to_json``); ``dropped`` counts the spans the module dropped since
    its last ``spans`` line (its buffer was full).

    ``{"op":"spans","spans":[{"trace_id":"...","span_id":"...",...}],"dropped":0}``
    """

    OP: ClassVar[str] = "spans"

    spans: list[JsonValue]
    dropped: UInt32 = 0
