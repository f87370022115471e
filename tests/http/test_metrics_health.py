"""/health follows the supervision tree; /metrics counts what the runtime observed."""

from __future__ import annotations

import attrs
import trio

import actors
from actors.testing import Crash, Crasher, Ping
from pywatt.http import HealthTracker
from pywatt.metrics import SystemMetrics

from .prom import families, samples, value


@attrs.frozen
class Work(actors.Request[int]):
    n: int


class Worker(actors.Actor[Work]):
    async def receive(self, message: Work) -> int:
        await trio.sleep(0.002)
        return message.n


async def test_the_handling_observer_sees_every_handled_message_and_can_be_removed() -> None:
    seen: list[tuple[str, float]] = []
    async with actors.open_actor_system() as system:
        ref = await system.spawn(Worker, name="worker")
        system.observe_handling(lambda name, seconds: seen.append((name, seconds)))
        for n in range(3):
            assert await ref.ask(Work(n)) == n
        assert [name for name, _ in seen] == ["worker"] * 3
        assert all(seconds >= 0.002 for _, seconds in seen)
        system.observe_handling(None)
        await ref.ask(Work(9))
        assert len(seen) == 3


async def test_metrics_show_mailboxes_latency_restarts_and_dead_letters() -> None:
    async with actors.open_actor_system() as system:
        metrics = SystemMetrics.of(system)
        assert SystemMetrics.of(system) is metrics  # one per system
        metrics.observe()
        worker = await system.spawn(Worker, name="worker")
        crasher = await system.spawn(Crasher, name="crasher")
        await worker.ask(Work(1))
        await crasher.tell(Crash())
        with trio.fail_after(5):
            while metrics.actors.restarts["crasher"] < 1:  # noqa: ASYNC110 (another actor's)
                await trio.sleep(0.001)
            await crasher.ask(Ping())
        system.tell_nowait("nobody", Work(2))
        metrics.http.observe(
            transport="ipc", method="GET", route="/items/{id}", status=200, seconds=0.003
        )
        page = (await metrics.render()).decode()
    assert value(page, "pywatt_actor_up", actor="worker") == 1
    assert value(page, "pywatt_actor_mailbox_depth", actor="worker") == 0
    assert value(page, "pywatt_actor_handling_seconds_count", kind="Worker") == 1
    assert value(page, "pywatt_actor_handling_seconds_bucket", kind="Worker", le="+Inf") == 1
    assert value(page, "pywatt_actors", kind="Worker") == 1
    assert value(page, "pywatt_actor_mailbox_capacity", kind="Worker") is not None
    assert value(page, "pywatt_actor_restarts_total", actor="crasher") == 1
    assert value(page, "pywatt_actor_crashes_total", actor="crasher") == 1
    assert value(page, "pywatt_dead_letters_total", reason="no such actor") == 1
    assert value(page, "pywatt_dead_letters_total", reason="crashed") == 1
    http = {"transport": "ipc", "method": "GET", "route": "/items/{id}", "status": "2xx"}
    assert value(page, "pywatt_http_requests_total", **http) == 1
    assert value(page, "pywatt_http_request_seconds_count", transport="ipc",
                 route="/items/{id}") == 1  # fmt: skip
    assert families(page)["pywatt_actor_handling_seconds"] == "histogram"


async def test_actors_of_one_kind_share_one_histogram_and_gone_actors_leave_the_page() -> None:
    async with actors.open_actor_system() as system:
        metrics = SystemMetrics.of(system)
        metrics.observe()
        for n in range(20):
            ref = await system.spawn(Worker, name=f"worker-{n}")
            await ref.ask(Work(n))
        page = (await metrics.render()).decode()
        assert value(page, "pywatt_actors", kind="Worker") == 20
        assert value(page, "pywatt_actor_handling_seconds_count", kind="Worker") == 20
        handling = [
            labels
            for (name, labels) in samples(page)
            if name == "pywatt_actor_handling_seconds_count"
        ]
        assert [dict(labels) for labels in handling] == [{"kind": "Worker"}]
        for n in range(20):  # every actor keeps its cheap per-actor series
            assert value(page, "pywatt_actor_messages_processed_total", actor=f"worker-{n}") == 1
            assert value(page, "pywatt_actor_up", actor=f"worker-{n}") == 1
        await system.stop("worker-3")
        with trio.fail_after(5):
            while system.lookup("worker-3") is not None:  # noqa: ASYNC110 (the runtime's)
                await trio.sleep(0.001)
        page = (await metrics.render()).decode()
        assert value(page, "pywatt_actor_up", actor="worker-3") is None
        assert value(page, "pywatt_actors", kind="Worker") == 19
        assert value(page, "pywatt_actor_handling_seconds_count", kind="Worker") == 20


async def test_users_register_their_own_metrics_on_the_same_registry() -> None:
    from prometheus_client import Counter

    async with actors.open_actor_system() as system:
        metrics = SystemMetrics.of(system)
        orders = Counter("shop_orders", "Orders taken.", registry=metrics.registry)
        orders.inc(3)
        page = (await metrics.render()).decode()
    assert value(page, "shop_orders_total") == 3
    assert any(name == "pywatt_uptime_seconds" for name, _ in samples(page))


async def test_a_watched_actor_that_does_not_answer_is_left_out_not_waited_for() -> None:
    @attrs.frozen
    class Figures(actors.Request[int]):
        pass

    class Slow(actors.Actor[Figures]):
        async def receive(self, message: Figures) -> int:
            await trio.sleep_forever()
            raise AssertionError

    from prometheus_client.core import GaugeMetricFamily

    def to_families(snapshots: dict[str, int]) -> list[GaugeMetricFamily]:
        family = GaugeMetricFamily("slow_figure", "A figure.", labels=["actor"])
        for name, figure in snapshots.items():
            family.add_metric([name], figure)
        return [family]

    async with actors.open_actor_system() as system:
        await system.spawn(Slow, name="slow")
        metrics = SystemMetrics.of(system)
        metrics.watch("slow", Figures, to_families, name="slow")
        with trio.fail_after(5):
            page = (await metrics.render()).decode()
    assert value(page, "pywatt_metrics_slow_answered", actor="slow") == 0
    assert not any(name == "slow_figure" for name, _ in samples(page))


async def test_health_is_degraded_while_restarting_and_unhealthy_when_stuck(
    autojump_clock: trio.testing.MockClock,
) -> None:
    spec = actors.SupervisorSpec(
        "services",
        [actors.ChildSpec("crasher", Crasher)],
        max_restarts=None,
        backoff=actors.Backoff(first=60.0, base=60.0, cap=60.0, jitter=0.0),
    )
    async with actors.open_actor_system() as system:
        await system.start_supervisor(spec)
        health = HealthTracker(system, stuck_after=30.0)
        assert health.report("m") == (200, {
            "status": "healthy", "module_id": "m", "actors": 1, "supervisors": 2,
            "restarting": [], "stuck": [],
        })  # fmt: skip
        await system.tell("crasher", Crash())
        await trio.sleep(1)
        code, body = health.report("m")
        assert (code, body["status"], body["restarting"]) == (200, "degraded", ["crasher"])
        await trio.sleep(35)
        code, body = health.report("m")
        assert (code, body["status"], body["stuck"]) == (503, "unhealthy", ["crasher"])
        await trio.sleep(30)  # the restart happens after its 60 s backoff
        code, body = health.report("m")
        assert (code, body["status"]) == (200, "healthy")
