"""Attribute names: OpenTelemetry's semantic conventions where they exist, else pywatt's."""

from __future__ import annotations

from typing import Final

MODULE_ID: Final = "pywatt.module.id"
ACTOR: Final = "pywatt.actor.name"
MESSAGE: Final = "pywatt.message.type"

RPC_SYSTEM: Final = "rpc.system"
RPC_SERVICE: Final = "rpc.service"
RPC_METHOD: Final = "rpc.method"
RPC_SYSTEM_VALUE: Final = "pywatt"

MESSAGING_SYSTEM: Final = "messaging.system"
MESSAGING_DESTINATION: Final = "messaging.destination.name"
MESSAGING_OPERATION: Final = "messaging.operation.type"

HTTP_METHOD: Final = "http.request.method"
HTTP_STATUS: Final = "http.response.status_code"
HTTP_ROUTE: Final = "http.route"
URL_PATH: Final = "url.path"

DB_SYSTEM: Final = "db.system.name"
DB_STATEMENT: Final = "db.query.text"
DB_OPERATION: Final = "db.operation.name"
DB_NAMESPACE: Final = "db.namespace"

CACHE_NAME: Final = "pywatt.cache.name"
JWT_OUTCOME: Final = "pywatt.jwt.outcome"
