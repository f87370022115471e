"""The two frames that open a direct line (docs/protocol-extensions.md §12), without I/O.

The caller writes ``hello``: who it is, a fresh nonce, and an HMAC-SHA256 of the nonce keyed
by the ticket the orchestrator granted it. The target, which holds the same ticket from the
orchestrator's ``line_expect``, checks it and answers ``accept`` with an HMAC of the same
nonce under another label, which the caller checks in turn: each side has proved it holds
the ticket, and the ticket itself never crosses the line. Both are code-4 frames:

* ``{"line":"hello","from":s,"nonce":bin16,"proof":bin32}``
* ``{"line":"accept","proof":bin32}``

The readers return ``None`` for anything else; nothing here raises on bad input.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Final

import msgpack  # type: ignore[import-untyped]

from ._framing import FrameFormat, encode_frame

__all__ = [
    "LINE_NONCE_SIZE",
    "line_accept_frame",
    "line_hello_frame",
    "line_proof",
    "parse_line_accept",
    "parse_line_hello",
    "same_proof",
]

LINE_NONCE_SIZE: Final = 16
_HELLO: Final = b"pywatt line hello\x00"
_ACCEPT: Final = b"pywatt line accept\x00"
_MAX_ID: Final = 1024


def line_proof(ticket: str, nonce: bytes, *, accept: bool) -> bytes:
    """HMAC-SHA256 of ``nonce`` keyed by ``ticket``: the caller's (``accept=False``) or the
    target's (``accept=True``)."""
    label = _ACCEPT if accept else _HELLO
    key = ticket.encode("utf-8", "surrogatepass")
    return hmac.new(key, label + nonce, hashlib.sha256).digest()


def same_proof(offered: bytes, expected: bytes) -> bool:
    """Whether two proofs are equal, in time that does not depend on where they differ."""
    return hmac.compare_digest(offered, expected)


def line_hello_frame(source: str, nonce: bytes, proof: bytes) -> bytes:
    """The caller's first frame on a line."""
    body = {"line": "hello", "from": source, "nonce": nonce, "proof": proof}
    return encode_frame(FrameFormat.MSGPACK, msgpack.packb(body, use_bin_type=True))


def line_accept_frame(proof: bytes) -> bytes:
    """The target's answer to a good ``hello``."""
    body = {"line": "accept", "proof": proof}
    return encode_frame(FrameFormat.MSGPACK, msgpack.packb(body, use_bin_type=True))


def _map(payload: bytes) -> dict[object, object] | None:
    try:
        value = msgpack.unpackb(payload, raw=False, strict_map_key=True)
    except Exception:  # msgpack raises several types for bad input; all mean "not this"
        return None
    return value if isinstance(value, dict) else None


def parse_line_hello(payload: bytes) -> tuple[str, bytes, bytes] | None:
    """``(source, nonce, proof)`` from a ``hello`` frame's payload, or None."""
    body = _map(payload)
    if body is None or set(body) != {"line", "from", "nonce", "proof"} or body["line"] != "hello":
        return None
    source, nonce, proof = body["from"], body["nonce"], body["proof"]
    if not isinstance(source, str) or not source or len(source) > _MAX_ID:
        return None
    if not isinstance(nonce, bytes) or len(nonce) != LINE_NONCE_SIZE:
        return None
    if not isinstance(proof, bytes) or len(proof) != hashlib.sha256().digest_size:
        return None
    return source, nonce, proof


def parse_line_accept(payload: bytes) -> bytes | None:
    """The proof of an ``accept`` frame's payload, or None."""
    body = _map(payload)
    if body is None or set(body) != {"line", "proof"} or body["line"] != "accept":
        return None
    proof = body["proof"]
    if not isinstance(proof, bytes) or len(proof) != hashlib.sha256().digest_size:
        return None
    return proof
