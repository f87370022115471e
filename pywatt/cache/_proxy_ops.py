"""The cache protocol as docs/protocol.md §13.2 cache operations, both ways.

Module side: :func:`to_operation` turns a message into ``(operation, params)`` and
:func:`from_result` turns the orchestrator's ``result`` into the reply. Orchestrator side:
:func:`from_operation` and :func:`to_result` do the reverse. Byte values travel as standard
base64; ``Decrement`` travels as ``increment`` with a negative delta (§13.2 has no
``decrement``); TTLs are whole seconds (``ttl_seconds``, rounded up).

A failed operation's ``error`` text starts with the error's type name (``"NotAnInteger:
..."``), so the module side raises the same typed error (:func:`error_from_text`); an
unknown name becomes :class:`CacheBackendError`.
"""

from __future__ import annotations

import base64
import binascii
import math
from typing import Any, Final

from . import _errors
from ._errors import CacheBackendError, CacheError, CacheProtocolError
from ._messages import (
    CacheRequest,
    CacheStatistics,
    Clear,
    Decrement,
    Delete,
    DeleteMany,
    Exists,
    Get,
    GetMany,
    GetSet,
    Increment,
    Set,
    SetMany,
    SetNx,
    Stats,
)

_TYPED: Final = {
    cls.__name__: cls
    for cls in (
        _errors.CacheUnavailable,
        _errors.InvalidKey,
        _errors.NotAnInteger,
        _errors.CounterOverflow,
        _errors.ValueTooLarge,
        _errors.CacheFull,
    )
}


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: Any, where: str) -> bytes:
    if isinstance(text, list) and all(isinstance(b, int) and 0 <= b < 256 for b in text):
        return bytes(text)  # §13.2: a value may also come as an integer array
    if not isinstance(text, str):
        raise CacheProtocolError(f"{where}: expected a base64 string, got {type(text).__name__}")
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise CacheProtocolError(f"{where}: not valid base64") from exc


def _ttl(ttl: float | None) -> int | None:
    return None if ttl is None else max(1, math.ceil(ttl))


# -- module side ---------------------------------------------------------------------------


def to_operation(message: CacheRequest) -> tuple[str, dict[str, Any]]:
    """The §13.2 operation name and params for a cache message."""
    match message:
        case Get(key):
            return "get", {"key": key}
        case Set(key, value, ttl):
            return "set", {"key": key, "ttl_seconds": _ttl(ttl), "value": _b64(value)}
        case Delete(key):
            return "delete", {"key": key}
        case Exists(key):
            return "exists", {"key": key}
        case SetNx(key, value, ttl):
            return "set_nx", {"key": key, "ttl_seconds": _ttl(ttl), "value": _b64(value)}
        case GetSet(key, value, ttl):
            params = {"key": key, "value": _b64(value)}
            if ttl is not None:  # an extension: §13.2 get_set has no TTL
                params["ttl_seconds"] = _ttl(ttl)  # type: ignore[assignment]
            return "get_set", params
        case Increment(key, delta):
            return "increment", {"delta": delta, "key": key}
        case Decrement(key, delta):
            return "increment", {"delta": -delta, "key": key}
        case GetMany(keys):
            return "get_many", {"keys": list(keys)}
        case SetMany(items, ttl):
            encoded = {k: _b64(v) for k, v in items.items()}
            return "set_many", {"items": encoded, "ttl_seconds": _ttl(ttl)}
        case DeleteMany(keys):
            return "delete_many", {"keys": list(keys)}
        case Clear():
            return "clear", {"namespace": None}
        case Stats():
            return "stats", {}
    raise AssertionError(message)


def from_result(message: CacheRequest, result: Any) -> Any:
    """The reply to ``message`` from a successful operation's ``result``.

    Raises :class:`CacheProtocolError` when the result has the wrong shape.
    """
    where = f"the orchestrator's answer to {type(message).__name__}"
    match message:
        case Get() | GetSet():
            return None if result is None else _unb64(result, where)
        case Delete() | Exists() | SetNx():
            if not isinstance(result, bool):
                raise CacheProtocolError(f"{where}: expected a bool, got {result!r}")
            return result
        case Increment() | Decrement() | DeleteMany():
            if isinstance(result, bool) or not isinstance(result, int):
                raise CacheProtocolError(f"{where}: expected an integer, got {result!r}")
            return result
        case GetMany():
            if not isinstance(result, dict):
                raise CacheProtocolError(f"{where}: expected an object, got {result!r}")
            return {str(k): _unb64(v, where) for k, v in result.items()}
        case Set() | SetMany() | Clear():
            return None
        case Stats():
            return _statistics(result, where)
    raise AssertionError(message)


