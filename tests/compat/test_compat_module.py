"""Modules declared with pywatt.compat, run in a real tree against a test playing the
orchestrator: the reference's state_builder, AppState, AppConfig, secrets and refusals."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from pywatt import compat
from pywatt.compat import AppConfig, AppState, pywatt_module
from pywatt.module import Module
from pywatt.secrets import Secret
from pywatt.wire import EXIT_CANNOT_START, AnnounceBlob, GetSecretRequest, SecretValueResponse
from tests.module.harness import Peer, running_module


def run(module: Module[Any]) -> Any:
    """``running_module`` for a declared module (its wrapped main and its options)."""
    return running_module(module.main, **module.options)


async def serve_secrets(peer: Peer, values: dict[str, str]) -> None:
    for _ in values:
        request = await peer.read()
        assert isinstance(request, GetSecretRequest)
        await peer.send(SecretValueResponse(name=request.name, value=values[request.name]))


async def test_state_builder_gets_the_secrets_as_a_list_of_secret_objects() -> None:
    seen: list[Any] = []

    def build(init: Any, secrets: list[Secret]) -> dict[str, str]:
        seen.append([(s.key, s.expose_secret(), s.version) for s in secrets])
        return {"api_key": secrets[0].expose_secret(), "module": init.module_id}

    @pywatt_module(secrets=["API_KEY", "DATABASE_URL"], state_builder=build)
    def create_app(state: AppState[dict[str, str]]) -> None:  # sync, as the reference allowed
        seen.append((type(state), state.custom(), state.user_state is state.custom()))

    async with run(create_app) as peer:
        await serve_secrets(peer, {"API_KEY": "api-key-1234", "DATABASE_URL": "sqlite://"})
        assert isinstance(await peer.read(), AnnounceBlob)
    assert seen[0] == [("API_KEY", "api-key-1234", 1), ("DATABASE_URL", "sqlite://", 1)]
    assert seen[1] == (AppState, {"api_key": "api-key-1234", "module": "mod-under-test"}, True)


async def test_the_reference_state_attributes_and_methods() -> None:
    seen: dict[str, Any] = {}

    @pywatt_module(config=AppConfig(cache_config={"type": "memory", "max_size": 10}))
    async def create_app(state: AppState[None]) -> None:
        seen["database"] = state.database
        seen["cache"] = state.cache is not None
        seen["jwt"] = state.jwt_validator
        seen["messaging"] = state.internal_messaging_client is not None
        seen["config"] = state.config.cache_config
        seen["registration"] = state.config.enable_module_registration
        await state.set_secret("TEMP_SECRET", "temporary_value", {"source": "demo"})
        secret = await state.secret_client.get_secret("TEMP_SECRET")
        seen["secret"] = (secret.expose_secret(), secret.metadata)
        seen["global"] = (await compat.get_secret("TEMP_SECRET")).expose_secret()
        await state.cache_set("n", 41, 60)
        seen["typed"] = (await state.secret_client.get_int("TEMP_N")).expose_secret()
        seen["channels"] = state.available_channels()

    async with run(create_app) as peer:
        await serve_secrets(peer, {"TEMP_N": "42"})
        assert isinstance(await peer.read(), AnnounceBlob)
    assert seen == {
        "database": None,
        "cache": True,
        "jwt": None,
        "messaging": True,
        "config": {"type": "memory", "max_size": 10},
        "registration": True,
        "secret": ("temporary_value", {"source": "demo"}),
        "global": "temporary_value",
        "typed": 42,
        "channels": [],
    }


@pytest.mark.parametrize(
    ("options", "returns", "message"),
    [
        ({"specific_port": 8080}, None, "pywatt.compat: specific_port is not supported: the "
         "orchestrator assigns the module's listen address"),
        ({"listen_addr": "0.0.0.0:80"}, None, "listen_addr is not supported"),
        ({}, {"type": "simple_module"}, "create_app returned a dict, which is not an ASGI "
         "(FastAPI, Starlette) or WSGI (Flask) app"),
        ({"framework": "flask"}, "asgi", "framework='flask' but create_app returned an ASGI app"),
        ({"framework": "django"}, None, "framework must be one of"),
        ({"config": AppConfig(sla_config={"p99_ms": 5})}, None, "AppConfig.sla_config is not "
         "supported"),
    ],
)  # fmt: skip
async def test_what_cannot_be_honoured_stops_the_start_in_one_line(
    options: dict[str, Any], returns: Any, message: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR)

    async def asgi(scope: Any, receive: Any, send: Any) -> None:
        pass

    @pywatt_module(**options)
    async def create_app(state: AppState[None]) -> Any:
        return asgi if returns == "asgi" else returns

    async with run(create_app) as peer:
        pass
    assert peer.exit_code == EXIT_CANNOT_START
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1
    assert message in errors[0]
    assert errors[0].startswith("module mod-under-test cannot start: ")


def test_a_bad_option_of_a_compat_module_is_one_line_and_exit_78(
    capsys: pytest.CaptureFixture[str],
) -> None:
    @pywatt_module(secretz=["API_KEY"])
    async def create_app(state: AppState[None]) -> None:
        pass

    assert create_app.run() == EXIT_CANNOT_START
    err = capsys.readouterr().err
    assert err.startswith("pywatt: module ")  # named after the running file
    assert err.endswith(
        " cannot start: unknown module option 'secretz' (did you mean 'secrets'?)\n"
    )
    assert err.count("\n") == 1


async def test_awaiting_create_app_as_the_reference_examples_did_says_what_to_do() -> None:
    @pywatt_module()
    async def create_app(state: AppState[None]) -> None:
        pass

    with pytest.raises(compat.NotSupported, match="the module runs by itself once its file"):
        await create_app()  # type: ignore[call-arg]
