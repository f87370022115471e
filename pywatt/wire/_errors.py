"""Errors of the sans-io wire layer.

Every error says whose fault it was, as h11 does: ``LocalProtocolError`` when our own code
misused the API (asked for an encoding a type does not have, tried to write an oversized
frame), ``RemoteProtocolError`` when the peer sent bytes we cannot accept.
"""

from __future__ import annotations


class WireError(Exception):
    """Base of every error raised by :mod:`pywatt.wire`."""


class LocalProtocolError(WireError):
    """Our side misused the protocol API; nothing bad came from the peer."""


class RemoteProtocolError(WireError):
    """The peer sent something the protocol does not allow."""
