"""The seed's middleware: ``create_jwt_middleware(framework, config)`` and
``extract_jwt_claims(request, framework)`` for FastAPI/Starlette (ASGI) and Flask (WSGI).

Inside a module the middleware asks the module's ``pywatt.jwt`` actor (found through the
ASGI scope's ``extensions["pywatt"]``, which :class:`pywatt.http.ServedApp` sets; from a
Flask worker thread through ``trio.from_thread``). Run outside a module (any ASGI or WSGI
server), it validates with a :class:`TokenValidator` of its own built from the config's
literal keys. Either way a refused request gets 401 ``{"error": "Unauthorized: <reason>"}``
(``{"error": "Missing Authorization header"}`` without a token), with
``WWW-Authenticate: Bearer``; the token never appears in a response or a log line.

Usage::

    app.add_middleware(create_jwt_middleware("fastapi", JwtConfig(secret_key=...)))
    app.add_middleware(create_jwt_middleware("fastapi", config), protect=["/api/*"])
    flask_app.wsgi_app = create_jwt_middleware("flask", config)(flask_app.wsgi_app)

    claims = extract_jwt_claims(request, "fastapi")     # or "flask"
    user_id = claims.sub
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Final

import attrs
import trio

import actors
from pywatt.tracing import jwt_span

from ._actor import JWT_ACTOR, literal_keys
from ._claims import Claims, make_claims
from ._config import JwtConfig
from ._errors import JwtError, ValidatorUnavailable
from ._keys import KeyRing
from ._messages import ValidateToken
from ._validator import TokenValidator

log = logging.getLogger("pywatt.jwt.middleware")

CLAIMS_KEY = "pywatt.jwt.claims"
"""Where validated :class:`Claims` are left: the ASGI scope, or the WSGI environ."""

ASGI_FRAMEWORKS = frozenset({"fastapi", "starlette", "asgi"})
WSGI_FRAMEWORKS = frozenset({"flask", "wsgi"})
DEFAULT_EXCLUDE = ("/health", "/metrics")


class _Unset:
    """The default of a path keyword that was not given (None means "every path")."""


UNSET: Final = _Unset()


class NoClaims(LookupError):
    """The request carries no validated claims (its path is not protected)."""


def bearer_token(value: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` value, or None."""
    if value is None:
        return None
    scheme, _, token = value.partition(" ")
    if scheme.lower() != "bearer":
        return None
    token = token.strip()
    return token or None


def _paths(keyword: str, value: Any) -> tuple[str, ...] | None:
    """``protect`` / ``exclude`` as a tuple of paths; a lone string is a mistake (it would
    be taken letter by letter), so it is refused."""
    if value is None:
        return None
    if isinstance(value, str | bytes):
        raise TypeError(f"{keyword} must be a list of paths, not the string {value!r}")
    return tuple(value)


class _Guard:
    """Decides whether a path is protected and validates tokens (shared by both kinds)."""

    def __init__(
        self, config: JwtConfig, protect: Sequence[str] | None, exclude: Sequence[str]
    ) -> None:
        from pywatt.http import path_matches

        self.config = config
        self.protect = _paths("protect", protect)
        self.exclude = _paths("exclude", exclude) or ()
        self._matches = path_matches
        self._local: TokenValidator | None = None

    def with_paths(
        self,
        protect: Sequence[str] | _Unset | None,
        exclude: Sequence[str] | _Unset,
    ) -> _Guard:
        """This guard, with the path keywords given to the middleware itself (add_middleware,
        the WSGI wrapper) in place of those given to ``create_jwt_middleware``."""
        if isinstance(protect, _Unset) and isinstance(exclude, _Unset):
            return self
        return _Guard(
            self.config,
            self.protect if isinstance(protect, _Unset) else protect,
            self.exclude if isinstance(exclude, _Unset) else exclude,
        )

    def protects(self, path: str) -> bool:
        if any(self._matches(p, path) for p in self.exclude):
            return False
        return self.protect is None or any(self._matches(p, path) for p in self.protect)

    def local(self) -> TokenValidator:
        """The middleware's own validator (outside a module); the test keys while
        ``pywatt.testing.override_jwt`` holds them."""
        if TEST_KEYS:
            return _test_validator(self.config, TEST_KEYS[-1])
        if self._local is None:
            keys = literal_keys(self.config)
            if not keys:
                raise ValidatorUnavailable(
                    "keys are kept in secrets: run the app inside a pywatt module"
                )
            self._local = TokenValidator(self.config, KeyRing.of(keys))
        return self._local


