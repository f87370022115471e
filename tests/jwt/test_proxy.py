"""Proxy validation: the module's JWT actor asks the orchestrator's ``Jwt`` service.

The in-process test joins the real module side (``JwtValidatorActor`` in proxy mode, the
``pywatt.link`` protocol) to the real orchestrator side (``handle_jwt`` over the secret
store) through a link that serves ``OpenService``/``CallService`` with the handler, as the
orchestrator's service dispatcher does. The end-to-end test runs a module process under the
embedded orchestrator.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import trio

import actors
from pywatt.jwt import (
    JWT_ACTOR,
    BadSignature,
    InvalidClaim,
    JwtConfig,
    JwtValidatorActor,
    TokenExpired,
    ValidatorUnavailable,
    validate_jwt_token,
)
from pywatt.link import CallService, OpenService, ServiceFailed
from pywatt.orchestrator import Console
from pywatt.orchestrator.proxies import ServiceError, ServiceHost, handle_jwt
from pywatt.orchestrator.secrets import STORE_NAME, SecretStore
from pywatt.testing import open_module
from pywatt.wire import ServiceOperation, ServiceRequest, ServiceType

from .tokens import mint, oct_key

SECRET = "proxy-test-secret-0123456789abcdef-xyz"
MODULE = "proxied"


class ServiceLink(actors.Actor[OpenService | CallService]):
    """Serves the link's service messages with the orchestrator's handler."""

    reply_errors = (ServiceFailed,)

    def __init__(self, host: ServiceHost) -> None:
        self.host = host

    async def receive(self, message: OpenService | CallService) -> Any:
        try:
            if isinstance(message, OpenService):
                request = ServiceRequest(
                    id="jwt_request_1", service_type=message.service_type, config=message.config
                )
                return await handle_jwt(self.host, MODULE, request)
            operation = ServiceOperation(
                connection_id=message.connection_id,
                service_type=message.service_type,
                operation=message.operation,
                params=message.params,
            )
            return await handle_jwt(self.host, MODULE, operation)
        except ServiceError as exc:
            what = "a service request" if isinstance(message, OpenService) else "an operation"
            raise ServiceFailed(what, str(exc)) from None


async def test_tokens_are_validated_by_the_orchestrators_service() -> None:
    store = SecretStore(
        allowed={MODULE: ("JWT_SECRET",)},
        explicit={"JWT_SECRET": SECRET},
        file_values={},
        secrets_file=None,
        environment={},
    )
    config = JwtConfig(validation="proxy", key_secrets="JWT_SECRET", issuer="orch", audience="api")
    async with actors.open_actor_system() as system:
        await system.spawn(lambda: store, name=STORE_NAME)
        host = ServiceHost(system, {}, Console(lambda line: None))
        await system.spawn(lambda: ServiceLink(host), name="pywatt.link")
        await system.spawn(lambda: JwtValidatorActor(config), name=JWT_ACTOR)
        now = int(time.time())
        good = mint(
            oct_key(SECRET), "HS256", {"sub": "pat", "iss": "orch", "aud": "api", "exp": now + 60}
        )
        assert (await validate_jwt_token(system, good)).sub == "pat"
        refusals = {
            TokenExpired: {"sub": "pat", "iss": "orch", "aud": "api", "exp": now - 600},
            InvalidClaim: {"sub": "pat", "iss": "orch", "aud": "other", "exp": now + 60},
        }
        for error, claims in refusals.items():
            with pytest.raises(error):
                await validate_jwt_token(system, mint(oct_key(SECRET), "HS256", claims))
        forged = mint(
            oct_key("not-the-secret-0000000000000000000"),
            "HS256",
            {"sub": "pat", "iss": "orch", "aud": "api", "exp": now + 60},
        )
        with pytest.raises(BadSignature):
            await validate_jwt_token(system, forged)
        # The orchestrator serves the secret only to a module allowed to read it.
        other = JwtConfig(validation="proxy", key_secrets="NOT_ALLOWED")
        await system.spawn(lambda: JwtValidatorActor(other), name="jwt-2")
        with pytest.raises(ValidatorUnavailable, match="NOT_ALLOWED"):
            await system.ask("jwt-2", __import__("pywatt.jwt").jwt.ValidateToken(good))


async def test_generate_signs_with_the_key_secret_and_bad_configs_are_refused() -> None:
    store = SecretStore(
        allowed={MODULE: None},
        explicit={"JWT_SECRET": SECRET},
        file_values={},
        secrets_file=None,
        environment={},
    )
    async with actors.open_actor_system() as system:
        await system.spawn(lambda: store, name=STORE_NAME)
        host = ServiceHost(system, {}, Console(lambda line: None))
        open_request = ServiceRequest(
            id="jwt_request_2", service_type=ServiceType.JWT, config={"config": {}}
        )
        cid = await handle_jwt(host, MODULE, open_request)

        def op(name: str, params: Any) -> ServiceOperation:
            return ServiceOperation(
                connection_id=cid, service_type=ServiceType.JWT, operation=name, params=params
            )

        token = await handle_jwt(host, MODULE, op("generate", {"claims": {"sub": "g", "exp": 4e9}}))
        claims = await handle_jwt(host, MODULE, op("validate", {"token": token}))
        assert claims["sub"] == "g"
        with pytest.raises(ServiceError, match="no Jwt connection"):
            await handle_jwt(host, "another-module", op("validate", {"token": token}))
        await handle_jwt(host, MODULE, op("close", {}))
        with pytest.raises(ServiceError, match="no Jwt connection"):
            await handle_jwt(host, MODULE, op("validate", {"token": token}))
        for config, match in (
            ({"config": {"frob": "1"}}, "frob"),
            ({"config": {"algorithms": "none"}}, "not allowed"),
            ({"config": {"leeway": "soon"}}, "leeway"),
        ):
            request = ServiceRequest(id="r", service_type=ServiceType.JWT, config=config)
            with pytest.raises(ServiceError, match=match):
                await handle_jwt(host, MODULE, request)


MODULES = Path(__file__).resolve().parents[1] / "http" / "modules"


async def test_a_module_validates_through_the_embedded_orchestrator() -> None:
    lines: list[str] = []
    async with open_module(
        MODULES / "proxy_mod.py",
        secrets={"JWT_SECRET": SECRET},
        echo=lambda line: lines.append(line.render()),
    ) as module:
        now = int(time.time())
        good = mint(
            oct_key(SECRET), "HS256", {"sub": "eve", "iss": "pywatt-tests", "exp": now + 60}
        )
        expired = mint(
            oct_key(SECRET), "HS256", {"sub": "eve", "iss": "pywatt-tests", "exp": now - 600}
        )
        base = f"http://{module.announce.listen}"
        async with httpx.AsyncClient(timeout=10) as client:
            with trio.fail_after(10):
                reply = await client.get(
                    f"{base}/private", headers={"Authorization": f"Bearer {good}"}
                )
                assert reply.status_code == 200, reply.text
                assert reply.json()["sub"] == "eve"
                reply = await client.get(
                    f"{base}/private", headers={"Authorization": f"Bearer {expired}"}
                )
                assert reply.status_code == 401
                assert reply.json() == {"error": "Unauthorized: token expired"}
        ops = [r.op for r in module.handle.traffic]
        assert "service_request" in ops
        assert "service_operation" in ops
        text = "\n".join(lines + module.stderr_lines)
        assert good not in text
        assert SECRET not in text
