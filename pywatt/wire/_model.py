"""Building blocks shared by the message type modules: field markers and op-tagged unions.

Field markers live in attrs field metadata and are read by the codecs (``_converters``):

* ``SKIP``: an ``Option`` field with ``skip_serializing_if = "Option::is_none"``; the key
  is left out when the value is None. A plain ``= None`` default is written as ``null``.
* ``REQUIRED``: a Python convenience default for a field the Rust side still requires on
  input (for example ``RegistrationRequest.request_type``).
* ``BARE_SKIP``: a nested op-variant written as its bare struct (no ``"op"`` key).
* ``RENAME``: the field's wire name when it differs from the Python name.

``OpUnion`` is the base of the two internally tagged enums (``ModuleToOrchestrator`` and
``OrchestratorToModule``): each variant is a subclass with a class-level ``OP``.
"""

from __future__ import annotations

from typing import Any, ClassVar, Final

SKIP_NONE: Final = "pywatt_skip_none"
WIRE_REQUIRED: Final = "pywatt_wire_required"
BARE: Final = "pywatt_bare"
RENAME: Final = "pywatt_rename"


#: Field metadata: an ``Option`` field left out of the output when it is None.
SKIP: Final = {SKIP_NONE: True}
#: Field metadata: a field with a Python default that decoded input must still carry.
REQUIRED: Final = {WIRE_REQUIRED: True}
#: Field metadata: an optional nested op-variant written bare, left out when None.
BARE_SKIP: Final = {BARE: True, SKIP_NONE: True}


class OpUnion:
    """Base of an internally tagged (``"op"``) enum; subclasses are its variants.

    A variant class sets ``OP`` (the snake_case tag). Decoding the base class dispatches on
    the ``"op"`` key wherever it appears in the object; encoding a variant writes ``"op"``
    first, then the variant's fields in declaration order. ``VARIANTS`` maps tags to classes.
    """

    __slots__ = ()
    OP: ClassVar[str] = ""
    VARIANTS: ClassVar[dict[str, type[Any]]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if OpUnion in cls.__bases__ and not cls.__dict__.get("OP"):
            # A new union base (a direct subclass without an OP of its own).
            if "VARIANTS" not in cls.__dict__:
                cls.VARIANTS = {}
            return
        op = cls.__dict__.get("OP")
        if op:
            cls.VARIANTS[op] = cls


def union_base(cls: type[Any]) -> type[OpUnion] | None:
    """The union base class a variant belongs to, or None if ``cls`` is not a variant."""
    if not isinstance(cls, type) or not issubclass(cls, OpUnion) or not cls.__dict__.get("OP"):
        return None
    for base in cls.__mro__[1:]:
        if isinstance(base, type) and OpUnion in base.__bases__:
            return base
    return None


def is_union_base(cls: object) -> bool:
    """True for ``ModuleToOrchestrator`` / ``OrchestratorToModule`` themselves."""
    return isinstance(cls, type) and OpUnion in cls.__bases__
