"""examples/web.py (the module `just demo` puts behind the gateway): its public route, and its
JWT-protected route with no token, a good one and one signed with another key."""

from __future__ import annotations

from pathlib import Path

import httpx
import trio

from pywatt.testing import TEST_JWT_KEY, jwt_token, open_module

EXAMPLE = Path(__file__).parents[2] / "examples" / "web.py"


async def test_the_web_example_serves_its_routes_through_the_gateway() -> None:
    claims = {"sub": "ada", "iss": "pywatt-demo", "aud": "pywatt-web", "roles": ["admin"]}
    with trio.fail_after(60):
        async with open_module(
            EXAMPLE, secrets={"JWT_SECRET": TEST_JWT_KEY}, echo=lambda line: None
        ) as module:
            gateway = module.orchestrator.orchestrator_api
            async with httpx.AsyncClient(base_url=gateway, timeout=10) as client:
                hello = await client.get("/api/hello")
                assert hello.json() == {"message": "hello from a pywatt module"}
                assert (await client.get("/api/me")).status_code == 401
                good = {"Authorization": f"Bearer {jwt_token(claims)}"}
                assert (await client.get("/api/me", headers=good)).json() == {
                    "user": "ada",
                    "roles": ["admin"],
                }
                forged = {"Authorization": f"Bearer {jwt_token(claims, key='x' * 40)}"}
                assert (await client.get("/api/me", headers=forged)).status_code == 401
