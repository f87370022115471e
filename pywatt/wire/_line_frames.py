"""Reading what comes in on a direct line (docs/protocol-extensions.md §12), without I/O.

Each end of a line writes exactly what it would write to the orchestrator: a
``route_to_module`` (binary or JSON form) for a request, a notification or a reply, a
``Message``-wrapped ``cancel_request`` for a cancel. The reader turns each into what the
orchestrator would have delivered, with the peer the line was opened with as the source: a
frame cannot claim to come from anyone else. Anything else, or a frame addressed to another
module, is refused (``DecodeError``) like any malformed frame.
"""

from __future__ import annotations

from typing import Any, Final

from ._errors import DecodeError
from ._framing import Frame, FrameFormat
from ._json import decode_json
from ._route_binary import BinaryRoute, parse_binary_route
from ._types_cancel import CancelRequest, RequestCancelled
from ._types_ext import REPLY_ENDPOINT
from ._types_message import Message
from ._types_ops import RoutedModuleMessage, RoutedModuleResponse, RouteToModule
from ._unions import ModuleToOrchestrator

__all__ = ["LineInbound", "decode_line_frame"]

LineInbound = RoutedModuleMessage | RoutedModuleResponse | RequestCancelled
_MODULE_MESSAGE: Final = Message[ModuleToOrchestrator]


def decode_line_frame(frame: Frame, peer: str, me: str) -> LineInbound:
    """What ``frame``, read on a line from module ``peer`` to module ``me``, delivers.
    Raises ``DecodeError``."""
    content: Any
    if frame.format is FrameFormat.MSGPACK:
        content = parse_binary_route(frame.payload)
        if content is None:
            raise DecodeError("a line carries requests, replies and cancels only")
    elif frame.format is FrameFormat.JSON:
        content = decode_json(frame.payload, _MODULE_MESSAGE).content
    else:
        raise DecodeError(f"a line carries no frames of format {frame.format.name}")
    if isinstance(content, CancelRequest):
        _check_target(content.target_module_id, me)
        return RequestCancelled(source_module_id=peer, request_id=content.request_id)
    if isinstance(content, BinaryRoute):
        payload = content.payload()
    elif isinstance(content, RouteToModule):
        payload = content.payload
    else:
        raise DecodeError(f"a line carries no {getattr(content, 'OP', type(content).__name__)}")
    _check_target(content.target_module_id, me)
    if content.target_endpoint == REPLY_ENDPOINT:
        return RoutedModuleResponse(
            source_module_id=peer, request_id=content.request_id, payload=payload
        )
    return RoutedModuleMessage(
        source_module_id=peer, original_request_id=content.request_id, payload=payload
    )


def _check_target(target: str, me: str) -> None:
    if target != me:
        raise DecodeError(f"a frame for module {target!r} on a line to {me!r}")
