"""What pywatt itself gained for modules ported from the reference SDK: secrets that
``expose_secret()``, ``set_secret`` metadata, ``get_secret(use_cache=False)``,
``execute_query`` without parameters, ``ChannelPreferences`` presets, the in-memory cache's
``max_size`` and ``bind_http=False``."""

from __future__ import annotations

from typing import Any

from pywatt import AppState, ModuleConfig
from pywatt.secrets import Secret
from pywatt.wire import AnnounceBlob, ChannelPreferences, GetSecretRequest, SecretValueResponse
from tests.module.harness import running_module


def test_a_secret_exposes_its_value_and_key_as_the_reference_sdk_wrote_them() -> None:
    secret = Secret("API_KEY", "v-1")
    assert (secret.key, secret.expose_secret()) == ("API_KEY", "v-1")
    assert "v-1" not in repr(secret)


async def test_set_secret_keeps_metadata_and_get_secret_takes_use_cache() -> None:
    seen: list[Any] = []

    async def main(state: AppState[Any]) -> None:
        await state.set_secret("TEMP", "temporary-value-1", {"source": "demo"})
        seen.append((await state.secret("TEMP")).metadata)
        seen.append(await state.get_secret("PW"))
        seen.append(await state.get_secret("PW", False))  # use_cache=False: asks again

    async with running_module(main) as peer:
        assert await peer.read() == GetSecretRequest(name="PW")
        await peer.send(SecretValueResponse(name="PW", value="pw-first-value"))
        assert await peer.read() == GetSecretRequest(name="PW")
        await peer.send(SecretValueResponse(name="PW", value="pw-second-value"))
        assert isinstance(await peer.read(), AnnounceBlob)
    assert seen == [{"source": "demo"}, "pw-first-value", "pw-second-value"]


async def test_execute_query_takes_none_for_no_parameters(tmp_path: Any) -> None:
    rows: list[Any] = []

    async def main(state: AppState[Any]) -> None:
        await state.execute_query("CREATE TABLE t (x INTEGER)", None)
        rows.extend(await state.execute_query("SELECT count(*) AS n FROM t"))

    options = {"database_config": {"type": "sqlite", "path": str(tmp_path / "db.sqlite")}}
    async with running_module(main, **options) as peer:
        assert isinstance(await peer.read(), AnnounceBlob)
    assert rows == [{"n": 0}]


def test_channel_preferences_have_the_presets_as_constructors() -> None:
    from pywatt.channels import preferences_from_dict

    for preset in ("tcp_only", "ipc_only", "prefer_ipc", "prefer_tcp"):
        assert getattr(ChannelPreferences, preset)() == preferences_from_dict({"preset": preset})


def test_the_memory_cache_takes_max_size_as_its_entry_limit() -> None:
    from pywatt.cache import backend_factory

    cache = backend_factory({"type": "memory", "max_size": 1000, "default_ttl": 300})()
    assert cache.store.max_entries == 1000  # type: ignore[attr-defined]


def test_bind_http_is_a_module_option() -> None:
    assert ModuleConfig.from_kwargs(bind_http=False).bind_http is False
    assert ModuleConfig().bind_http is True
