"""Comparing a token a peer sent with the one we issued.

Whatever a peer sends is only ever *wrong*, never an error: ``hmac.compare_digest`` raises
``TypeError`` for a ``str`` with a non-ASCII character, and an exception raised while
checking a stranger's frame would crash the actor doing it (a listener, with the real
module's connections; the hub, with everyone's routes). So both sides are compared as UTF-8
bytes, in time that does not depend on where they differ.
"""

from __future__ import annotations

import hmac

__all__ = ["same_token"]


def same_token(offered: object, expected: str) -> bool:
    """Whether ``offered`` is the token ``expected``. Never raises: anything that is not a
    string, or not the same string, is False. Lone surrogates (which JSON text can carry)
    are kept by ``surrogatepass``, so every string has a byte form to compare."""
    if not isinstance(offered, str):
        return False
    return hmac.compare_digest(_bytes(offered), _bytes(expected))


def _bytes(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")
