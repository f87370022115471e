"""A module over stdin/stdout: handshake, secrets, rotation, ports, shutdown, bad input."""

from __future__ import annotations

import json
import logging
from typing import Any

import attrs
import pytest
import trio
import trio.testing

import actors
import pywatt
from pywatt import AnnouncedEndpoint, AppState
from pywatt.secrets import ProvideSecret, SecretNotFound, SecretRotated, SecretTimeout
from pywatt.wire import (
    EXIT_CANNOT_START,
    AnnounceBlob,
    EndpointAnnounce,
    GetSecretRequest,
    Heartbeat,
    IpcHttpRequest,
    IpcPortNegotiation,
    IpcPortNegotiationResponse,
    RotatedNotification,
    RotationAckRequest,
    SecretError,
    SecretValueResponse,
    Shutdown,
)

from .harness import running_module


async def test_secrets_are_fetched_in_order_before_the_announce() -> None:
    seen: dict[str, str] = {}

    async def main(state: AppState[Any]) -> None:
        seen["DB"] = await state.get_secret("DB")
        seen["user_state"] = state.user_state

    async with running_module(
        main,
        secrets=["DB", "API_KEY"],
        endpoints=[AnnouncedEndpoint("/items", ["get", "POST"], auth="jwt")],
        version="v1",
        state_builder=lambda init, secrets: f"{init.module_id}:{sorted(secrets)}",
    ) as peer:
        assert await peer.read() == GetSecretRequest(name="DB")
        await peer.send(SecretValueResponse(name="DB", value="postgres://u:pw@h/db"))
        assert await peer.read() == GetSecretRequest(name="API_KEY")
        await peer.send(SecretValueResponse(name="API_KEY", value="key-123456"))
        announce = await peer.read()
        assert announce == AnnounceBlob(
            listen="127.0.0.1:4102",
            endpoints=[EndpointAnnounce(path="/v1/items", methods=["GET", "POST"], auth="jwt")],
        )
        await peer.send(Shutdown())
    assert peer.exit_code == 0
    assert seen == {"DB": "postgres://u:pw@h/db", "user_state": "mod-under-test:['API_KEY', 'DB']"}


async def test_the_announce_line_is_byte_exact() -> None:
    async with running_module(endpoints=[AnnouncedEndpoint("/a", ["GET"])]) as peer:
        line = await peer.read_raw()
        await peer.send(Shutdown())
    expected = b'{"op":"announce","listen":"127.0.0.1:4102",'
    expected += b'"endpoints":[{"path":"/a","methods":["GET"]}]}'
    assert line == expected


