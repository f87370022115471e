"""The ``health`` option: a path, True for the default ``/health``, False for none; anything
else is refused when the options are read, in one line saying what to pass."""

from __future__ import annotations

import json

import pytest
import trio

import pywatt
from pywatt.http import HttpConfig
from pywatt.module import ModuleConfig
from pywatt.wire import AnnounceBlob, EndpointAnnounce, IpcHttpRequest, Shutdown

from .harness import running_module


async def test_health_true_serves_the_default_health_endpoint() -> None:
    with trio.fail_after(20):
        await _serves_health()


async def _serves_health() -> None:
    async with running_module(health=True) as peer:
        announce = await peer.read()
        assert isinstance(announce, AnnounceBlob)
        assert announce.endpoints == [EndpointAnnounce(path="/health", methods=["GET"])]
        await peer.send(
            IpcHttpRequest(request_id="h1", method="GET", uri="/health", headers={}, body=None)
        )
        reply = json.loads(await peer.read_raw())["content"]
        assert reply["status_code"] == 200
        assert json.loads(bytes(reply["body"]))["status"] == "healthy"
        await peer.send(Shutdown())
    assert peer.exit_code == 0


@pytest.mark.parametrize(
    ("health", "path"), [(True, "/health"), ("/ready", "/ready"), (None, "/health"), (False, None)]
)
def test_the_health_option_becomes_the_served_path(health: object, path: str | None) -> None:
    config = ModuleConfig.from_kwargs(health=health)
    assert HttpConfig.from_module_config(config).health == path


@pytest.mark.parametrize("health", ["health", 5, b"/health", ["/health"]])
def test_any_other_health_value_is_refused_in_one_line_saying_what_to_pass(
    health: object,
) -> None:
    with pytest.raises(pywatt.ConfigError) as info:
        ModuleConfig.from_kwargs(health=health)
    message = str(info.value)
    assert "\n" not in message
    for what in ("'/health'", "True", "False"):
        assert what in message
