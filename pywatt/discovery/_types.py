"""Provider descriptions: the seed's service types, a fluent builder and capability matching.

The wire has ``Database``, ``Cache``, ``Jwt`` and ``Custom(name)`` (docs/protocol.md §4.1.1); the
seed's types are ``Custom`` (docs/architecture.md, "What the seed says"). Capabilities travel in
``metadata["capabilities"]`` as a sorted comma list, endpoints in ``metadata["endpoints"]``,
since ``metadata`` is a map of strings on the wire.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, ClassVar, Final

import attrs

from pywatt.wire import RegisterServiceProviderRequest, ServiceProviderInfo, ServiceType

__all__ = [
    "CAPABILITIES_KEY",
    "ENDPOINTS_KEY",
    "ProviderBuilder",
    "ProviderInfo",
    "ServiceTypes",
    "capabilities_of",
    "matches",
    "service_key",
]

CAPABILITIES_KEY: Final = "capabilities"
ENDPOINTS_KEY: Final = "endpoints"


class ServiceTypes:
    """Named service types: the wire's own three, and the seed's names as ``Custom``.

    The same constants are on :class:`~pywatt.wire.ServiceType` itself
    (``ServiceType.USER_MANAGEMENT``, as the seed writes them); this class is kept as an
    alias namespace.
    """

    DATABASE: ClassVar[ServiceType] = ServiceType.DATABASE
    CACHE: ClassVar[ServiceType] = ServiceType.CACHE
    JWT: ClassVar[ServiceType] = ServiceType.JWT
    USER_MANAGEMENT: ClassVar[ServiceType] = ServiceType.USER_MANAGEMENT
    ANALYTICS: ClassVar[ServiceType] = ServiceType.ANALYTICS
    NOTIFICATION: ClassVar[ServiceType] = ServiceType.NOTIFICATION
    CONFIGURATION: ClassVar[ServiceType] = ServiceType.CONFIGURATION
    AUTHENTICATION: ClassVar[ServiceType] = ServiceType.AUTHENTICATION
    STORAGE: ClassVar[ServiceType] = ServiceType.STORAGE
    SEARCH: ClassVar[ServiceType] = ServiceType.SEARCH
    MESSAGING: ClassVar[ServiceType] = ServiceType.MESSAGING
    MONITORING: ClassVar[ServiceType] = ServiceType.MONITORING
    LOGGING: ClassVar[ServiceType] = ServiceType.LOGGING

    @staticmethod
    def custom(name: str) -> ServiceType:
        return ServiceType.custom(name)


def service_key(service_type: ServiceType) -> str:
    """A stable text key: ``Database``, ``Cache``, ``Jwt`` or ``Custom:<name>``."""
    return service_type.variant if service_type.name is None else f"Custom:{service_type.name}"


def _split(text: str | None) -> frozenset[str]:
    return frozenset(p.strip() for p in (text or "").split(",") if p.strip())


def capabilities_of(provider: ServiceProviderInfo | ProviderInfo) -> frozenset[str]:
    """The capabilities a provider advertises."""
    if isinstance(provider, ProviderInfo):
        return provider.capabilities
    return _split(provider.metadata.get(CAPABILITIES_KEY))


def matches(provider: ServiceProviderInfo, required: Iterable[str]) -> bool:
    """Whether ``provider`` has every capability in ``required``."""
    return frozenset(required) <= capabilities_of(provider)


@attrs.frozen(kw_only=True)
class ProviderInfo:
    """What a module registers as a provider (build it with :meth:`builder`)."""

    service_type: ServiceType
    name: str
    version: str | None = None
    address: str = ""
    capabilities: frozenset[str] = frozenset()
    endpoints: tuple[str, ...] = ()
    metadata: Mapping[str, str] = attrs.field(factory=dict)

    @staticmethod
    def builder(service_type: ServiceType, name: str) -> ProviderBuilder:
        """A fluent builder: ``ProviderInfo.builder(t, "pg").version("1").capability("x")
        .address("127.0.0.1:5432").build()``."""
        return ProviderBuilder(service_type, name)

    @classmethod
    def from_seed(
        cls, service_type: ServiceType, details: Mapping[str, Any], *, name: str, address: str
    ) -> ProviderInfo:
        """The seed's ``register_service_provider(type, {"version", "endpoints",
        "capabilities", ...})`` form; other keys become metadata strings."""
        extra = {
            k: str(v)
            for k, v in details.items()
            if k not in {"version", "endpoints", "capabilities", "name", "address"}
        }
        return cls(
            service_type=service_type,
            name=str(details.get("name", name)),
            version=None if details.get("version") is None else str(details["version"]),
            address=str(details.get("address", address)),
            capabilities=frozenset(str(c) for c in details.get("capabilities", ())),
            endpoints=tuple(str(e) for e in details.get("endpoints", ())),
            metadata=extra,
        )

    def wire_metadata(self) -> dict[str, str]:
        metadata = dict(self.metadata)
        if self.capabilities:
            metadata[CAPABILITIES_KEY] = ",".join(sorted(self.capabilities))
        if self.endpoints:
            metadata[ENDPOINTS_KEY] = ",".join(self.endpoints)
        return metadata

    def to_request(self) -> RegisterServiceProviderRequest:
        """The ``register_service_provider`` op for this provider."""
        return RegisterServiceProviderRequest(
            service_type=self.service_type,
            name=self.name,
            version=self.version,
            address=self.address,
            metadata=self.wire_metadata() or None,
        )

    def to_wire(self, provider_id: str, module_id: str) -> ServiceProviderInfo:
        """The registry's record of this provider."""
        return ServiceProviderInfo(
            provider_id=provider_id,
            module_id=module_id,
            service_type=self.service_type,
            name=self.name,
            version=self.version,
            address=self.address,
            metadata=self.wire_metadata(),
            is_healthy=True,
        )


class ProviderBuilder:
    """Fluent construction of a :class:`ProviderInfo`; every method returns the builder."""

    def __init__(self, service_type: ServiceType, name: str) -> None:
        self._fields: dict[str, Any] = {"service_type": service_type, "name": name}
        self._capabilities: set[str] = set()
        self._endpoints: list[str] = []
        self._metadata: dict[str, str] = {}

    def version(self, version: str) -> ProviderBuilder:
        self._fields["version"] = version
        return self

    def address(self, address: str) -> ProviderBuilder:
        self._fields["address"] = address
        return self

    def capability(self, *names: str) -> ProviderBuilder:
        self._capabilities.update(names)
        return self

    def endpoint(self, *paths: str) -> ProviderBuilder:
        self._endpoints.extend(paths)
        return self

    def metadata(self, key: str, value: str) -> ProviderBuilder:
        if key in (CAPABILITIES_KEY, ENDPOINTS_KEY):
            raise ValueError(f"metadata key {key!r} is reserved; use .{key[:-1]}()")
        self._metadata[key] = value
        return self

    def build(self) -> ProviderInfo:
        return ProviderInfo(
            capabilities=frozenset(self._capabilities),
            endpoints=tuple(self._endpoints),
            metadata=dict(self._metadata),
            **self._fields,
        )
