"""Forced disconnects in a row, on real sockets: the reconnect delay toward a local
orchestrator stops growing at its documented cap, and a connection that stayed healthy for
``reset_after`` starts the series again from the first delay."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
import trio
import trio.testing

from pywatt.channels import LOCAL_MAX_DELAY, ChannelConfig, ExponentialBackoff
from pywatt.wire import ChannelType

from .fake import FakeOrchestrator, fake_orchestrator, running_channels

DISCONNECTS = 9
"""As many as in the red-team finding, where the ninth reconnect took over 15 s."""
SLACK = 1.0
"""Scheduling and connect time on a loaded 2-core machine, on top of the delay itself."""


async def _reconnect_delays(orch: FakeOrchestrator, disconnects: int) -> list[float]:
    """Close each connection as soon as it is accepted; the seconds each reconnect took."""
    delays: list[float] = []
    peer = await orch.next_peer()
    for _ in range(disconnects):
        dropped = trio.current_time()
        await trio.aclose_forcefully(peer.stream)
        peer = await orch.next_peer()  # the reconnect event: the module is back
        delays.append(trio.current_time() - dropped)
        assert delays[-1] <= LOCAL_MAX_DELAY + SLACK, delays
    return delays


@pytest.mark.parametrize("kind", [ChannelType.TCP, ChannelType.IPC])
async def test_reconnects_to_a_local_orchestrator_stay_within_the_cap(
    kind: ChannelType, tmp_path: Path
) -> None:
    async with fake_orchestrator(kind, str(tmp_path)) as orch:
        config = ChannelConfig(kind=kind, address=orch.address)  # the default policy
        async with running_channels([config]):
            with trio.fail_after(60):  # generous: only a guard against a hang
                delays = await _reconnect_delays(orch, DISCONNECTS)
    assert delays[-1] >= LOCAL_MAX_DELAY * 0.9  # the series did grow to the cap


def test_a_connection_healthy_for_reset_after_starts_the_series_over() -> None:
    """Under MockClock, on in-memory streams: the delays grow while connections drop at once,
    and after one that stayed up ``reset_after`` the next delay is the first one again."""
    policy = ExponentialBackoff(initial_delay=0.1, reset_after=10.0)
    opened: list[float] = []
    ours: trio.MemorySendChannel[trio.abc.Stream]
    ours, accepted = trio.open_memory_channel[trio.abc.Stream](1)

    async def opener(config: ChannelConfig) -> trio.abc.Stream:
        opened.append(trio.current_time())
        module_end, orchestrator_end = trio.testing.memory_stream_pair()
        await ours.send(orchestrator_end)
        return module_end

    async def main() -> None:
        config = ChannelConfig(kind=ChannelType.TCP, address="127.0.0.1:9", policy=policy)
        async with running_channels([config], opener=opener):
            for _ in range(5):  # dropped at once: 0.1, 0.2, 0.4, 0.8, 1.6 s
                await (await accepted.receive()).aclose()
            healthy = await accepted.receive()
            await trio.sleep(policy.reset_after)  # virtual time: the connection stays up
            await healthy.aclose()
            await accepted.receive()

    trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))
    waits = [later - earlier for earlier, later in itertools.pairwise(opened)]
    assert waits[:5] == pytest.approx([0.1, 0.2, 0.4, 0.8, 1.6])
    assert waits[5] == pytest.approx(policy.reset_after + policy.initial_delay)