TEST_KEYS: list[str] = []
"""HMAC secrets that replace every middleware's keys outside a module while set, the last
one winning: ``pywatt.testing.override_jwt`` pushes and pops them, so a test under a plain
TestClient can sign its own tokens. Empty in normal use."""


def _test_validator(config: JwtConfig, secret: str) -> TokenValidator:
    """``config``'s claim checks (issuer, audience, required claims, leeway, claims type)
    with ``secret`` as its only key (HS256, no ``kid``)."""
    test_config = attrs.evolve(
        config,
        algorithms=("HS256",),
        key_secrets=(),
        secret_key=secret,
        public_key=None,
        key_id=None,
        validation="local",
    )
    return TokenValidator(test_config, KeyRing.of(literal_keys(test_config)))


def _system_of(scope: Mapping[str, Any]) -> actors.ActorSystem | None:
    extension = (scope.get("extensions") or {}).get("pywatt")
    if not extension:
        return None
    system = extension.get("system")
    if system is None or system.lookup(JWT_ACTOR) is None:
        return None
    return system  # type: ignore[no-any-return]


def _refusal(error: JwtError | None) -> tuple[int, bytes]:
    if error is None:
        return 401, b'{"error":"Missing Authorization header"}'
    if isinstance(error, ValidatorUnavailable):
        body = json.dumps({"error": f"JWT validation unavailable: {error.reason}"})
        return 503, body.encode()
    return 401, json.dumps({"error": f"Unauthorized: {error.reason}"}).encode()


class JwtAsgiMiddleware:
    """ASGI middleware (see the module docstring). ``create_jwt_middleware`` binds a config.

    ``protect`` and ``exclude`` (given to ``app.add_middleware(...)``) replace those given to
    ``create_jwt_middleware``; any other keyword is a :class:`TypeError`, never ignored.
    """

    guard: _Guard

    def __init__(
        self,
        app: Any,
        *,
        protect: Sequence[str] | _Unset | None = UNSET,
        exclude: Sequence[str] | _Unset = UNSET,
    ) -> None:
        self.app = app
        self.guard = type(self).guard.with_paths(protect, exclude)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or not self.guard.protects(scope.get("path", "/")):
            await self.app(scope, receive, send)
            return
        if scope.get(CLAIMS_KEY) is not None:  # already checked by the module's own guard
            await self.app(scope, receive, send)
            return
        raw = None
        for name, value in scope.get("headers", ()):
            if name == b"authorization":
                raw = value.decode("latin-1")
        token = bearer_token(raw)
        error: JwtError | None = None
        if token is not None:
            try:
                claims = await self._validate(scope, token)
            except JwtError as exc:
                error = exc
            else:
                scope = dict(scope)
                scope[CLAIMS_KEY] = claims
                await self.app(scope, receive, send)
                return
        status, body = _refusal(error)
        await send({
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"),
                        (b"content-length", str(len(body)).encode()),
                        (b"www-authenticate", b"Bearer")],
        })  # fmt: skip
        await send({"type": "http.response.body", "body": body})

    async def _validate(self, scope: Mapping[str, Any], token: str) -> Claims:
        system = _system_of(scope)
        with jwt_span():
            if system is not None:
                return await system.ask(JWT_ACTOR, ValidateToken(token))
            raw = self.guard.local().validate(token)
            return make_claims(raw, self.guard.config.claims_type)


WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def _wsgi_middleware(bound: _Guard) -> Callable[..., WsgiApp]:
    def wrap(
        wsgi_app: WsgiApp,
        *,
        protect: Sequence[str] | _Unset | None = UNSET,
        exclude: Sequence[str] | _Unset = UNSET,
    ) -> WsgiApp:
        """Wrap ``wsgi_app``; ``protect`` / ``exclude`` replace those given to
        ``create_jwt_middleware`` (any other keyword is a :class:`TypeError`)."""
        guard = bound.with_paths(protect, exclude)

        def middleware(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
            if not guard.protects(environ.get("PATH_INFO", "/") or "/"):
                return wsgi_app(environ, start_response)
            if environ.get(CLAIMS_KEY) is None:
                scope = environ.get("pywatt.scope") or {}
                if scope.get(CLAIMS_KEY) is not None:
                    environ[CLAIMS_KEY] = scope[CLAIMS_KEY]
            if environ.get(CLAIMS_KEY) is not None:
                return wsgi_app(environ, start_response)
            token = bearer_token(environ.get("HTTP_AUTHORIZATION"))
            error: JwtError | None = None
            if token is not None:
                try:
                    environ[CLAIMS_KEY] = _validate_in_thread(guard, environ, token)
                except JwtError as exc:
                    error = exc
                else:
                    return wsgi_app(environ, start_response)
            status, body = _refusal(error)
            reason = "Unauthorized" if status == 401 else "Service Unavailable"
            start_response(f"{status} {reason}", [
                ("Content-Type", "application/json"),
                ("Content-Length", str(len(body))),
                ("WWW-Authenticate", "Bearer"),
            ])  # fmt: skip
            return [body]

        return middleware

    return wrap


def _validate_in_thread(guard: _Guard, environ: Mapping[str, Any], token: str) -> Claims:
    system = _system_of(environ.get("pywatt.scope") or {})
    if system is not None:
        try:
            return trio.from_thread.run(system.ask, JWT_ACTOR, ValidateToken(token))
        except RuntimeError:
            pass  # not a trio worker thread: validate here instead
    raw = guard.local().validate(token)
    return make_claims(raw, guard.config.claims_type)


def create_jwt_middleware(
    framework: str,
    config: JwtConfig | Mapping[str, Any],
    *,
    protect: Sequence[str] | None = None,
    exclude: Sequence[str] = DEFAULT_EXCLUDE,
) -> Any:
    """JWT middleware for ``framework``.

    ``"fastapi"``, ``"starlette"`` or ``"asgi"``: an ASGI middleware class for
    ``app.add_middleware(...)`` (or call it with the app). ``"flask"`` or ``"wsgi"``: a
    function wrapping a WSGI app (``app.wsgi_app = mw(app.wsgi_app)``). ``protect`` limits
    the check to those paths (exact, ``/x/*`` prefixes, ``{name}`` segments; default every
    path); ``exclude`` paths are never checked, they are the public ones (default
    ``/health``, ``/metrics``). Both may be given here or, replacing these, to
    ``app.add_middleware(mw, protect=[...])`` / ``mw(app.wsgi_app, protect=[...])``; any
    other keyword there is a :class:`TypeError`. Raises :class:`ValueError` for an unknown
    framework, :class:`TypeError` for a path list given as one string and
    :class:`JwtConfigError` for a bad config.
    """
    jwt_config = JwtConfig.from_value(config)
    guard = _Guard(jwt_config, protect, exclude)
    name = framework.lower()
    if name in ASGI_FRAMEWORKS:
        return type("JwtMiddleware", (JwtAsgiMiddleware,), {"guard": guard})
    if name in WSGI_FRAMEWORKS:
        return _wsgi_middleware(guard)
    raise ValueError(
        f"unknown framework {framework!r}: use one of {sorted(ASGI_FRAMEWORKS | WSGI_FRAMEWORKS)}"
    )


def extract_jwt_claims(request: Any, framework: str) -> Claims:
    """The validated :class:`Claims` the middleware left on ``request``.

    ``request`` is a Starlette/FastAPI ``Request`` (``"fastapi"``, ``"starlette"``), a Flask
    ``request`` (``"flask"``), or a bare ASGI scope / WSGI environ dict. Raises
    :class:`NoClaims` if the request was not checked (its path is not protected).
    """
    name = framework.lower()
    if isinstance(request, Mapping):
        holder: Mapping[str, Any] = request
    elif name in ASGI_FRAMEWORKS:
        holder = request.scope
    elif name in WSGI_FRAMEWORKS:
        holder = request.environ
    else:
        raise ValueError(f"unknown framework {framework!r}")
    claims = holder.get(CLAIMS_KEY)
    if claims is None:
        scope = holder.get("pywatt.scope")
        claims = scope.get(CLAIMS_KEY) if isinstance(scope, Mapping) else None
    if claims is None:
        raise NoClaims("the request carries no validated JWT claims: is its path protected?")
    return claims  # type: ignore[no-any-return]
