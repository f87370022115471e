"""JSON exactly as serde_json writes and reads it, and the typed JSON entry points.

Writing: compact, raw UTF-8, struct fields in declaration order, ``serde_json::Value``
objects with sorted keys, floats in ryu's layout, byte strings as integer arrays. The C
encoder of the standard library does the work; a pure-Python writer takes over only for
values that contain floats, whose text Python would print differently (``1e+16``).

Reading is as strict as serde_json: NaN/Infinity, numbers out of f64 range, lone surrogate
escapes and repeated struct fields are refused; ``-0`` is a float, as in serde_json.
"""

from __future__ import annotations

import json
import re
from json.encoder import encode_basestring
from typing import Any, Final, TypeVar, overload

from ._converters import JSON, DupKeyDict, RyuFloat, object_pairs_hook
from ._errors import DecodeError, EncodeError
from ._values import format_f64

__all__ = ["decode_json", "decode_json_value", "encode_json", "encode_json_value"]

T = TypeVar("T")


class _NeedsSlowWriter(Exception):
    """The C encoder met a float that must be printed ryu-style."""


def _reject_constant(name: str) -> Any:
    raise DecodeError(f"invalid number `{name}` (NaN and infinities are not JSON)")


def _parse_float(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise DecodeError(f"number out of range: {text}")
    return value


def _parse_int_negzero(text: str) -> int | float:
    # serde_json reads the integer literal -0 as the float -0.0.
    return -0.0 if text == "-0" else int(text)


_DECODER: Final = json.JSONDecoder(
    object_pairs_hook=object_pairs_hook,
    parse_constant=_reject_constant,
    parse_float=_parse_float,
)
_DECODER_NEGZERO: Final = json.JSONDecoder(
    object_pairs_hook=object_pairs_hook,
    parse_constant=_reject_constant,
    parse_float=_parse_float,
    parse_int=_parse_int_negzero,
)
_NEGZERO_RE: Final = re.compile(r"(?:^|[\[:,\s])-0(?![\d.eE])")
_SURROGATE_RE: Final = re.compile(r"\\u[dD][89a-fA-F]")


def _check_strings(value: Any) -> None:
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise DecodeError("lone surrogate in hex escape") from None
    elif isinstance(value, list):
        for item in value:
            _check_strings(item)
    elif isinstance(value, dict):
        for k, v in value.items():
            _check_strings(k)
            _check_strings(v)


def parse_json(data: bytes | bytearray | memoryview | str) -> Any:
    """Parse one JSON text into builtins as serde_json would; raises ``DecodeError``."""
    if isinstance(data, str):
        text = data
    else:
        try:
            text = bytes(data).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise DecodeError(f"invalid UTF-8 at byte {exc.start}") from None
    decoder = _DECODER_NEGZERO if "-0" in text and _NEGZERO_RE.search(text) else _DECODER
    try:
        value = decoder.decode(text)
    except json.JSONDecodeError as exc:
        raise DecodeError(f"{exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except RecursionError:
        raise DecodeError("recursion limit exceeded") from None
    if "\\u" in text and _SURROGATE_RE.search(text):
        _check_strings(value)
    return value


def _default(value: Any) -> Any:
    if type(value) is bytes:
        return list(value)
    if type(value) is RyuFloat:
        raise _NeedsSlowWriter
    raise EncodeError(f"{type(value).__name__} cannot be written as JSON")


_ENCODER: Final = json.JSONEncoder(
    ensure_ascii=False,
    separators=(",", ":"),
    default=_default,
    check_circular=False,
    allow_nan=False,
)
# ``JSONEncoder.encode`` builds the C encoder anew on every call (with ``_ENCODER``'s
# settings, no indent); it is built once here and called as ``encode`` calls it.
_MAKE_C_ENCODER: Final[Any] = getattr(json.encoder, "c_make_encoder", None)
_C_ENCODER: Final[Any] = (
    None
    if _MAKE_C_ENCODER is None
    else _MAKE_C_ENCODER(None, _default, encode_basestring, None, ":", ",", False, False, False)
)


def _write(value: Any, out: list[str]) -> None:
    t = type(value)
    if t is str:
        out.append(encode_basestring(value))
    elif value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif t is int:
        out.append(int.__repr__(value))
    elif t is RyuFloat:
        out.append(format_f64(value.value))
    elif t is float:
        out.append(format_f64(value))
    elif t is bytes:
        out.append("[" + ",".join(map(str, value)) + "]")
    elif t is list:
        out.append("[")
        for i, item in enumerate(value):
            if i:
                out.append(",")
            _write(item, out)
        out.append("]")
    elif t is dict or t is DupKeyDict:
        out.append("{")
        for i, (k, v) in enumerate(value.items()):
            if i:
                out.append(",")
            out.append(encode_basestring(k))
            out.append(":")
            _write(v, out)
        out.append("}")
    else:
        raise EncodeError(f"{t.__name__} cannot be written as JSON")


def write_json(tree: Any) -> bytes:
    """Write builtins (as produced by the converters) as serde_json bytes."""
    try:
        text = _ENCODER.encode(tree) if _C_ENCODER is None else "".join(_C_ENCODER(tree, 0))
    except _NeedsSlowWriter:
        out: list[str] = []
        _write(tree, out)
        text = "".join(out)
    except ValueError as exc:
        raise EncodeError(str(exc)) from exc
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        raise EncodeError("string contains a lone surrogate; it has no UTF-8 form") from None


def encode_json(value: Any, as_type: Any = None) -> bytes:
    """Encode a wire value as the exact bytes serde_json would write. Does not block.

    Op variants (``GetSecretRequest``, ``Heartbeat``, ...) are written op-tagged, as the
    enum; pass ``as_type=TheClass`` for the bare struct (e.g. the InitBlob first line).
    Raises ``EncodeError`` for a value with no JSON form (``UnserializableError`` for
    ``Identify``).
    """
    if as_type is None:
        return write_json(unstructure_any(value))
    return write_json(JSON.unstructure(value, as_type))


_SCALARS: Final = frozenset({str, int, bool, type(None)})


def unstructure_any(value: Any) -> Any:
    """``JSON.unstructure(value)``, skipping the converters for a str / int / bool / None and
    a dict of string keys and such values (a request's or reply's usual content): they are
    already the builtins the converters would hand back."""
    t = type(value)
    if t in _SCALARS:
        return value
    if t is dict:
        for key, item in value.items():
            if type(key) is not str or type(item) not in _SCALARS:
                break
        else:
            return value
    return JSON.unstructure(value)


@overload
def decode_json(data: bytes | bytearray | memoryview | str, type_: type[T]) -> T: ...
@overload
def decode_json(data: bytes | bytearray | memoryview | str, type_: Any) -> Any: ...
def decode_json(data: bytes | bytearray | memoryview | str, type_: Any) -> Any:
    """Decode JSON bytes (or text) as ``type_``, accepting exactly what Rust accepts.

    ``type_`` may be a wire class, ``ModuleToOrchestrator`` / ``OrchestratorToModule``
    (dispatch on ``"op"``) or ``Message[T]``. Does not block. Raises ``DecodeError`` (a
    ``RemoteProtocolError``) whose ``path`` names the failing field.
    """
    return JSON.structure(parse_json(data), type_)


def encode_json_value(value: Any) -> bytes:
    """Encode any JSON value (``serde_json::Value``): objects sorted, floats ryu-style."""
    from ._values import JsonValue

    return write_json(JSON.unstructure(value, JsonValue))


def decode_json_value(data: bytes | bytearray | memoryview | str) -> Any:
    """Decode any JSON value as ``serde_json::Value`` would read it."""
    from ._values import JsonValue

    return JSON.structure(parse_json(data), JsonValue)
