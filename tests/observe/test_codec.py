"""Events and trees as JSON, and the observability ops' exact bytes (protocol-extensions §10)."""

from __future__ import annotations

import json
import uuid

import attrs
import pytest

import actors
import pywatt.wire as w
from pywatt.observe import (
    EVENT_KINDS,
    ChannelChanged,
    EventsDropped,
    ModuleEvent,
    ModuleStateChanged,
    RemoteFailure,
    SecretsRotated,
    UnknownEvent,
    describe_event,
    event_from_json,
    event_to_json,
    tree_from_json,
)
from pywatt.orchestrator.processes import event_line, publish_module_events

REQUEST_ID = uuid.UUID("a1a2a3a4-b1b2-c1c2-d1d2-d3d4d5d6d7d8")

EVENTS: list[actors.Event] = [
    actors.Started("a", 1),
    actors.Stopped("a", 1),
    actors.Crashed("a", 2, ValueError("bad amount")),
    actors.Restarted("a", 3, 0.25),
    actors.GaveUp("sup", actors.RestartIntensityExceeded("sup", 3, 5.0)),
    SecretsRotated(("API_KEY",), "rot-1", {"m": "success"}),
    ChannelChanged("tcp.0", "lost", "ConnectionResetError: reset"),
    ModuleStateChanged("billing", "crashed", "running", 2, "exited with code 1"),
    EventsDropped(7),
]


@pytest.mark.parametrize("event", EVENTS, ids=lambda e: type(e).__name__)
def test_every_kind_round_trips_through_json(event: actors.Event) -> None:
    data = json.loads(json.dumps(event_to_json(event)))
    assert data["kind"] in EVENT_KINDS
    assert data["at"] == event.at
    back = event_from_json(data)
    assert type(back) is type(event)
    assert back.at == event.at
    for field in attrs.fields(type(event)):
        value, copy = getattr(event, field.name), getattr(back, field.name)
        if isinstance(value, BaseException):
            assert isinstance(copy, RemoteFailure)
            assert str(copy) == f"{type(value).__name__}: {value}"
        else:
            assert copy == value
    assert describe_event(back)


def test_bad_and_unknown_events_are_refused_by_name() -> None:
    with pytest.raises(UnknownEvent, match="unknown event kind 'exploded'"):
        event_from_json({"kind": "exploded"})
    with pytest.raises(UnknownEvent, match="a 'started' event with bad fields"):
        event_from_json({"kind": "started", "name": "a"})
    with pytest.raises(UnknownEvent, match="JSON object"):
        event_from_json(["started"])

    @attrs.frozen
    class Mine(actors.Event):
        n: int

    with pytest.raises(UnknownEvent, match="has no event kind"):
        event_to_json(Mine(1))
    assert event_line(Mine(1)) is None


def test_an_events_line_is_published_event_by_event_skipping_what_it_cannot_read() -> None:
    bus = actors.Events()
    seen: list[actors.Event] = []
    bus.subscribe(seen.append)
    line = w.ModuleEvents(
        events=[event_to_json(actors.Started("w", 1)), {"kind": "from_the_future"}], dropped=3
    )
    publish_module_events(bus, "alpha", line)
    assert seen == [
        ModuleEvent("alpha", EventsDropped(3)),
        ModuleEvent("alpha", actors.Started("w", 1)),
    ]
    data = event_line(seen[1])
    assert data is not None
    assert (data["source"], data["kind"], data["name"]) == ("alpha", "started", "w")


def test_tree_request_and_reply_are_the_documented_bytes() -> None:
    request = w.TreeRequest(request_id=REQUEST_ID)
    assert w.encode_json(request) == (
        b'{"op":"tree_request","request_id":"a1a2a3a4-b1b2-c1c2-d1d2-d3d4d5d6d7d8"}'
    )
    assert w.decode_json(w.encode_json(request), w.OrchestratorToModule) == request
    tree = actors.TreeNode(
        "system",
        actors.NodeKind.SUPERVISOR,
        actors.NodeState.RUNNING,
        incarnation=1,
        restarts=0,
        restart=actors.Restart.PERMANENT,
        strategy=actors.Strategy.ONE_FOR_ONE,
    )
    from pywatt.observe import tree_to_json

    reply = w.ModuleTree(request_id=REQUEST_ID, tree=tree_to_json(tree))
    assert w.encode_json(reply) == (
        b'{"op":"tree","request_id":"a1a2a3a4-b1b2-c1c2-d1d2-d3d4d5d6d7d8","tree":{"children":[],'
        b'"incarnation":1,"kind":"supervisor","mailbox":null,"name":"system",'
        b'"restart":"permanent","restarts":0,"state":"running","strategy":"one_for_one"}}'
    )
    decoded = w.decode_json(w.encode_json(reply), w.ModuleToOrchestrator)
    assert isinstance(decoded, w.ModuleTree)
    assert tree_from_json(decoded.tree) == tree
    with pytest.raises(ValueError, match="not a supervision tree"):
        tree_from_json({"name": "x"})


def test_events_line_is_the_documented_shape() -> None:
    crashed = actors.Crashed("ledger", 1, ValueError("bad amount"), at=1796421731.482)
    line = w.ModuleEvents(events=[event_to_json(crashed)], dropped=0)
    assert w.encode_json(line) == (
        b'{"op":"events","events":[{"at":1796421731.482,"error":"ValueError: bad amount",'
        b'"incarnation":1,"kind":"crashed","name":"ledger"}],"dropped":0}'
    )
