"""Routes handled by the listener that read them, for the hub (``hub/_direct``): a route that
raises there crashes the hub, not the connection it came on, and routing resumes by itself
once the hub has restarted; while the hub has listener messages queued, routes wait their
turn behind them."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import trio

from pywatt.orchestrator import ModuleKind
from pywatt.orchestrator.hub._direct import DirectRoutes
from pywatt.orchestrator.hub._hub import Hub
from pywatt.wire import FrameDecoder, binary_route_frame

from .helpers import raw, running
from .test_routing_binary import _connect, _next, _request


async def test_a_route_that_raises_crashes_the_hub_not_the_connection(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    route = Hub._route

    def exploding(self: Hub, conn: Any, callee: str, endpoint: str, *rest: Any) -> None:
        if endpoint == "explode":  # a bug of the hub's, on this one request
            raise RuntimeError("the hub's routing raised")
        route(self, conn, callee, endpoint, *rest)

    monkeypatch.setattr(Hub, "_route", exploding)
    with trio.fail_after(30):
        async with running(
            raw("billing", kind=ModuleKind.FOREIGN), raw("ledger", kind=ModuleKind.FOREIGN)
        ) as run:
            orch = run.orch
            for module in ("billing", "ledger"):
                await orch.module(module).wait_announced()
            billing = await _connect(orch, "billing", pywatt=True)
            ledger = await _connect(orch, "ledger", pywatt=True)
            at_ledger = FrameDecoder()
            payload = _request(5_000)
            await billing.send_all(binary_route_frame("ledger", "explode", uuid.uuid4(), payload))
            # The next requests on the same connection are routed by the restarted hub.
            for _ in range(3):
                request_id = uuid.uuid4()
                await billing.send_all(binary_route_frame("ledger", "post", request_id, payload))
                frame = await _next(ledger, at_ledger)
                assert request_id.bytes in frame.payload
            (info,) = await orch.channels("billing")  # the same connection, still open
            assert info.frames_in >= 5
            crashes = [t.text for t in run.lines if "internal error in actor pywatt.hub" in t.text]
            assert crashes == ['internal error in actor pywatt.hub: RuntimeError("the hub\'s '
                               'routing raised")']  # fmt: skip
            await billing.aclose()
            await ledger.aclose()


def test_routes_wait_behind_what_listeners_told_the_hub() -> None:
    routed: list[object] = []
    direct = DirectRoutes()
    assert not direct.forward(None, "a")  # type: ignore[arg-type]  # no hub running
    direct.route = lambda conn, content: routed.append(content)
    direct.told_hub()  # say, an Opened still in the hub's mailbox
    assert not direct.forward(None, "b")  # type: ignore[arg-type]
    direct.hub_took()
    assert direct.forward(None, "c")  # type: ignore[arg-type]
    direct.failed()
    assert not direct.forward(None, "d")  # type: ignore[arg-type]
    assert routed == ["c"]
