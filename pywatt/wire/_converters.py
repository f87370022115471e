"""The one place cattrs is configured: strict, serde-shaped converters per wire format.

Two converters share one set of rules and differ only where the formats differ:

* ``JSON``: UUIDs are strings, ``bytes`` stay ``bytes`` (the JSON writer prints them as
  integer arrays), floats inside JSON values are marked for ryu formatting.
* ``MSGPACK``: UUIDs are 16-byte ``bin`` (as rmp-serde writes them), ``bytes`` become
  integer arrays, floats stay floats.

Structuring is strict, as serde is: a string never becomes an int, ``200.0`` is not a
``u16``, ``true`` is not a byte, ``null`` is not a struct. Every attrs class gets its
hooks generated once (cattrs compiles them); unions dispatch on ``"op"`` by a table lookup.
"""

from __future__ import annotations

import enum
import functools
import uuid
from collections.abc import Callable
from types import UnionType
from typing import Any, Final, NoReturn, TypeVar, Union, get_args, get_origin

import attrs
import cattrs
from cattrs.fns import identity
from cattrs.gen import make_dict_structure_fn, override

from ._errors import DecodeError, EncodeError, IntegerOutOfRange, UnserializableError
from ._hooks import (
    DupKeyDict,
    Flavor,
    RyuFloat,
    WireValueError,
    _enum_structure,
    _int_hook,
    _int_kind,
    _invalid_type,
    _is_json_value,
    _s_bool,
    _s_bytes_json,
    _s_bytes_msgpack,
    _s_listen,
    _s_plain_int,
    _s_service_type,
    _s_socket,
    _s_str,
    _s_uuid_json,
    _s_uuid_msgpack,
    _s_value,
    _u_service_type,
    _u_value,
    object_pairs_hook,
)
from ._model import BARE, RENAME, SKIP_NONE, WIRE_REQUIRED, is_union_base, union_base
from ._types_common import ListenAddress, ServiceType
from ._types_ops import Identify
from ._types_services import GetSecretResponse
from ._values import IntKind, SocketAddress, int_like

__all__ = ["JSON", "MSGPACK", "DupKeyDict", "Flavor", "RyuFloat", "object_pairs_hook"]


# --- the converter ------------------------------------------------------------------------


def _fields(cl: Any) -> tuple[attrs.Attribute[Any], ...]:
    return tuple(attrs.fields(get_origin(cl) or cl))


def _is_enum(t: Any) -> bool:
    return isinstance(t, type) and issubclass(t, enum.Enum)


def _is_list(t: Any) -> bool:
    return get_origin(t) is list


def _is_dict(t: Any) -> bool:
    return get_origin(t) is dict


def _is_attrs(t: Any) -> bool:
    return attrs.has(get_origin(t) or t)


def _is_listen_address(t: Any) -> bool:
    return bool(t == ListenAddress)


def _is_int_kind(t: Any) -> bool:
    return _int_kind(t) is not None


def _wire_name(a: attrs.Attribute[Any]) -> str:
    return a.metadata.get(RENAME, a.name)  # type: ignore[no-any-return]


