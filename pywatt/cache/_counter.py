"""Counter values as the in-memory and file caches store them: decimal ASCII, signed 64-bit,
the same text and range as Redis (``INCRBY``), so a value moves between backends unchanged."""

from __future__ import annotations

import re

from ._errors import CounterOverflow, NotAnInteger

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
_DECIMAL = re.compile(rb"-?(0|[1-9][0-9]*)")


def read_counter(key: str, value: bytes | None) -> int:
    """The integer stored in ``value`` (0 when None). Raises :class:`NotAnInteger`."""
    if value is None:
        return 0
    if len(value) > 20 or not _DECIMAL.fullmatch(value) or value == b"-0":
        raise NotAnInteger(key, "the stored value is not a decimal 64-bit integer")
    number = int(value)
    if not INT64_MIN <= number <= INT64_MAX:
        raise NotAnInteger(key, "the stored value is out of the 64-bit range")
    return number


def add_counter(key: str, current: int, delta: int) -> int:
    """``current + delta``; raises :class:`CounterOverflow` outside the signed 64-bit range."""
    if not INT64_MIN <= delta <= INT64_MAX:
        raise CounterOverflow(key, f"delta {delta} is outside the signed 64-bit range")
    result = current + delta
    if not INT64_MIN <= result <= INT64_MAX:
        raise CounterOverflow(key, f"{current} + {delta} leaves the signed 64-bit range")
    return result


def encode_counter(number: int) -> bytes:
    """The stored form of ``number``."""
    return str(number).encode("ascii")
