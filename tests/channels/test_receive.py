"""The connections' socket reads (``SocketReader``): what ``SocketStream.receive_some``
gives and raises, on real socket pairs."""

from __future__ import annotations

import struct

import pytest
import trio
import trio.testing

from pywatt.channels import SocketReader


def _pair() -> tuple[trio.SocketStream, trio.SocketStream]:
    a, b = trio.socket.socketpair()
    return trio.SocketStream(a), trio.SocketStream(b)


async def test_reads_what_was_sent_then_waits_then_the_end() -> None:
    ours, theirs = _pair()
    reader = SocketReader(ours)
    await theirs.send_all(b"hello")
    assert await reader.receive_some(1024) == b"hello"
    got: list[bytes] = []
    async with trio.open_nursery() as nursery:

        async def read() -> None:
            got.append(await reader.receive_some(1024))

        nursery.start_soon(read)
        await trio.testing.wait_all_tasks_blocked()
        assert got == []  # drained: it waits for the socket
        await theirs.send_all(b"again")
    assert got == [b"again"]
    await theirs.send_all(b"abcdef")
    assert await reader.receive_some(4) == b"abcd"  # a full buffer: the rest is read next
    assert await reader.receive_some(4) == b"ef"
    await theirs.aclose()
    assert await reader.receive_some(1024) == b""


async def test_a_socket_closed_here_and_a_cancelled_wait() -> None:
    ours, theirs = _pair()
    reader = SocketReader(ours)
    with trio.move_on_after(0.01) as scope:
        await reader.receive_some(1024)  # nothing comes: the wait is cancellable
    assert scope.cancelled_caught
    async with trio.open_nursery() as nursery:

        async def read() -> None:
            with pytest.raises(trio.ClosedResourceError):
                await reader.receive_some(1024)

        nursery.start_soon(read)
        await trio.testing.wait_all_tasks_blocked()
        await ours.aclose()  # closed under a waiting read
    with pytest.raises(trio.ClosedResourceError):
        await reader.receive_some(1024)
    await theirs.aclose()


async def test_a_reset_connection_is_a_broken_resource() -> None:
    listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
    port = listeners[0].socket.getsockname()[1]
    ours = await trio.open_tcp_stream("127.0.0.1", port)
    theirs = await listeners[0].accept()
    reader = SocketReader(ours)
    linger_zero = struct.pack("ii", 1, 0)  # close with a reset, not a clean end
    theirs.socket.setsockopt(trio.socket.SOL_SOCKET, trio.socket.SO_LINGER, linger_zero)
    await theirs.aclose()
    with pytest.raises(trio.BrokenResourceError) as caught:
        await reader.receive_some(1024)
    assert isinstance(caught.value.__cause__, ConnectionResetError)
    await ours.aclose()
    await listeners[0].aclose()


async def test_a_stream_that_is_no_socket_is_read_its_own_way() -> None:
    ours, theirs = trio.testing.memory_stream_pair()
    reader = SocketReader(ours)
    await theirs.send_all(b"x")
    assert await reader.receive_some(10) == b"x"