class WireConverter:
    """A configured cattrs converter plus the entry points the codecs use."""

    def __init__(self, flavor: Flavor) -> None:
        self.flavor = flavor
        c = cattrs.Converter(detailed_validation=True)
        self.cattrs = c
        json_flavor = flavor is Flavor.JSON
        c.register_structure_hook(str, _s_str)
        c.register_structure_hook(bool, _s_bool)
        c.register_structure_hook(int, _s_plain_int)
        c.register_structure_hook_func(_is_int_kind, self._s_int_kind)
        c.register_structure_hook(bytes, _s_bytes_json if json_flavor else _s_bytes_msgpack)
        c.register_structure_hook(uuid.UUID, _s_uuid_json if json_flavor else _s_uuid_msgpack)
        c.register_structure_hook(SocketAddress, _s_socket(flavor))
        c.register_structure_hook_func(_is_listen_address, _s_listen(flavor))
        c.register_structure_hook(ServiceType, _s_service_type)
        c.register_structure_hook_factory(_is_enum, _enum_structure)
        c.register_structure_hook_func(_is_json_value, self._s_json_value)
        c.register_structure_hook_func(_is_list, self._s_list)
        c.register_structure_hook_func(_is_dict, self._s_dict)
        c.register_structure_hook_func(is_union_base, self._s_union)
        c.register_structure_hook(Identify, self._s_identify)
        c.register_structure_hook_factory(_is_attrs, self._class_structure)

        c.register_unstructure_hook(uuid.UUID, str if json_flavor else (lambda u: u.bytes))
        if not json_flavor:
            c.register_unstructure_hook(bytes, list)
        else:
            c.register_unstructure_hook(bytes, lambda b: b)
        c.register_unstructure_hook(SocketAddress, str)
        c.register_unstructure_hook_factory(_is_int_kind, _int_unstructure)
        c.register_unstructure_hook(ServiceType, _u_service_type)
        c.register_unstructure_hook(Identify, self._u_identify)
        c.register_unstructure_hook(GetSecretResponse, self._u_get_secret_response)
        c.register_unstructure_hook_func(
            _is_json_value, functools.partial(_u_value, marker=json_flavor)
        )
        c.register_unstructure_hook_func(is_union_base, lambda v: self.unstructure(v))
        c.register_unstructure_hook_factory(_is_attrs, self._class_unstructure)
        self._bare: dict[type[Any], Callable[[Any], dict[str, Any]]] = {}
        self._int_hook_cache: dict[Any, Callable[[Any, Any], int]] = {}
        self._structure_cache: dict[Any, Callable[[Any, Any], Any]] = {}

    def _s_int_kind(self, value: Any, t: Any) -> int:
        hook = self._int_hook_cache.get(t)
        if hook is None:
            kind = _int_kind(t)
            assert kind is not None
            hook = self._int_hook_cache[t] = _int_hook(kind)
        return hook(value, t)

    # structure ---------------------------------------------------------------------------

    def _s_json_value(self, value: Any, t: Any) -> Any:
        base = get_args(t)[0]
        if base is not Any and get_origin(base) is dict and not isinstance(value, dict):
            _invalid_type(value, "a map")
        return _s_value(value)

    def _s_list(self, value: Any, t: Any) -> list[Any]:
        if type(value) is not list:
            _invalid_type(value, "a sequence")
        (item_type,) = get_args(t) or (Any,)
        hook = self.cattrs.get_structure_hook(item_type)
        out = []
        errors = []
        for i, item in enumerate(value):
            try:
                out.append(hook(item, item_type))
            except Exception as exc:
                exc.__notes__ = [*getattr(exc, "__notes__", []), _IndexNote(i)]
                errors.append(exc)
                break
        if errors:
            raise cattrs.IterableValidationError("list", errors, t)
        return out

    def _s_dict(self, value: Any, t: Any) -> dict[Any, Any]:
        if not isinstance(value, dict):
            _invalid_type(value, "a map")
        key_type, value_type = get_args(t) or (Any, Any)
        key_hook = self.cattrs.get_structure_hook(key_type)
        value_hook = self.cattrs.get_structure_hook(value_type)
        out = {}
        for k, v in value.items():
            try:
                out[key_hook(k, key_type)] = value_hook(v, value_type)
            except Exception as exc:
                exc.__notes__ = [*getattr(exc, "__notes__", []), _IndexNote(k)]
                raise cattrs.IterableValidationError("map", [exc], t) from None
        return out

    def _s_union(self, value: Any, t: Any) -> Any:
        if not isinstance(value, dict):
            _invalid_type(value, f"internally tagged enum {t.__name__}")
        if type(value) is DupKeyDict and "op" in value.dups:
            raise WireValueError("duplicate field `op`")
        op = value.get("op")
        if op is None:
            raise WireValueError("missing field `op`")
        if type(op) is not str:
            _invalid_type(op, "variant identifier")
        variant = t.VARIANTS.get(op)
        if variant is None:
            expected = ", ".join(f"`{k}`" for k in t.VARIANTS)
            raise WireValueError(f"unknown variant `{op}`, expected one of {expected}")
        return self.cattrs.get_structure_hook(variant)(value, variant)

    def _s_identify(self, value: Any, _: Any) -> NoReturn:
        raise WireValueError("invalid type: map, expected a string (Identify has no wire form)")

    def _class_structure(self, cl: Any) -> Callable[[Any, Any], Any]:
        overrides: dict[str, Any] = {}
        for a in _fields(cl):
            if RENAME in a.metadata:
                overrides[a.name] = override(rename=a.metadata[RENAME])
        gen = make_dict_structure_fn(cl, self.cattrs, **overrides)
        names = frozenset(_wire_name(a) for a in _fields(cl))
        required = tuple(_wire_name(a) for a in _fields(cl) if a.metadata.get(WIRE_REQUIRED))
        what = f"struct {getattr(get_origin(cl) or cl, '__name__', cl)}"

        def hook(value: Any, _: Any) -> Any:
            t = type(value)
            if t is not dict:
                if t is DupKeyDict:
                    dup = sorted(value.dups & names)
                    if dup:
                        raise WireValueError(f"duplicate field `{dup[0]}`")
                else:
                    _invalid_type(value, what)
            for key in required:
                if key not in value:
                    raise WireValueError(f"missing field `{key}`")
            return gen(value, cl)

        return hook

    # unstructure -------------------------------------------------------------------------

    def _u_identify(self, value: Any) -> NoReturn:
        raise UnserializableError(
            "cannot serialize tagged newtype variant ModuleToOrchestrator::Identify "
            "containing a string (the Rust SDK cannot send Identify either, PROTOCOL §16 A1)"
        )

    def _u_get_secret_response(self, value: GetSecretResponse) -> dict[str, Any]:
        # The Rust serializer is hand-written: the value is always redacted and
        # rotation_id is always present.
        return {"name": value.name, "value": "[REDACTED]", "rotation_id": value.rotation_id}

    def _field_hook(self, t: Any) -> Callable[[Any], Any] | None:
        """The unstructure hook for a field type; None when the value is kept as it is."""
        if isinstance(t, TypeVar) or t is Any:
            return self.cattrs.unstructure
        hook = self.cattrs.get_unstructure_hook(t)
        if hook is identity:
            return None
        if get_origin(t) in (list, dict) and all(
            self._field_hook(arg) is None for arg in get_args(t)
        ):
            return None
        return hook

    def _bare_fn(self, cl: Any) -> Callable[[Any], dict[str, Any]]:
        """Compile the bare-struct unstructure function of an attrs class (or generic alias).

        Keys come out in declaration order, including skip-if-none fields (cattrs' own
        ``omit_if_default`` moves those to the end, which would break byte equality).
        """
        origin = get_origin(cl) or cl
        attrs.resolve_types(origin)
        typevars: dict[Any, Any] = dict(
            zip(getattr(origin, "__parameters__", ()), get_args(cl), strict=False)
        )
        lines = ["def unstructure(instance):", "    res = {}"]
        env: dict[str, Any] = {"int_like": int_like, "out_of_range": _out_of_range}
        for i, a in enumerate(attrs.fields(origin)):
            t = typevars.get(a.type, a.type) if isinstance(a.type, TypeVar) else a.type
            optional = False
            if get_origin(t) in (Union, UnionType) and type(None) in get_args(t):
                rest = tuple(x for x in get_args(t) if x is not type(None))
                if len(rest) == 1:
                    t, optional = rest[0], True
            kind = _int_kind(t)
            if a.metadata.get(BARE):
                hook: Callable[[Any], Any] | None = self.unstructure_bare
            elif kind is not None:
                hook = None  # checked inline below, naming the field
            else:
                hook = self._field_hook(t)
            key = repr(_wire_name(a))
            expr = f"v{i}" if hook is None else f"h{i}(v{i})"
            if hook is not None:
                env[f"h{i}"] = hook
            lines.append(f"    v{i} = instance.{a.name}")
            if kind is not None:
                # Rust would refuse what does not fit the field's type; refuse to send it.
                bad = f"(type(v{i}) is not int and not int_like(v{i})) or not "
                bad += f"{kind.lo} <= v{i} <= {kind.hi}"
                if optional:
                    bad = f"v{i} is not None and ({bad})"
                field = f"{origin.__name__}.{a.name}"
                lines.append(f"    if {bad}:")
                lines.append(f"        out_of_range(v{i}, {kind.name!r}, {field!r})")
            if a.metadata.get(SKIP_NONE):
                lines.append(f"    if v{i} is not None:")
                lines.append(f"        res[{key}] = {expr}")
            elif optional and hook is not None:
                lines.append(f"    res[{key}] = None if v{i} is None else {expr}")
            else:
                lines.append(f"    res[{key}] = {expr}")
        lines.append("    return res")
        exec("\n".join(lines), env)
        return env["unstructure"]  # type: ignore[no-any-return]

    def _u_bare_optional(self, value: Any) -> Any:
        return None if value is None else self.unstructure_bare(value)

    def _class_unstructure(self, cl: Any) -> Callable[[Any], Any]:
        gen = self._bare_fn(cl)
        base = union_base(get_origin(cl) or cl)
        if base is None:
            return gen
        op = (get_origin(cl) or cl).OP

        def tagged(value: Any) -> dict[str, Any]:
            return {"op": op, **gen(value)}

        return tagged

    # entry points ------------------------------------------------------------------------

    def unstructure(self, value: Any, as_type: Any = None) -> Any:
        """Builtins for ``value`` in its natural form (op variants tagged).

        ``as_type`` names the type to encode as; an op-variant class itself gives the bare
        struct. Raises ``EncodeError`` (or ``UnserializableError``) for unencodable values.
        """
        if as_type is None:
            return self.cattrs.unstructure(value)
        if isinstance(as_type, type) and union_base(as_type) is not None:
            if not isinstance(value, as_type):
                raise EncodeError(f"{type(value).__name__} is not a {as_type.__name__}")
            return self.unstructure_bare(value)
        return self.cattrs.unstructure(value, unstructure_as=as_type)

    def unstructure_bare(self, value: Any) -> dict[str, Any]:
        """Builtins for an attrs value as its bare struct (no ``"op"`` key)."""
        cl = type(value)
        fn = self._bare.get(cl)
        if fn is None:
            if cl is Identify:
                self._u_identify(value)
            fn = self._bare[cl] = self._bare_fn(cl)
        return fn(value)

    def structure(self, data: Any, type_: Any) -> Any:
        """The typed value for decoded builtins; raises ``DecodeError`` naming the path."""
        hook = self._structure_cache.get(type_)
        if hook is None:
            hook = self._structure_cache[type_] = self.cattrs.get_structure_hook(type_)
        try:
            return hook(data, type_)
        except Exception as exc:
            raise to_decode_error(exc) from exc


