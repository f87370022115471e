"""Wire types of the pywatt protocol extensions (docs/protocol-extensions.md).

None of these is ever sent to a peer that has not declared itself pywatt: the orchestrator
declares itself in ``InitBlob.env`` (``PYWATT_`` keys), a module in the ``metadata.properties``
of its first frame on a channel.
"""

from __future__ import annotations

import enum
import math
import uuid
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar, Final

import attrs

from ._errors import DecodeError
from ._model import RENAME
from ._types_ops import ServiceProviderInfo
from ._unions import ModuleToOrchestrator, OrchestratorToModule

__all__ = [
    "DEADLINE_PROPERTY",
    "DECLARATION_PROPERTY",
    "ENV_FORMATS",
    "ENV_HEARTBEAT_INTERVAL",
    "ENV_ORCHESTRATOR",
    "ENV_TLS_CA",
    "ENV_TLS_CERT",
    "ENV_TLS_KEY",
    "EXIT_CANNOT_START",
    "READY_ENDPOINT",
    "REPLY_ENDPOINT",
    "REPLY_MARKER_PROPERTY",
    "REPLY_MARKER_VALUE",
    "DiscoveryEvent",
    "DiscoveryUpdate",
    "ModuleDeclaration",
    "OrchestratorDeclaration",
    "ReplyError",
    "SecretError",
    "UnregisterServiceProviderRequest",
    "UnregisterServiceProviderResponse",
]

ENV_ORCHESTRATOR: Final = "PYWATT_ORCHESTRATOR"
ENV_FORMATS: Final = "PYWATT_FORMATS"
ENV_HEARTBEAT_INTERVAL: Final = "PYWATT_HEARTBEAT_INTERVAL"
ENV_TLS_CA: Final = "PYWATT_TLS_CA"
ENV_TLS_CERT: Final = "PYWATT_TLS_CERT"
ENV_TLS_KEY: Final = "PYWATT_TLS_KEY"
EXIT_CANNOT_START: Final = 78
"""A pywatt module's exit status when it cannot start for a reason that restarting will not
fix (a configuration error, a secret that is not set, a missing extra): ``EX_CONFIG`` of
sysexits.h. The embedded orchestrator does not restart a module that exits with it."""

#: ``metadata.properties`` key of a module's declaration in its first frame on a channel.
DECLARATION_PROPERTY: Final = "pywatt"
#: ``metadata.properties`` marker of a pywatt inter-module request: ``{"pywatt_reply":"result"}``.
REPLY_MARKER_PROPERTY: Final = "pywatt_reply"
REPLY_MARKER_VALUE: Final = "result"
#: ``metadata.properties`` key of a request's time budget: whole milliseconds the caller
#: will still wait, counted when the request was written (relative: processes do not share
#: a clock). Absent: no deadline beyond the callee's own.
DEADLINE_PROPERTY: Final = "pywatt_deadline_ms"
#: ``target_endpoint`` of a reply to an inter-module request.
REPLY_ENDPOINT: Final = "pywatt.reply"
#: ``target_endpoint`` of a readiness probe (``state.wait_for_module``): answered ``{"Ok":true}``
#: by a pywatt orchestrator once the target is reachable, and by the target's own router.
READY_ENDPOINT: Final = "pywatt.ready"

_KNOWN_FORMATS: Final = frozenset({"json", "msgpack"})


class DiscoveryEvent(enum.Enum):
    """What happened to a provider: ``"appeared"``, ``"changed"`` or ``"left"``."""

    APPEARED = "appeared"
    CHANGED = "changed"
    LEFT = "left"


@attrs.frozen(kw_only=True)
class DiscoveryUpdate(OrchestratorToModule):
    """``discovery_update`` (extension): a provider appeared, changed or left.

    ``{"op":"discovery_update","event":"appeared","provider":{...ServiceProviderInfo...}}``
    """

    OP: ClassVar[str] = "discovery_update"

    event: DiscoveryEvent
    provider: ServiceProviderInfo


@attrs.frozen(kw_only=True)
class SecretError(OrchestratorToModule):
    """``secret_error`` (extension): the orchestrator cannot provide secret ``name``.

    ``{"op":"secret_error","name":"DATABASE_URL","message":"no such secret"}``; it answers a
    ``get_secret`` so the module fails at once instead of waiting out the deadline.
    """

    OP: ClassVar[str] = "secret_error"

    name: str
    message: str


@attrs.frozen(kw_only=True)
class UnregisterServiceProviderRequest(ModuleToOrchestrator):
    """``unregister_service_provider`` (extension): remove one provider this module registered.

    ``{"op":"unregister_service_provider","provider_id":"prov-1"}``, ``Message``-wrapped on
    the module's channel like ``register_service_provider``; sent only to a pywatt
    orchestrator (the Rust protocol has no such op: there, providers leave with their module).
    """

    OP: ClassVar[str] = "unregister_service_provider"

    provider_id: str


@attrs.frozen(kw_only=True)
class UnregisterServiceProviderResponse(OrchestratorToModule):
    """``unregister_service_provider_response`` (extension): the bare reply.

    ``{"op":"unregister_service_provider_response","success":true,"error":null}``;
    ``success`` is false, with the reason in ``error``, when the module has no provider of
    that id (unknown, already gone, or another module's).
    """

    OP: ClassVar[str] = "unregister_service_provider_response"

    success: bool
    error: str | None = None


