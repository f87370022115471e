"""HTTP and JWT: validation through the actor, and HTTP over IPC through the orchestrator.

* ``jwt_hs256``: sequential validations (signature and claims: ``exp``, ``nbf``, ``iss``,
  ``aud``) of *fresh* tokens: each run validates tokens it has never seen (``jti``
  differs; minted before the run, signed by hand since joserfc's ``encode`` is too slow for
  the ~10^5 a run may need), so the cache (on, at its default size) misses every time and
  only notes each token in its doorkeeper. ``pywatt``: ``ask("pywatt.jwt",
  ValidateToken(token))`` through the JWT actor, claims wrapped as :class:`Claims`.
  ``joserfc``: ``jwt.decode`` with the key and the one algorithm, then a
  ``JWTClaimsRegistry`` built once, called directly in a plain loop (its best case), over
  the same kind of tokens.
* ``jwt_rs256``: the same with one RS256 (2048) token validated again and again, the cache
  off (``cache_size=0``): the signature check itself. Minting ~10^4 fresh RS256 tokens per
  run would take longer than the benchmark, and a pool taken in turn would meet the cache.
* ``jwt_hs256_repeat``: one token validated again and again (a client sending its bearer
  token with each request). ``validator``: ``TokenValidator.validate`` called directly, the
  cache on (what the middleware does outside a module; inside one it asks the actor).
  ``actor``: the asks of ``jwt_hs256`` with this one token (the ask itself costs about as
  much as a fresh HS256 validation, so this ratio cannot reach the target: reported only).
  ``joserfc``: as above, with this one token.
* ``http_request``: sequential ``GET /api/hello`` of ``examples/web.py`` (FastAPI) with one
  keep-alive httpx client. ``over_ipc``: to the orchestrator's gateway with
  ``gateway_transport="ipc"`` (how it reaches a foreign, Rust-SDK module; a pywatt module
  goes over pooled HTTP/1.1 by default, which ``http_load`` measures), which sends each
  request as an ``http_request`` line on the module's stdin and answers from the §9.2 wrapper
  the module writes on stdout (client → gateway → stdio → module → stdio → gateway →
  client). ``direct``: the same client to the module's own HTTP server. The
  orchestrator runs in a process of its own (``pywatt.orchestrator.open_orchestrator`` in a
  child Python), as ``pywatt run`` would, so the client does not share its interpreter.

Targets: fresh JWT validations at least 0.5 of joserfc direct, a repeated token at least 3
times joserfc; HTTP over IPC at least 0.3 of direct HTTP.

    python -m benchmarks.http [--quick] [--out DIR] [--strict]
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import math
import os
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, Final

import httpx
from joserfc import jwt
from joserfc.jwk import OctKey, RSAKey

import actors
from benchmarks._harness import Bench, Settings, arate_loop, main, rate_loop
from pywatt.jwt import (
    JWT_ACTOR,
    JwtConfig,
    JwtValidatorActor,
    KeyRing,
    TokenValidator,
    ValidateToken,
    parse_keys,
)

ROOT: Final = Path(__file__).resolve().parent.parent
WEB_MODULE: Final = ROOT / "examples" / "web.py"
JWT_TARGET: Final = 0.5
JWT_REPEAT_TARGET: Final = 3.0
FRESH_PER_SECOND: Final = 150_000
"""Fresh tokens minted (untimed) per second of a run's budget: more than either side of
``jwt_hs256`` validates in that time (a run that runs out fails, saying so)."""
HTTP_TARGET: Final = 0.3
BATCH: Final = 50
ISSUER: Final = "pywatt-bench"
AUDIENCE: Final = "pywatt-bench-api"

# The child that runs the orchestrator: prints one JSON line with the gateway and the
# module's address once the module announced, then serves until its stdin closes.
_SERVE: Final = """
import json, sys, trio
from pywatt.orchestrator import Manifest, ModuleSpec, open_orchestrator

async def main(path, secret):
    spec = ModuleSpec.from_command("web", path)
    manifest = Manifest(modules=[spec], secrets={"JWT_SECRET": secret}, grace=2, term_grace=2)
    async with open_orchestrator(manifest, on_output=lambda line: None,
                                 gateway_transport="ipc") as orch:
        with trio.fail_after(20):
            announce = await orch.module("web").wait_announced()
        print(json.dumps({"gateway": orch.orchestrator_api, "direct": announce.listen}),
              flush=True)
        stdin = trio.lowlevel.FdStream(0)
        while await stdin.receive_some(1024):
            pass

