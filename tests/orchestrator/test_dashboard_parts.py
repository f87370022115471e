"""The dashboard's parts on their own: who may look (Host, token), what the gateway's latency
table keeps, what the history remembers of the event stream."""

from __future__ import annotations

from typing import Any

import pytest

import actors
from pywatt.observe import ModuleEvent, ModuleStateChanged, RemoteFailure, SecretsRotated
from pywatt.orchestrator import ModuleExited, ModuleHandle, ModuleSpec
from pywatt.orchestrator.dashboard import Access, EndpointLatency, History
from pywatt.wire import AnnounceBlob, EndpointAnnounce


def scope(host: str | None = None, **headers: str) -> dict[str, Any]:
    pairs = [(k.encode(), v.encode()) for k, v in headers.items()]
    if host is not None:
        pairs.append((b"host", host.encode()))
    return {"headers": pairs, "query_string": b""}


@pytest.mark.parametrize("host", ["127.0.0.1:8080", "localhost:80", "[::1]:9000", "localhost"])
def test_loopback_without_a_token_takes_loopback_host_names(host: str) -> None:
    assert Access(None, "127.0.0.1").check(scope(host)) is None


@pytest.mark.parametrize("host", ["evil.example", "evil.example:8080", "10.0.0.1:80", None])
def test_loopback_without_a_token_refuses_other_host_names(host: str | None) -> None:
    refusal = Access(None, "::1").check(scope(host))
    assert refusal is not None
    assert refusal.status == 403


def test_bound_elsewhere_without_a_token_is_a_401_naming_the_variable() -> None:
    refusal = Access(None, "0.0.0.0").check(scope("127.0.0.1"))
    assert refusal is not None
    assert refusal.status == 401
    assert "PYWATT_DASHBOARD_TOKEN" in refusal.message
    assert "0.0.0.0" in refusal.message


def test_a_token_from_header_query_or_cookie() -> None:
    access = Access("s e;cret", "0.0.0.0")
    assert access.check(scope("x", authorization="Bearer s e;cret")) is None
    cookie = access.cookie("s e;cret").split(";", 1)[0]
    assert access.check(scope("x", cookie=f"other=1; {cookie}")) is None
    with_query = {**scope("x"), "query_string": b"token=s+e%3Bcret"}
    assert access.check(with_query) is None
    for wrong in (scope("x"), scope("x", authorization="Bearer s e;cre")):
        refusal = access.check(wrong)
        assert refusal is not None
        assert refusal.status == 401
        assert "s e;cret" not in refusal.message


def handle(module_id: str, *paths: str) -> ModuleHandle:
    h = ModuleHandle(ModuleSpec.from_command(module_id, __file__))
    h.announce = AnnounceBlob(
        listen="127.0.0.1:1", endpoints=[EndpointAnnounce(path=p, methods=["GET"]) for p in paths]
    )
    return h


def test_latency_per_announced_route_slowest_first() -> None:
    handles = [handle("shop", "/items/{id}", "/static/*"), handle("auth", "/login")]
    latency = EndpointLatency(lambda: handles)
    for i in range(100):
        latency.record("shop", "GET", f"/items/{i}", 200, 0.001 * (i + 1))
    latency.record("shop", "GET", "/static/a/b.css", 500, 0.5)
    latency.record("shop", "POST", "/items/1", 405, 9.0)  # no such announced method
    latency.record("shop", "GET", "/gone", 404, 9.0)  # no such announced endpoint
    latency.record("auth", "HEAD", "/login", 200, 0.002)
    rows = latency.top()
    assert [(r["module"], r["method"], r["route"]) for r in rows] == [
        ("shop", "GET", "/static/*"), ("shop", "GET", "/items/{id}"), ("auth", "HEAD", "/login")
    ]  # fmt: skip
    items = rows[1]
    assert items["count"] == 100
    assert items["errors"] == 0
    assert items["p50_ms"] == pytest.approx(50.5, abs=0.6)
    assert items["p99_ms"] == pytest.approx(99, abs=1.1)
    assert items["max_ms"] == 100
    assert rows[0]["errors"] == 1
    assert len(latency.top(1)) == 1


def test_history_keeps_crashes_with_reasons_and_rotations_newest_first() -> None:
    history = History(keep=3)
    history.on_event(ModuleStateChanged("web", "running", "starting", 1))  # not a crash
    history.on_event(ModuleStateChanged("web", "crashed", "running", 1, "exited with code 3"))
    history.on_event(ModuleEvent("web", actors.Crashed("web.worker", 2, RemoteFailure("E: x"))))
    history.on_event(actors.Crashed("pywatt.module.web.process", 1, ModuleExited("web", 3)))
    history.on_event(actors.Crashed("pywatt.hub", 1, KeyError("k")))
    history.on_event(SecretsRotated(("API_KEY",), "r1", {"web": "ok"}))
    assert [(c["module"], c["what"], c["reason"]) for c in history.crashes] == [
        (None, "pywatt.hub", "KeyError: 'k'"),
        ("web", "web.worker", "E: x"),
        ("web", "process", "exited with code 3"),
    ]
    history.on_event(ModuleStateChanged("web", "gave_up", "restarting", 3, "too many"))
    assert len(history.crashes) == 3
    assert history.crashes[0]["state"] == "gave_up"
    assert [r["keys"] for r in history.rotations] == [["API_KEY"]]
    assert history.rotations[0]["outcome"] == {"web": "ok"}


def test_latency_follows_a_new_announcement() -> None:
    shop = handle("shop", "/items/{id}")
    latency = EndpointLatency(lambda: [shop])
    latency.record("shop", "GET", "/items/1", 200, 0.01)
    shop.announce = handle("shop", "/items/*").announce  # restarted, announced anew
    latency.record("shop", "GET", "/items/1", 200, 0.01)
    shop.announce = None  # not running: not counted
    latency.record("shop", "GET", "/items/1", 200, 0.01)
    assert sorted((r["route"], r["count"]) for r in latency.top()) == [
        ("/items/*", 1), ("/items/{id}", 1)
    ]  # fmt: skip