@attrs.frozen(kw_only=True)
class ReplyError:
    """The ``Err`` side of a pywatt inter-module reply.

    ``{"Err":{"type":"KeyError","message":"...","module":"callee","request_id":"<uuid>"}}``:
    the remote error's type name, its message, the module that raised it and the request.
    """

    error_type: str = attrs.field(metadata={RENAME: "type"})
    message: str
    module: str
    request_id: uuid.UUID


def _formats(text: str, key: str) -> frozenset[str]:
    names = frozenset(part.strip() for part in text.split(",") if part.strip())
    unknown = names - _KNOWN_FORMATS
    if unknown:
        raise DecodeError(f"unknown frame format(s) {sorted(unknown)} in {key}", "$.env")
    return names | {"json"}


def _with_json(formats: Iterable[str]) -> frozenset[str]:
    """JSON is always spoken; the declared set adds to it."""
    return frozenset(formats) | {"json"}


@attrs.frozen(kw_only=True)
class OrchestratorDeclaration:
    """What a pywatt orchestrator declares in ``InitBlob.env`` (all values are strings).

    ``PYWATT_ORCHESTRATOR`` (its version; its presence marks a pywatt orchestrator),
    ``PYWATT_FORMATS`` (comma list, e.g. ``json,msgpack``), ``PYWATT_HEARTBEAT_INTERVAL``
    (seconds) and the TLS files ``PYWATT_TLS_CA`` / ``PYWATT_TLS_CERT`` / ``PYWATT_TLS_KEY``.
    """

    version: str
    formats: frozenset[str] = attrs.field(default=frozenset({"json"}), converter=_with_json)
    heartbeat_interval: float = 5.0
    tls_ca: str | None = None
    tls_cert: str | None = None
    tls_key: str | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> OrchestratorDeclaration | None:
        """Read the declaration; None when the orchestrator is not pywatt.

        Raises ``DecodeError`` for a malformed value (unknown format, bad interval).
        """
        version = env.get(ENV_ORCHESTRATOR)
        if version is None:
            return None
        formats = _formats(env.get(ENV_FORMATS, "json"), ENV_FORMATS)
        interval_text = env.get(ENV_HEARTBEAT_INTERVAL, "5")
        try:
            interval = float(interval_text)
        except ValueError:
            interval = math.nan
        if not math.isfinite(interval) or interval <= 0:
            raise DecodeError(
                f"{ENV_HEARTBEAT_INTERVAL} must be a positive number of seconds, "
                f"got {interval_text!r}",
                "$.env",
            )
        return cls(
            version=version,
            formats=formats,
            heartbeat_interval=interval,
            tls_ca=env.get(ENV_TLS_CA),
            tls_cert=env.get(ENV_TLS_CERT),
            tls_key=env.get(ENV_TLS_KEY),
        )

    def to_env(self) -> dict[str, str]:
        """The ``PYWATT_`` keys to merge into an ``InitBlob.env``."""
        env = {
            ENV_ORCHESTRATOR: self.version,
            ENV_FORMATS: ",".join(sorted(self.formats)),
            ENV_HEARTBEAT_INTERVAL: repr(float(self.heartbeat_interval)),
        }
        for key, value in ((ENV_TLS_CA, self.tls_ca), (ENV_TLS_CERT, self.tls_cert)):
            if value is not None:
                env[key] = value
        if self.tls_key is not None:
            env[ENV_TLS_KEY] = self.tls_key
        return env


@attrs.frozen(kw_only=True)
class ModuleDeclaration:
    """What a pywatt module declares in ``metadata.properties["pywatt"]`` of its first frame.

    ``{"pywatt":{"auth_token":"tok","formats":["json","msgpack"],"version":"0.1.0"}}``;
    ``auth_token`` is present only when the security level asks for one; ``line`` only when
    the module takes direct lines from other modules (the path of its line socket,
    docs/protocol-extensions.md §12).
    """

    version: str
    formats: frozenset[str] = attrs.field(default=frozenset({"json"}), converter=_with_json)
    auth_token: str | None = None
    line: str | None = None

    def to_properties(self) -> dict[str, Any]:
        """The ``metadata.properties`` entry (a one-key dict) carrying this declaration."""
        body: dict[str, Any] = {"formats": sorted(self.formats), "version": self.version}
        if self.auth_token is not None:
            body["auth_token"] = self.auth_token
        if self.line is not None:
            body["line"] = self.line
        return {DECLARATION_PROPERTY: body}

    @classmethod
    def from_properties(cls, properties: Mapping[str, Any] | None) -> ModuleDeclaration | None:
        """Read a declaration; None when the frame carries none (a Rust module).

        Raises ``DecodeError`` (naming the property path) when it is malformed.
        """
        if not properties or DECLARATION_PROPERTY not in properties:
            return None
        path = f"$.metadata.properties.{DECLARATION_PROPERTY}"
        body = properties[DECLARATION_PROPERTY]
        if not isinstance(body, dict):
            raise DecodeError("declaration must be an object", path)
        version = body.get("version")
        if not isinstance(version, str):
            raise DecodeError("missing or non-string field `version`", path)
        formats = body.get("formats", ["json"])
        if not isinstance(formats, list) or not all(isinstance(f, str) for f in formats):
            raise DecodeError("`formats` must be a list of strings", path + ".formats")
        token = body.get("auth_token")
        if token is not None and not isinstance(token, str):
            raise DecodeError("`auth_token` must be a string", path + ".auth_token")
        line = body.get("line")
        if line is not None and not isinstance(line, str):
            raise DecodeError("`line` must be a string", path + ".line")
        return cls(
            version=version,
            formats=_formats(",".join(formats), "formats"),
            auth_token=token,
            line=line,
        )
