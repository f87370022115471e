"""Wire types of the cancel extension (docs/protocol-extensions.md, section 11): a caller
that gives up on a request before its deadline says so, and the callee's handler for it is
cancelled.

Only between pywatt peers: a module sends ``cancel_request`` only to an orchestrator that
said it takes them (``PYWATT_CANCELS`` = ``1`` in ``InitBlob.env``, :data:`ENV_CANCELS`),
and the orchestrator sends ``request_cancelled`` only on a connection whose module declared
itself pywatt.
"""

from __future__ import annotations

import uuid
from typing import ClassVar, Final

import attrs

from ._unions import ModuleToOrchestrator, OrchestratorToModule

__all__ = ["ENV_CANCELS", "CancelRequest", "RequestCancelled"]

#: ``InitBlob.env`` key: ``"1"`` when the orchestrator takes ``cancel_request`` frames (an
#: older pywatt orchestrator would refuse them as malformed).
ENV_CANCELS: Final = "PYWATT_CANCELS"


@attrs.frozen(kw_only=True)
class CancelRequest(ModuleToOrchestrator):
    """``cancel_request`` (extension): this module gave up on its request ``request_id`` to
    ``target_module_id``.

    ``{"op":"cancel_request","target_module_id":"billing","request_id":"<uuid>"}``,
    ``Message``-wrapped like every module→orchestrator op, on the connection that carried
    the request. The orchestrator acts on it only for a request that came on that very
    connection, so a module cannot cancel another module's requests.
    """

    OP: ClassVar[str] = "cancel_request"

    target_module_id: str
    request_id: uuid.UUID


@attrs.frozen(kw_only=True)
class RequestCancelled(OrchestratorToModule):
    """``request_cancelled`` (extension): ``source_module_id`` gave up on its request
    ``request_id``; cancel the handler's work for it and send no reply.

    ``{"op":"request_cancelled","source_module_id":"shop","request_id":"<uuid>"}``, bare,
    on the connection the request was delivered on.
    """

    OP: ClassVar[str] = "request_cancelled"

    source_module_id: str
    request_id: uuid.UUID
