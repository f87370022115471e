"""Configuration as data: one cattrs converter turns the dicts users write into attrs classes.

Every part of pywatt that takes a config dict (``cache_config``, ``database_config``,
``messaging_config``, ...) describes it as frozen attrs classes and calls
:func:`structure_config`; a dict whose ``type`` (or ``backend``) picks one of several shapes
is a tagged union registered with :func:`register_tagged_union`. The converter is strict:
a number is a number (``"10"`` is not), a flag is True or False, a key the class does not
have is refused. Whatever is wrong comes back as one :class:`~pywatt.ConfigError` (or the
subclass the caller names) of one line: the key path as the user wrote it
(``database_config['pool_config']['max_connections']``), what is wrong, and for an unknown
key the keys allowed there with a did-you-mean.

Other spellings of a key (the seed's ``max_size`` for ``max_entries``) are listed in the
field's metadata with :func:`aliases`; giving both spellings is an error.

It sits at the bottom of pywatt, beside ``_errors`` and ``_suggest``: it knows attrs and
cattrs, nothing of the packages that use it.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Final, TypeVar

import attrs
import cattrs
from cattrs.cols import (
    homogenous_tuple_structure_factory,
    is_mutable_sequence,
    is_sequence,
    list_structure_factory,
)
from cattrs.errors import AttributeValidationNote, ForbiddenExtraKeysError, IterableValidationNote
from cattrs.gen import make_dict_structure_fn

from ._errors import ConfigError
from ._suggest import did_you_mean, unknown_keys

__all__ = [
    "CONVERTER",
    "Invalid",
    "aliases",
    "register_tagged_union",
    "structure_config",
    "unstructure_config",
]

T = TypeVar("T")

_ALIASES: Final = "pywatt.aliases"


class Invalid(ValueError):
    """Raised by a structure hook: the value at this key is wrong. The message is a
    predicate (``must be a number, not 'ten'``); the key path is put in front of it."""


class _Variant(str):
    """A note on an error from inside a tagged union: which shape the dict was read as."""

    __slots__ = ("kind", "tag")
    kind: str
    tag: str

    def __new__(cls, kind: str, tag: str) -> _Variant:
        note = super().__new__(cls, f"read as {tag} {kind!r}")
        note.kind, note.tag = kind, tag
        return note


def aliases(*names: str) -> dict[str, tuple[str, ...]]:
    """Field metadata: other keys that mean this field (``attrs.field(metadata=aliases("db"))``)."""
    return {_ALIASES: names}


def _field_aliases(cls: type) -> dict[str, str]:
    return {
        alias: field.name
        for field in attrs.fields(cls)
        for alias in field.metadata.get(_ALIASES, ())
    }


def _known_keys(cls: type) -> list[str]:
    return [field.name for field in attrs.fields(cls)] + list(_field_aliases(cls))


def _shown(value: object) -> str:
    plain = isinstance(value, str | int | float | bool | None)
    return repr(value) if plain else type(value).__name__


def _bool(value: object, _: object) -> bool:
    if isinstance(value, bool):
        return value
    raise Invalid(f"must be True or False, not {_shown(value)}")


def _int(value: object, _: object) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().isdigit():  # a port from an environment variable
        return int(value)
    raise Invalid(f"must be a number, not {_shown(value)}")


def _float(value: object, _: object) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    raise Invalid(f"must be a number, not {_shown(value)}")


def _str(value: object, _: object) -> str:
    if isinstance(value, str):
        return value
    raise Invalid(f"must be a string, not {_shown(value)}")


def _enum_hook(cls: type[enum.Enum]) -> Callable[[object, object], enum.Enum]:
    """An enum from itself, its value or its name (case-insensitively); its own ``parse``
    when it has one (its message names what it accepts)."""
    parse = getattr(cls, "parse", None)

    def hook(value: object, _: object) -> enum.Enum:
        if isinstance(value, cls):
            return value
        if parse is not None:
            return parse(value)  # type: ignore[no-any-return]
        text = str(getattr(value, "value", value)).lower()
        for member in cls:
            if text in (str(member.value).lower(), member.name.lower()):
                return member
        values = [str(member.value) for member in cls]
        hint = did_you_mean(text, [v.lower() for v in values])
        raise Invalid(f"must be one of {', '.join(values)}, not {_shown(value)}{hint}")

    return hook


def _make_converter() -> cattrs.Converter:
    converter = cattrs.Converter(forbid_extra_keys=True, detailed_validation=True)
    converter.register_structure_hook(bool, _bool)
    converter.register_structure_hook(int, _int)
    converter.register_structure_hook(float, _float)
    converter.register_structure_hook(str, _str)
    converter.register_structure_hook_factory(
        lambda t: isinstance(t, type) and issubclass(t, enum.Enum), _enum_hook
    )
    converter.register_unstructure_hook_func(
        lambda t: isinstance(t, type) and issubclass(t, enum.Enum), lambda member: member.value
    )

    def attrs_hook(cls: type) -> Callable[[object, object], Any]:
        inner: Callable[[Any, Any], Any] = make_dict_structure_fn(
            cls, converter, _cattrs_forbid_extra_keys=True
        )
        renames = _field_aliases(cls)

        def hook(value: object, _: object) -> Any:
            if isinstance(value, cls):
                return value
            if not isinstance(value, Mapping):
                raise Invalid(f"must be a dict, not {type(value).__name__}")
            if renames:
                value = dict(value)
                for alias, key in renames.items():
                    if alias in value:
                        if key in value:
                            raise ConfigError(f"give {key!r} or {alias!r}, not both")
                        value[key] = value.pop(alias)
            return inner(value, cls)

        return hook

    converter.register_structure_hook_factory(attrs.has, attrs_hook)

    def sequence_hook(kind: Any) -> Callable[[object, object], Any]:
        """A list for ``list[T]``, a tuple for the other sequences; a string is not a list
        of its letters."""
        if is_mutable_sequence(kind):
            inner = list_structure_factory(kind, converter)
        else:
            inner = homogenous_tuple_structure_factory(kind, converter)

        def hook(value: object, _: object) -> Any:
            if isinstance(value, str | bytes | Mapping):
                raise Invalid(f"must be a list, not {_shown(value)}")
            return inner(value, kind)

        return hook

    converter.register_structure_hook_factory(
        lambda t: is_sequence(t) and t not in (str, bytes), sequence_hook
    )
    return converter


CONVERTER: Final = _make_converter()
"""The one converter every config class is structured by."""


def _normal(raw: object) -> list[str]:
    """The spellings a tag may be looked up by: an enum's value, then its name."""
    if isinstance(raw, enum.Enum):
        return [str(raw.value).lower().replace("-", "_"), raw.name.lower()]
    return [str(raw).lower().replace("-", "_")]