def _statistics(result: Any, where: str) -> CacheStatistics:
    if not isinstance(result, dict):
        raise CacheProtocolError(f"{where}: expected a stats object, got {result!r}")
    extra = result.get("additional_metrics") or {}

    def count(name: str) -> int:
        value = result.get(name)
        return value if isinstance(value, int) and not isinstance(value, bool) else 0

    def number(name: str) -> float:
        try:
            return float(extra.get(name, 0.0))
        except (TypeError, ValueError):
            return 0.0

    return CacheStatistics(
        backend="proxy",
        hits=count("hits"),
        misses=count("misses"),
        sets=count("sets"),
        deletes=count("deletes"),
        evictions=int(number("evictions")),
        expirations=int(number("expirations")),
        errors=int(number("errors")),
        operations=int(number("operations")),
        items=result.get("item_count"),
        bytes=result.get("memory_used_bytes"),
        latency_mean_us=number("latency_mean_us"),
        latency_p50_us=number("latency_p50_us"),
        latency_p99_us=number("latency_p99_us"),
        latency_max_us=number("latency_max_us"),
        server={str(k): str(v) for k, v in extra.items()},
    )


def error_from_text(text: str | None) -> CacheError:
    """The typed error a failed operation's ``error`` text names (see the module doc)."""
    text = text or "Unknown error"
    name, sep, detail = text.partition(": ")
    cls = _TYPED.get(name) if sep else None
    error: CacheError
    if cls is None:
        error = CacheBackendError(f"the orchestrator's cache failed: {text}")
    else:
        error = CacheError.__new__(cls)
        CacheError.__init__(error, f"(via the orchestrator) {detail}")
    return error


# -- orchestrator side ---------------------------------------------------------------------


def _param(params: Any, name: str, kind: type | tuple[type, ...], operation: str) -> Any:
    if not isinstance(params, dict) or name not in params:
        raise CacheProtocolError(f"cache operation {operation!r} needs the param {name!r}")
    value = params[name]
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is int):
        raise CacheProtocolError(f"cache operation {operation!r}: bad {name!r} {value!r}")
    return value


def _ttl_param(params: Any, operation: str) -> float | None:
    ttl = params.get("ttl_seconds") if isinstance(params, dict) else None
    if ttl is None:
        return None
    if isinstance(ttl, bool) or not isinstance(ttl, int) or ttl < 0:
        raise CacheProtocolError(f"cache operation {operation!r}: bad ttl_seconds {ttl!r}")
    return float(ttl) if ttl > 0 else None


def from_operation(operation: str, params: Any) -> CacheRequest:
    """The cache message for a §13.2 operation. Raises :class:`CacheProtocolError` for an
    unknown operation or bad params, and the message's own errors (InvalidKey, ...)."""

    def key() -> str:
        text: str = _param(params, "key", str, operation)
        return text

    def value() -> bytes:
        return _unb64(_param(params, "value", (str, list), operation), operation)

    match operation:
        case "get":
            return Get(key())
        case "set":
            return Set(key(), value(), _ttl_param(params, operation))
        case "delete":
            return Delete(key())
        case "exists":
            return Exists(key())
        case "set_nx":
            return SetNx(key(), value(), _ttl_param(params, operation))
        case "get_set":
            return GetSet(key(), value(), _ttl_param(params, operation))
        case "increment":
            return Increment(key(), _param(params, "delta", int, operation))
        case "decrement":
            return Decrement(key(), _param(params, "delta", int, operation))
        case "get_many":
            return GetMany(tuple(_param(params, "keys", list, operation)))
        case "set_many":
            items = _param(params, "items", dict, operation)
            decoded = {str(k): _unb64(v, operation) for k, v in items.items()}
            return SetMany(decoded, _ttl_param(params, operation))
        case "delete_many":
            return DeleteMany(tuple(_param(params, "keys", list, operation)))
        case "clear":
            return Clear()
        case "stats":
            return Stats()
    raise CacheProtocolError(f"unknown cache operation {operation!r}")


def to_result(message: CacheRequest, reply: Any) -> Any:
    """The §13.2 ``result`` JSON for the reply to ``message``."""
    match message:
        case Get() | GetSet():
            return None if reply is None else _b64(reply)
        case GetMany():
            return {k: _b64(v) for k, v in reply.items()}
        case Set() | SetMany() | Clear():
            return True
        case Stats():
            stats: CacheStatistics = reply
            extra = {
                "backend": stats.backend,
                "evictions": str(stats.evictions),
                "expirations": str(stats.expirations),
                "errors": str(stats.errors),
                "operations": str(stats.operations),
                "latency_mean_us": f"{stats.latency_mean_us:.3f}",
                "latency_p50_us": f"{stats.latency_p50_us:.3f}",
                "latency_p99_us": f"{stats.latency_p99_us:.3f}",
                "latency_max_us": f"{stats.latency_max_us:.3f}",
            }
            return {
                "additional_metrics": extra,
                "deletes": stats.deletes,
                "hits": stats.hits,
                "item_count": stats.items,
                "memory_used_bytes": stats.bytes,
                "misses": stats.misses,
                "sets": stats.sets,
            }
    return reply


def error_text(error: BaseException) -> str:
    """The ``error`` text for a failed operation: the type name, then the message."""
    return f"{type(error).__name__}: {error}"
