"""The link's dispatch table: what stdin carries for other actors goes by one
:class:`actors.Subscriptions` (the kind the channels read), wrapped in the message each actor
takes; what nobody subscribed to is dropped with a log line and the link serves on; the table
is kept with the link's name, so a crashed link goes on dispatching the same way."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import attrs
import pytest
import trio
import trio.testing

import actors
from actors.testing import crash
from pywatt.link import HttpOverStdio, LinkShutdown, StdioLink, link_subscriptions
from pywatt.secrets import RotationNotice, SecretPushed
from pywatt.wire import (
    IpcHttpRequest,
    LineDecoder,
    RotatedNotification,
    SecretValueResponse,
    Shutdown,
)

from .harness import Peer

LINK = "pywatt.link"


class Recorder(actors.Actor[Any]):
    """Stands in for a subscriber (lifecycle, secrets, HTTP): hands on what it is told."""

    def __init__(self, into: trio.MemorySendChannel[object]) -> None:
        self.into = into

    async def receive(self, message: Any) -> None:
        await self.into.send(message)


@attrs.define
class Rig:
    system: actors.ActorSystem
    peer: Peer
    table: actors.Subscriptions
    told: trio.MemoryReceiveChannel[object]


@asynccontextmanager
async def rig(table: actors.Subscriptions, *subscribers: str) -> AsyncIterator[Rig]:
    stdin_send, stdin_receive = trio.testing.memory_stream_one_way_pair()
    stdout_send, stdout_receive = trio.testing.memory_stream_one_way_pair()
    decoder = LineDecoder(first_line_max=None)
    send, receive = trio.open_memory_channel[object](100)
    async with actors.open_actor_system() as system:
        for name in subscribers:
            await system.spawn(lambda: Recorder(send), name=name)
        await system.spawn(
            lambda: StdioLink(
                stdin=stdin_receive,
                stdout=stdout_send,
                decoder=decoder,
                module_id="m",
                subscriptions=table,
            ),
            name=LINK,
        )
        yield Rig(system, Peer(stdin_send, stdout_receive), table, receive)


def http_request(request_id: str) -> IpcHttpRequest:
    return IpcHttpRequest(request_id=request_id, method="GET", uri="/", headers={})


async def test_each_forwarded_line_reaches_its_subscriber_in_the_message_it_takes() -> None:
    table = actors.Subscriptions(
        link_subscriptions(lifecycle="t.lifecycle", secrets="t.secrets", http="t.http")
    )
    async with rig(table, "t.lifecycle", "t.secrets", "t.http") as r:
        await r.peer.send(RotatedNotification(keys=["A", "B"], rotation_id="r1"))
        assert await r.told.receive() == RotationNotice(("A", "B"), "r1")
        await r.peer.send(SecretValueResponse(name="A", value="new", rotation_id="r1"))
        assert await r.told.receive() == SecretPushed("A", "new", "r1")
        await r.peer.send(http_request("h1"))
        assert await r.told.receive() == HttpOverStdio(http_request("h1"))
        await r.peer.send(Shutdown())
        shutdown = await r.told.receive()
        assert isinstance(shutdown, LinkShutdown)
        assert "asked the module to shut down" in shutdown.reason


async def test_a_line_nobody_subscribed_to_is_dropped_and_the_next_one_arrives(
    caplog: pytest.LogCaptureFixture,
) -> None:
    table = actors.Subscriptions({IpcHttpRequest: "t.http"})  # no secrets actor here
    async with rig(table, "t.http") as r:
        await r.peer.send(RotatedNotification(keys=["A"], rotation_id="r1"))
        await r.peer.send(http_request("h1"))
        assert await r.told.receive() == HttpOverStdio(http_request("h1"))
        assert "ignored rotated on stdin: not handled by this module" in caplog.text


async def test_the_table_is_kept_across_a_crash_of_the_link() -> None:
    table = actors.Subscriptions({IpcHttpRequest: "t.http"})
    async with rig(table, "t.http", "t.secrets") as r:
        await r.peer.send(http_request("before"))
        assert await r.told.receive() == HttpOverStdio(http_request("before"))
        table.add([RotatedNotification], "t.secrets")  # told to the link's table, by name
        await crash(r.system, LINK)
        await r.system.wait_for(LINK)
        await r.peer.send(http_request("after"))
        await r.peer.send(RotatedNotification(keys=["K"], rotation_id="r2"))
        # two subscribers, each handling in its own time: the order between them is free
        told = [await r.told.receive(), await r.told.receive()]
        assert HttpOverStdio(http_request("after")) in told
        assert RotationNotice(("K",), "r2") in told


async def test_an_http_request_whose_subscriber_is_not_running_gets_a_503() -> None:
    table = actors.Subscriptions({IpcHttpRequest: "t.http"})  # nobody serves t.http
    async with rig(table) as r:
        await r.peer.send(http_request("h1"))
        wrapper = await r.peer.read_raw()
        assert b'"status_code":503' in wrapper
        assert b'"request_id":"h1"' in wrapper