async def test_an_unknown_secret_fails_startup_at_once_when_the_orchestrator_says_so(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async with running_module(secrets=["NOPE"]) as peer:
        assert await peer.read() == GetSecretRequest(name="NOPE")
        await peer.send(SecretError(name="NOPE", message="no such secret"))
        with trio.fail_after(5):
            await peer.done.wait()
    assert peer.exit_code == EXIT_CANNOT_START  # a restart would fail the same way
    assert "cannot start: secret 'NOPE' not found: no such secret" in caplog.text


async def test_an_unanswered_secret_fails_after_the_protocol_deadline(
    autojump_clock: trio.testing.MockClock,
) -> None:
    failures: list[BaseException] = []

    async def main(state: AppState[Any]) -> None:
        start = trio.current_time()
        try:
            await state.get_secret("SILENT")
        except SecretTimeout as exc:
            failures.append(exc)
        assert trio.current_time() - start == pytest.approx(5.0)

    async with running_module(main) as peer:
        assert await peer.read() == GetSecretRequest(name="SILENT")
        assert isinstance(await peer.read(), AnnounceBlob)
        await peer.send(Shutdown())
    assert len(failures) == 1
    assert "no answer for secret 'SILENT' within 5 s" in str(failures[0])


async def test_rotation_refetches_notifies_subscribers_then_acks() -> None:
    events: list[str] = []

    async def main(state: AppState[Any]) -> None:
        async def watch() -> None:
            async with state.secret_rotations(["API_KEY"]) as rotations:
                async for event in rotations:
                    assert isinstance(event, SecretRotated)
                    events.append(f"v{event.secret.version}:{event.secret.value}")

        await state.system.spawn(
            lambda: _Runner(watch), name="watcher", supervisor="pywatt.services"
        )
        await trio.testing.wait_all_tasks_blocked()

    async with running_module(main, secrets=["API_KEY"]) as peer:
        assert await peer.read() == GetSecretRequest(name="API_KEY")
        await peer.send(SecretValueResponse(name="API_KEY", value="old-value-1"))
        assert isinstance(await peer.read(), AnnounceBlob)
        await peer.send(RotatedNotification(keys=["API_KEY"], rotation_id="rot-7"))
        assert await peer.read() == GetSecretRequest(name="API_KEY")
        assert events == []
        await peer.send(SecretValueResponse(name="API_KEY", value="new-value-2"))
        ack = await peer.read()
        assert events == ["v2:new-value-2"]  # subscribers heard before the ack went out
        assert ack == RotationAckRequest(rotation_id="rot-7", status="success")
        await peer.send(Heartbeat())  # what our orchestrator sends after an ack: ignored
        await peer.send(Shutdown())
    assert peer.exit_code == 0


class _Runner(actors.Actor[object]):
    """Runs one coroutine function as the actor's background task."""

    def __init__(self, fn: Any) -> None:
        self.fn = fn

    async def on_start(self) -> None:
        self.ctx.start_task(self.fn)

    async def receive(self, message: object) -> None:
        return None


async def test_a_pushed_secret_updates_the_cache_with_a_new_version() -> None:
    versions: list[tuple[int, str]] = []

    async def main(state: AppState[Any]) -> None:
        secret = await state.secret("TOKEN")
        versions.append((secret.version, secret.value))

    async with running_module(main) as peer:
        assert await peer.read() == GetSecretRequest(name="TOKEN")
        await peer.send(SecretValueResponse(name="TOKEN", value="first-token"))
        assert isinstance(await peer.read(), AnnounceBlob)
        await peer.send(SecretValueResponse(name="TOKEN", value="second-token", rotation_id="r2"))
        await peer.send(Shutdown())
    assert versions == [(1, "first-token")]


async def test_port_negotiation_asks_the_orchestrator() -> None:
    ports: list[int] = []

    async def main(state: AppState[Any]) -> None:
        ports.append(await state.negotiate_port(8123))

    async with running_module(main) as peer:
        request = await peer.read()
        assert isinstance(request, IpcPortNegotiation)
        assert request.specific_port == 8123
        await peer.send(
            IpcPortNegotiationResponse(request_id=request.request_id, success=True, port=8123)
        )
        assert isinstance(await peer.read(), AnnounceBlob)
        await peer.send(Shutdown())
    assert ports == [8123]


async def test_eof_on_stdin_shuts_the_module_down_cleanly() -> None:
    async with running_module() as peer:
        assert isinstance(await peer.read(), AnnounceBlob)
        await peer.close_stdin()
        with trio.fail_after(5):
            await peer.done.wait()
    assert peer.exit_code == 0


async def test_malformed_lines_are_logged_and_the_module_keeps_serving(
    caplog: pytest.LogCaptureFixture,
) -> None:
    values: list[str] = []
    sent = trio.Event()
    got = trio.Event()

    async def later(state: AppState[Any]) -> None:
        await sent.wait()  # ask only after the malformed lines went in
        values.append(await state.get_secret("LATER"))
        got.set()

    async def main(state: AppState[Any]) -> None:
        await state.spawn(lambda: _Runner(lambda: later(state)), name="later")

    async with running_module(main) as peer:
        assert isinstance(await peer.read(), AnnounceBlob)
        await peer.send_raw(b"this is not json\n")
        await peer.send_raw(b'{"op":"secret","name":"X"}\n')  # missing value
        await peer.send_raw(b'{"op":"no_such_op"}\n')
        sent.set()
        assert await peer.read() == GetSecretRequest(name="LATER")
        await peer.send(SecretValueResponse(name="LATER", value="still-working"))
        with trio.fail_after(5):
            await got.wait()
        await peer.send(Shutdown())
    assert values == ["still-working"]
    malformed = [r for r in caplog.records if "malformed stdin line" in r.getMessage()]
    assert len(malformed) == 3
    assert "missing field `value`" in malformed[1].getMessage()


async def test_http_over_ipc_to_a_module_without_an_app_gets_a_clear_503() -> None:
    async with running_module() as peer:
        assert isinstance(await peer.read(), AnnounceBlob)
        await peer.send(
            IpcHttpRequest(request_id="req-1", method="GET", uri="/x", headers={}, body=None)
        )
        wrapper = json.loads(await peer.read_raw())
        await peer.send(Shutdown())
    assert wrapper["content"]["status_code"] == 503
    assert wrapper["content"]["request_id"] == "req-1"
    assert wrapper["metadata"]["properties"] == {"correlation_id": "req-1"}
    assert b"serves no HTTP app" in bytes(wrapper["content"]["body"])


@attrs.frozen
class Boom:
    pass


@attrs.frozen
class Count(actors.Request[int]):
    pass


class Fragile(actors.Actor[Boom | Count]):
    async def receive(self, message: Boom | Count) -> int:
        if isinstance(message, Boom):
            raise RuntimeError("fragile actor broke")
        return self.ctx.incarnation


async def test_an_actor_crashing_inside_a_module_is_restarted_while_the_module_stays_up() -> None:
    incarnations: list[int] = []

    async def main(state: AppState[Any]) -> None:
        ref = await state.spawn(Fragile, name="fragile")
        await ref.tell(Boom())
        incarnations.append(await ref.ask(Count()))

    async with running_module(main) as peer:
        assert isinstance(await peer.read(), AnnounceBlob)
        await peer.send(Shutdown())
    assert incarnations == [2]
    assert peer.exit_code == 0


@pytest.mark.parametrize(
    ("option", "message"),
    [
        ({"service_capabilities": "crud"}, "service_capabilities must be a list"),
        ({"database_config": "sqlite"}, "database_config must be a dict"),
        ({"secrets": "API_KEY"}, "secrets must be a list"),
        (
            {"endpoints": [{"path": "/a", "method": ["GET"]}]},
            r"endpoints\[0\]: unknown key 'method' \(did you mean 'methods'\?\)",
        ),
        ({"endpoints": [{"methods": ["GET"]}]}, r"endpoints\[0\] needs path"),
        ({"endpoints": ["/a", 3]}, r"endpoints\[1\] must be an AnnouncedEndpoint, a dict"),
    ],
)
def test_a_bad_option_is_a_clear_error(option: dict[str, Any], message: str) -> None:
    with pytest.raises(pywatt.ConfigError, match=message):
        pywatt.ModuleConfig.from_kwargs(**option)


def test_endpoints_may_be_dicts_or_paths_as_in_the_wire_announce() -> None:
    config = pywatt.ModuleConfig.from_kwargs(
        endpoints=[{"path": "/a", "methods": ["post"], "auth": "jwt"}, "/b"]
    )
    assert config.endpoints == (
        pywatt.AnnouncedEndpoint("/a", ("post",), "jwt"),
        pywatt.AnnouncedEndpoint("/b"),
    )
    assert [e.methods for e in config.announced()] == [["POST"], ["GET"]]


def test_an_unknown_option_is_refused() -> None:
    with pytest.raises(pywatt.ConfigError, match="unknown module option"):
        pywatt.ModuleConfig.from_kwargs(secretz=["X"])


async def test_no_secret_value_reaches_a_log_line(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)

    async def main(state: AppState[Any]) -> None:
        value = await state.get_secret("PW")
        logging.getLogger("user").info("connecting with %s", value)

    async with running_module(main) as peer:
        assert await peer.read() == GetSecretRequest(name="PW")
        await peer.send(SecretValueResponse(name="PW", value="pw-very-secret-9"))
        assert isinstance(await peer.read(), AnnounceBlob)
        await peer.send(Shutdown())
    from pywatt.logs import JsonFormatter

    formatter = JsonFormatter()
    rendered = "\n".join(formatter.format(r) for r in caplog.records)
    assert "connecting with [REDACTED]" in rendered
    assert "pw-very-secret-9" not in rendered
    assert "init-env-secret-value" not in rendered  # InitBlob env values are registered too


async def test_not_found_when_no_provider_has_the_secret() -> None:
    errors: list[BaseException] = []

    async def main(state: AppState[Any]) -> None:
        try:
            await state.get_secret("MISSING")
        except SecretNotFound as exc:
            errors.append(exc)

    async with running_module(main, secret_providers=["memory", "env"]) as peer:
        assert isinstance(await peer.read(), AnnounceBlob)  # nothing asked on stdout
        await peer.send(Shutdown())
    assert "no environment variable MISSING" in str(errors[0])


async def test_without_rotate_a_rotation_only_drops_the_cache_and_is_acked() -> None:
    async with running_module(secrets=["K"], rotate=False) as peer:
        assert await peer.read() == GetSecretRequest(name="K")
        await peer.send(SecretValueResponse(name="K", value="k-value-1"))
        assert isinstance(await peer.read(), AnnounceBlob)
        await peer.send(RotatedNotification(keys=["K"], rotation_id="rot-9"))
        assert await peer.read() == RotationAckRequest(rotation_id="rot-9", status="success")
        await peer.send(Shutdown())


class VaultProvider(actors.Actor[ProvideSecret]):
    """A user's own secret provider, handed to the module as a factory."""

    reply_errors = (SecretNotFound,)

    async def receive(self, message: ProvideSecret) -> str:
        if message.name == "VAULTED":
            return "from-the-vault-1"
        raise SecretNotFound(message.name, "not in the vault")


async def test_a_provider_factory_is_started_and_asked_before_the_orchestrator() -> None:
    sources: list[str] = []

    async def main(state: AppState[Any]) -> None:
        sources.append((await state.secret("VAULTED")).source)

    async with running_module(
        main, secrets=["VAULTED"], secret_providers=["memory", VaultProvider, "orchestrator"]
    ) as peer:
        assert isinstance(await peer.read(), AnnounceBlob)  # no get_secret on stdout
        await peer.send(Shutdown())
    assert sources == ["pywatt.secrets.custom-1"]