def _out_of_range(value: object, expected: str, field: str | None = None) -> NoReturn:
    raise IntegerOutOfRange(value, expected, field)


def _int_unstructure(t: Any) -> Callable[[Any], Any]:
    """An integer outside a struct field (a list item, an ``as_type``): checked the same way."""
    kind = _int_kind(t)
    assert isinstance(kind, IntKind)
    lo, hi, name = kind.lo, kind.hi, kind.name

    def hook(value: Any) -> Any:
        if (type(value) is not int and not int_like(value)) or not lo <= value <= hi:
            _out_of_range(value, name)
        return value

    return hook


class _IndexNote(str):
    """A ``__notes__`` entry carrying a list index or map key for the error path."""

    __slots__ = ("key",)
    key: object

    def __new__(cls, key: object) -> _IndexNote:
        self = super().__new__(cls, f"at index {key!r}")
        self.key = key
        return self


def _leaf(exc: BaseException, path: str) -> tuple[BaseException, str]:
    """Walk a cattrs exception group down to its first leaf, building the JSONPath."""
    while isinstance(exc, BaseExceptionGroup):
        inner = exc.exceptions[0]
        step = ""
        for note in getattr(inner, "__notes__", []):
            if isinstance(note, _IndexNote):
                i = note.key
                step = f"[{i}]" if isinstance(i, int) else f".{i}"
            elif hasattr(note, "name") and isinstance(getattr(note, "name", None), str):
                step = f".{note.name}"
            elif hasattr(note, "index"):
                step = f"[{note.index}]"
        path += step
        exc = inner
    return exc, path


def to_decode_error(exc: BaseException) -> DecodeError:
    """Turn a structuring failure into a ``DecodeError`` with the failing field's path."""
    leaf, path = _leaf(exc, "$")
    if isinstance(leaf, DecodeError):
        return DecodeError(leaf.reason, path + leaf.path[1:])
    if isinstance(leaf, KeyError):
        # cattrs reports a missing required field as a KeyError on the last path step.
        name = leaf.args[0] if leaf.args else "?"
        path = path.rsplit(".", 1)[0] if path.endswith(f".{name}") else path
        return DecodeError(f"missing field `{name}`", path)
    if isinstance(leaf, WireValueError | OverflowError):  # OverflowError: Duration's carry
        return DecodeError(str(leaf), path)
    return DecodeError(f"{type(leaf).__name__}: {leaf}", path)


JSON: Final = WireConverter(Flavor.JSON)
MSGPACK: Final = WireConverter(Flavor.MSGPACK)