trio.run(main, sys.argv[1], sys.argv[2])
"""


# -- JWT -----------------------------------------------------------------------------------------


Tokens = Callable[[float], Iterator[str]]
"""The tokens of one run of a JWT implementation, given the run's time budget."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class _JwtCase:
    """One algorithm's key, config and tokens: ``token`` for repeats, :meth:`fresh` for
    tokens never seen before."""

    def __init__(self, alg: str) -> None:
        now = int(time.time())
        self.claims = {"sub": "bench", "iss": ISSUER, "aud": AUDIENCE, "iat": now, "nbf": now,
                       "exp": now + 3600}  # fmt: skip
        self.alg = alg
        self.runs = itertools.count()
        if alg == "HS256":
            self.secret = b"benchmark-hs256-secret-0123456789abcdef"
            self.key: Any = OctKey.import_key(self.secret)
            signer: Any = self.key
            self.config = JwtConfig(algorithms=alg, secret_key=self.secret.decode(),
                                    issuer=ISSUER, audience=AUDIENCE)  # fmt: skip
        else:
            signer = RSAKey.generate_key(2048)
            self.key = RSAKey.import_key(signer.as_pem(private=False))
            self.config = JwtConfig(algorithms=alg, public_key=signer.as_pem(private=False)
                                    .decode(), issuer=ISSUER, audience=AUDIENCE,
                                    cache_size=0)  # fmt: skip
        self.token = jwt.encode({"alg": alg}, self.claims, signer)
        self.registry = jwt.JWTClaimsRegistry(
            leeway=30, iss={"essential": True, "value": ISSUER},
            aud={"essential": True, "values": [AUDIENCE]}, exp={"essential": True},
        )  # fmt: skip

    def repeat(self, seconds: float) -> Iterator[str]:
        """The one token, forever."""
        return itertools.repeat(self.token)

    def fresh(self, seconds: float) -> Iterator[str]:
        """HS256 tokens no run has validated before, enough for ``seconds`` (signed here by
        hand: joserfc's ``encode`` would take longer than the run)."""
        run = next(self.runs)
        head = self.token.split(".", 1)[0]
        before, after = json.dumps({**self.claims, "jti": "@"}).split('"@"')
        mac = hmac.new(self.secret, digestmod=hashlib.sha256)
        tokens = []
        for i in range(math.ceil(seconds * FRESH_PER_SECOND) + BATCH):
            payload = before + f'"{run}-{i}"' + after
            signing_input = f"{head}.{_b64(payload.encode())}"
            signature = mac.copy()
            signature.update(signing_input.encode())
            tokens.append(f"{signing_input}.{_b64(signature.digest())}")
        return _once(tokens)

    def joserfc(self, tokens: Tokens) -> Callable[[float], float]:
        """joserfc over ``tokens``."""
        key, algorithms, registry = self.key, [self.alg], self.registry

        def run(seconds: float) -> float:
            turn = tokens(seconds)

            def batch() -> float:
                for _ in range(BATCH):
                    registry.validate(jwt.decode(next(turn), key, algorithms=algorithms).claims)
                return BATCH

            return rate_loop(batch, seconds)

        return run

    def actor(self, tokens: Tokens) -> Callable[[float], Awaitable[float]]:
        """Asks to a JWT actor (its cache new each run) over ``tokens``."""

        async def run(seconds: float) -> float:
            turn = map(ValidateToken, tokens(seconds))
            async with actors.open_actor_system() as system:
                ref = await system.spawn(lambda: JwtValidatorActor(self.config), name=JWT_ACTOR)
                ask = ref.ask
                assert (await ask(next(turn))).sub == "bench"

                async def batch() -> float:
                    for _ in range(BATCH):
                        await ask(next(turn))
                    return BATCH

                return await arate_loop(batch, seconds)

        return run

    def validator(self, seconds: float) -> float:
        """``TokenValidator.validate`` of the one token, directly (a new cache each run)."""
        keys = parse_keys(self.config.secret_key or "", source="bench")
        validate = TokenValidator(self.config, KeyRing.of(keys)).validate
        token = self.token
        assert validate(token)["sub"] == "bench"

        def batch() -> float:
            for _ in range(BATCH):
                validate(token)
            return BATCH

        return rate_loop(batch, seconds)


# -- HTTP ----------------------------------------------------------------------------------------


