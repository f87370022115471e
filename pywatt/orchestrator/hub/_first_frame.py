"""The check a listener makes of a connection's first frame, without I/O: the frame must be a
module frame carrying a pywatt declaration whose auth token is the module's."""

from __future__ import annotations

from pywatt.wire import DecodeError, Frame, ModuleDeclaration

from ._connection import decode_module_frame
from ._tokens import same_token


class FirstFrameRefused(Exception):
    """The first frame does not admit the peer; ``problem`` says why (for the log)."""

    def __init__(self, problem: str) -> None:
        super().__init__(problem)
        self.problem = problem


def admit_first_frame(frame: Frame, token: str) -> ModuleDeclaration:
    """The peer's declaration if ``frame`` carries the module's ``token``; otherwise raises
    :class:`FirstFrameRefused`. Never raises anything else, whatever the frame holds."""
    try:
        message = decode_module_frame(frame)
        declared = ModuleDeclaration.from_properties(message.metadata.properties)
    except DecodeError as exc:
        raise FirstFrameRefused(f"a malformed first frame ({exc})") from None
    if declared is None or not same_token(declared.auth_token, token):
        raise FirstFrameRefused("a wrong or missing auth token")
    return declared