def register_tagged_union(
    union: Any,
    variants: Mapping[str, type],
    *,
    tag: str = "type",
    spellings: Mapping[str, str] | None = None,
    default: str | None = None,
) -> None:
    """Structure ``union`` (``A | B | C``) from a dict whose ``tag`` key names the shape:
    one of ``variants`` or a key of ``spellings`` (other names of a variant); case and
    ``-``/``_`` do not matter, and an enum is read by its value or name. ``default`` is the
    shape of a dict without the tag (None: the tag is required). Unstructuring writes the tag.
    """
    lookup = {name: name for name in variants} | dict(spellings or {})
    names = ", ".join(sorted(variants))
    kinds = {cls: name for name, cls in variants.items()}

    def structure(value: object, _: object) -> Any:
        if not isinstance(value, Mapping):
            raise Invalid(f"must be a dict, not {type(value).__name__}")
        raw = value.get(tag, default)
        if raw is None:
            raise ConfigError(f"needs {tag!r}: one of {names}")
        kind = next((lookup[s] for s in _normal(raw) if s in lookup), None)
        if kind is None:
            hint = did_you_mean(_normal(raw)[0], lookup)
            raise ConfigError(f"{tag} {_shown(raw)} is not one of {names}{hint}")
        rest = {key: item for key, item in value.items() if key != tag}
        try:
            return CONVERTER.structure(rest, variants[kind])
        except Exception as exc:
            exc.add_note(_Variant(kind, tag))
            raise

    def unstructure(value: Any) -> dict[str, Any]:
        data: dict[str, Any] = CONVERTER.unstructure(value)
        return {tag: kinds[type(value)], **data}

    CONVERTER.register_structure_hook_func(lambda t: t == union, structure)
    CONVERTER.register_unstructure_hook_func(lambda t: t == union, unstructure)