class _Servers:
    """The orchestrator child process with examples/web.py under it (started once)."""

    def __init__(self) -> None:
        self.process: subprocess.Popen[bytes] | None = None
        self.gateway = ""
        self.direct = ""

    def start(self) -> None:
        if self.process is not None:
            return
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        self.process = subprocess.Popen(
            [sys.executable, "-c", _SERVE, str(WEB_MODULE), "bench-secret-0123456789abcdef0123"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, cwd=ROOT,
        )  # fmt: skip
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError("the orchestrator child exited before the module announced")
        addresses = json.loads(line)
        self.gateway = addresses["gateway"]
        self.direct = "http://127.0.0.1:" + addresses["direct"].rsplit(":", 1)[-1]

    def stop(self) -> None:
        process = self.process
        if process is None:
            return
        assert process.stdin is not None
        process.stdin.close()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        self.process = None


async def _requests(base: str, seconds: float) -> float:
    async with httpx.AsyncClient(base_url=base, timeout=10) as client:
        reply = await client.get("/api/hello")
        if reply.status_code != 200 or "hello" not in reply.text:
            raise RuntimeError(f"{base}/api/hello answered {reply.status_code}: {reply.text}")

        async def batch() -> float:
            for _ in range(10):
                reply = await client.get("/api/hello")
                if reply.status_code != 200:
                    raise RuntimeError(f"{base}/api/hello answered {reply.status_code}")
            return 10

        return await arate_loop(batch, seconds)


# -- the benchmark -------------------------------------------------------------------------------


def _once(tokens: list[str]) -> Iterator[str]:
    yield from tokens
    raise RuntimeError(f"{len(tokens)} fresh tokens were too few: raise FRESH_PER_SECOND")


def define(bench: Bench) -> None:
    for alg in ("HS256", "RS256"):
        data = _JwtCase(alg)
        name = f"jwt_{alg.lower()}"
        tokens = data.fresh if alg == "HS256" else data.repeat
        case = bench.case(name, unit="validations/s")
        case.add("pywatt", data.actor(tokens))
        case.add("joserfc", data.joserfc(tokens))
        bench.target(bench.ratio(name, "pywatt", "joserfc"), ">=", JWT_TARGET)
        if alg == "HS256":
            repeat = bench.case(f"{name}_repeat", unit="validations/s")
            repeat.add("validator", data.validator)
            repeat.add("actor", data.actor(data.repeat))
            repeat.add("joserfc", data.joserfc(data.repeat))
            ratio = bench.ratio(repeat.name, "validator", "joserfc")
            bench.target(ratio, ">=", JWT_REPEAT_TARGET)
            bench.ratio(repeat.name, "actor", "joserfc", name=f"{name}_repeat_actor_vs_joserfc")

    servers = _Servers()
    http_settings = (
        Settings(repetitions=5, seconds=0.3, warmup_seconds=0.2)
        if bench.quick
        else Settings(repetitions=7, seconds=2.0, warmup_seconds=0.5)
    )
    case = bench.case("http_request", unit="req/s", settings=http_settings)

    async def over_ipc(seconds: float) -> float:
        servers.start()
        return await _requests(servers.gateway, seconds)

    async def direct(seconds: float) -> float:
        servers.start()
        return await _requests(servers.direct, seconds)

    case.add("over_ipc", over_ipc)
    case.add("direct", direct)
    ratio = bench.ratio("http_request", "over_ipc", "direct", name="http_over_ipc_vs_direct")
    bench.target(ratio, ">=", HTTP_TARGET)
    bench.meta["jwt"] = {
        "pywatt": "ask('pywatt.jwt', ValidateToken(token)), sequential",
        "joserfc": "jwt.decode(token, key, algorithms=[alg]) + JWTClaimsRegistry.validate",
        "claims": ["exp", "nbf", "iat", "iss", "aud"],
        "fresh": "jwt_hs256: tokens no run validated before (the cache on, default size: "
        "every validation a miss); jwt_rs256: one token, the cache off",
        "repeat": "one token again and again; validator: TokenValidator.validate directly "
        "(cache on), actor: the asks above",
    }
    bench.meta["http"] = {
        "app": "examples/web.py GET /api/hello (FastAPI)",
        "client": "httpx.AsyncClient, keep-alive, sequential",
        "over_ipc": "gateway -> http_request on stdin -> §9.2 wrapper on stdout -> gateway",
        "direct": "the module's own HTTP server",
    }
    import atexit

    atexit.register(servers.stop)


if __name__ == "__main__":
    raise SystemExit(main("http", define))
