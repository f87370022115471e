"""Small shared wire types: enums, ``ServiceType``, ``Duration`` and the listen address."""

from __future__ import annotations

import enum
from typing import ClassVar, Final, TypeAlias

import attrs

from ._model import REQUIRED
from ._values import SocketAddress, UInt32, UInt64

__all__ = [
    "Duration",
    "ListenAddress",
    "SecurityLevel",
    "ServiceType",
    "to_listen_address",
]


class SecurityLevel(enum.Enum):
    """``InitBlob.security_level``: written as ``"None"``, ``"Token"`` or ``"Mtls"``."""

    NONE = "None"
    TOKEN = "Token"
    MTLS = "Mtls"


_BUILTIN_SERVICES: Final = frozenset({"Database", "Cache", "Jwt"})


@attrs.frozen
class ServiceType:
    """Rust's externally tagged ``ServiceType``.

    ``"Database"``, ``"Cache"`` and ``"Jwt"`` are unit variants written as strings;
    ``ServiceType.custom("search")`` is written as ``{"Custom":"search"}``. The Rust
    ``Display`` forms (``database``, ``custom:search``) are never on the wire.
    """

    variant: str = attrs.field()
    name: str | None = None

    DATABASE: ClassVar[ServiceType]
    CACHE: ClassVar[ServiceType]
    JWT: ClassVar[ServiceType]
    # The seed's service types: ``Custom`` variants named in snake case.
    USER_MANAGEMENT: ClassVar[ServiceType]
    ANALYTICS: ClassVar[ServiceType]
    NOTIFICATION: ClassVar[ServiceType]
    CONFIGURATION: ClassVar[ServiceType]
    AUTHENTICATION: ClassVar[ServiceType]
    STORAGE: ClassVar[ServiceType]
    SEARCH: ClassVar[ServiceType]
    MESSAGING: ClassVar[ServiceType]
    MONITORING: ClassVar[ServiceType]
    LOGGING: ClassVar[ServiceType]

    @variant.validator
    def _check(self, _attr: attrs.Attribute[str], value: str) -> None:
        if value == "Custom":
            if not isinstance(self.name, str):
                raise ValueError("ServiceType Custom needs a name")
        elif value in _BUILTIN_SERVICES:
            if self.name is not None:
                raise ValueError(f"ServiceType {value} takes no name")
        else:
            raise ValueError(f"unknown ServiceType variant {value!r}")

    @classmethod
    def custom(cls, name: str) -> ServiceType:
        """The ``Custom(name)`` variant."""
        return cls("Custom", name)


ServiceType.DATABASE = ServiceType("Database")
ServiceType.CACHE = ServiceType("Cache")
ServiceType.JWT = ServiceType("Jwt")
ServiceType.USER_MANAGEMENT = ServiceType.custom("user_management")
ServiceType.ANALYTICS = ServiceType.custom("analytics")
ServiceType.NOTIFICATION = ServiceType.custom("notification")
ServiceType.CONFIGURATION = ServiceType.custom("configuration")
ServiceType.AUTHENTICATION = ServiceType.custom("authentication")
ServiceType.STORAGE = ServiceType.custom("storage")
ServiceType.SEARCH = ServiceType.custom("search")
ServiceType.MESSAGING = ServiceType.custom("messaging")
ServiceType.MONITORING = ServiceType.custom("monitoring")
ServiceType.LOGGING = ServiceType.custom("logging")


NANOS_PER_SEC: Final = 1_000_000_000
_U64_MAX: Final = 2**64 - 1


@attrs.frozen(kw_only=True)
class Duration:
    """Rust ``std::time::Duration``: ``{"secs":u64,"nanos":u32}``.

    Built as Rust's ``Duration::new`` builds one: whole seconds in ``nanos`` are carried into
    ``secs`` (``Duration(secs=0, nanos=1_500_000_000)`` is ``secs=1, nanos=500_000_000``), so
    ``nanos`` is always below 10⁹; a carry past the u64 range raises ``OverflowError``.
    Decoding does the same, as serde does (both fields required, the overflow refused).
    """

    secs: UInt64
    nanos: UInt32 = attrs.field(default=0, metadata=REQUIRED)

    def __attrs_post_init__(self) -> None:
        secs, nanos = self.secs, self.nanos
        if type(nanos) is int and nanos >= NANOS_PER_SEC and type(secs) is int:
            secs += nanos // NANOS_PER_SEC
            if secs > _U64_MAX:
                raise OverflowError(
                    f"overflow in Duration: {self.secs} s + {nanos} ns exceeds u64 seconds"
                )
            # frozen: attrs documents object.__setattr__ for post-init normalisation
            object.__setattr__(self, "secs", secs)
            object.__setattr__(self, "nanos", nanos % NANOS_PER_SEC)


#: ``ListenAddress`` (untagged): a socket address, or a Unix socket path (any other string).
ListenAddress: TypeAlias = SocketAddress | str


def to_listen_address(value: SocketAddress | str) -> SocketAddress | str:
    """Normalize a listen address the way Rust reads one.

    A string that parses as a socket address becomes a ``SocketAddress``; any other string
    is a Unix socket path (so ``"localhost:8080"`` is a path, as in Rust).
    """
    if isinstance(value, str):
        try:
            return SocketAddress.parse(value)
        except ValueError:
            return value
    return value