def _segment(exc: BaseException) -> str | int | None:
    for note in getattr(exc, "__notes__", ()):
        if isinstance(note, AttributeValidationNote):
            return note.name
        if isinstance(note, IterableValidationNote):
            return note.index
    return None


def _variant(exc: BaseException) -> _Variant | None:
    return next((n for n in getattr(exc, "__notes__", ()) if isinstance(n, _Variant)), None)


def _leaves(
    exc: BaseException, path: tuple[str | int, ...], variant: _Variant | None
) -> Iterator[tuple[tuple[str | int, ...], _Variant | None, BaseException]]:
    variant = _variant(exc) or variant
    if isinstance(exc, BaseExceptionGroup):
        for sub in exc.exceptions:
            segment = _segment(sub)
            yield from _leaves(sub, path if segment is None else (*path, segment), variant)
    else:
        yield path, variant, exc


Path = tuple[str | int, ...]


def _line(root: str, path: Path, variant: _Variant | None, exc: BaseException) -> str:
    where = root + "".join(f"[{key!r}]" for key in path)
    if isinstance(exc, KeyError):  # a key the class has no default for: said of its dict
        where, path = root + "".join(f"[{key!r}]" for key in path[:-1]), path[:-1]
    at = f"{where} for {variant.kind}" if variant else where
    if isinstance(exc, ForbiddenExtraKeysError):
        known = _known_keys(exc.cl) + ([variant.tag] if variant else [])
        return f"{at}: {unknown_keys('key', exc.extra_fields, known)}"
    if isinstance(exc, KeyError):
        return f"{at} needs {exc.args[0]}"
    if isinstance(exc, Invalid):
        return f"{where} {exc}"
    return f"{where}: {exc}"


def _first(leaves: list[tuple[tuple[str | int, ...], _Variant | None, BaseException]]) -> int:
    """Report an unknown key first: a misspelt key is why its value is missing."""
    for index, (_, _, exc) in enumerate(leaves):
        if isinstance(exc, ForbiddenExtraKeysError):
            return index
    return 0


def structure_config(
    data: object, cls: Any, *, root: str, error: type[ConfigError] = ConfigError
) -> Any:
    """``data`` (a dict, or already a ``cls``) as ``cls``. ``root`` names it in errors
    (``"cache_config"``). Raises ``error`` (a :class:`~pywatt.ConfigError`) of one line."""
    try:
        return CONVERTER.structure(data, cls)
    except Exception as exc:
        leaves = list(_leaves(exc, (), None))
        path, variant, leaf = leaves[_first(leaves)]
        if isinstance(leaf, error | ConfigError | Invalid | ForbiddenExtraKeysError | KeyError):
            raise error(_line(root, path, variant, leaf)) from None
        if isinstance(leaf, ValueError | TypeError):
            raise error(_line(root, path, variant, leaf)) from exc
        raise


def unstructure_config(value: Any, cls: Any = None) -> Any:
    """The plain data ``value`` is structured from (``cls``: the union it belongs to)."""
    return CONVERTER.unstructure(value, unstructure_as=cls)
