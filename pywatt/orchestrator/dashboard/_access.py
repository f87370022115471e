"""Who may see the dashboard: loopback only without a token, the token wherever it is set."""

from __future__ import annotations

import hmac
import ipaddress
import urllib.parse
from typing import Any, Final

import attrs

__all__ = ["COOKIE", "TOKEN_ENV", "Access", "DashboardSettings", "Refusal", "is_loopback"]

TOKEN_ENV: Final = "PYWATT_DASHBOARD_TOKEN"
"""The environment variable the dashboard's token is read from by default."""
COOKIE: Final = "pywatt_dashboard"


@attrs.frozen
class DashboardSettings:
    """The gateway's dashboard at ``/_pywatt/``.

    ``enabled``: serve it at all (off: ``/_pywatt/`` is routed like any other path).
    ``token``: when set, every dashboard request must carry it (``Authorization: Bearer``,
    or ``?token=`` once, which the page swaps for a cookie); it is required when the gateway
    is bound to an address other than loopback. Default: ``$PYWATT_DASHBOARD_TOKEN``.
    """

    enabled: bool = True
    token: str | None = attrs.field(default=None, repr=False)


@attrs.frozen
class Refusal:
    """Why a request may not see the dashboard (a 401 or 403)."""

    status: int
    message: str


def is_loopback(host: str) -> bool:
    """Whether ``host`` (an IP address as a socket reports it) is a loopback address."""
    try:
        return ipaddress.ip_address(host.split("%", 1)[0]).is_loopback
    except ValueError:
        return False


class Access:
    """The dashboard's door. ``bound`` is the host the gateway's socket is bound to."""

    def __init__(self, token: str | None, bound: str) -> None:
        self._token = token.encode() if token else None
        self.bound = bound
        self.loopback = is_loopback(bound)

    @property
    def needs_token(self) -> bool:
        return self._token is not None

    def check(self, scope: dict[str, Any]) -> Refusal | None:
        """None when the request may go on; else why not."""
        if self._token is None:
            if not self.loopback:
                return Refusal(
                    401,
                    f"the dashboard needs a token when the gateway is bound to {self.bound} "
                    f"(not loopback): set {TOKEN_ENV} where the orchestrator starts",
                )
            if not _loopback_host(_header(scope, b"host")):
                # A page of another site reaching 127.0.0.1 through a name of its own (DNS
                # rebinding) never gets an answer.
                return Refusal(
                    403, "without a token the dashboard answers only to localhost, 127.0.0.1 "
                    "or [::1] in the Host header"
                )  # fmt: skip
            return None
        given = self.presented(scope)
        if given is None:
            return Refusal(
                401, "the dashboard needs its token: open /_pywatt/?token=<token> once, or "
                "send Authorization: Bearer <token>"
            )  # fmt: skip
        if not hmac.compare_digest(given.encode(), self._token):
            return Refusal(401, "the dashboard's token is wrong")
        return None

    def from_query(self, scope: dict[str, Any]) -> str | None:
        """The ``token`` query parameter, if given."""
        query = urllib.parse.parse_qs(scope.get("query_string", b"").decode("latin-1"))
        values = query.get("token")
        return values[0] if values else None

    def presented(self, scope: dict[str, Any]) -> str | None:
        """The token the request carries: Authorization header, ``?token=`` or cookie."""
        auth = _header(scope, b"authorization")
        if auth is not None and auth[:7].lower() == "bearer ":
            return auth[7:].strip()
        query = self.from_query(scope)
        if query is not None:
            return query
        for part in (_header(scope, b"cookie") or "").split(";"):
            name, _, value = part.strip().partition("=")
            if name == COOKIE:
                return urllib.parse.unquote(value)
        return None

    @staticmethod
    def cookie(token: str) -> str:
        """The Set-Cookie value that keeps ``token`` for the dashboard's paths only."""
        quoted = urllib.parse.quote(token, safe="")
        return f"{COOKIE}={quoted}; Path=/_pywatt; HttpOnly; SameSite=Strict"


def _header(scope: dict[str, Any], name: bytes) -> str | None:
    found = [v for k, v in scope.get("headers", ()) if k.lower() == name]
    return ", ".join(v.decode("latin-1") for v in found) if found else None


def _loopback_host(host: str | None) -> bool:
    if not host:
        return False
    if host.startswith("["):  # [::1]:8080
        name = host[1 : host.find("]")] if "]" in host else host
    else:
        name = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
    return name.lower() in ("localhost", "localhost.") or is_loopback(name)
