"""AppState's channel methods, ``custom()`` and ``close()`` (the seed lists "channel health
monitoring and capabilities reporting" and "resource cleanup with close()"), run in a real
module tree against a test playing the orchestrator. With channels offered they run in
``test_seed_snippets.py``."""

from __future__ import annotations

from typing import Any

import trio

from pywatt import AppState
from pywatt.wire import AnnounceBlob, ChannelType
from tests.module.harness import running_module


async def test_channels_custom_state_and_close_on_a_module_without_channels() -> None:
    states: list[AppState[Any]] = []

    async def main(state: AppState[Any]) -> None:
        states.append(state)

    async with running_module(main, state_builder=lambda init, secrets: {"count": 1}) as peer:
        assert isinstance(await peer.read(), AnnounceBlob)
        (state,) = states
        assert state.custom() == {"count": 1}
        assert state.orchestrator_api == "http://127.0.0.1:9900"
        assert state.available_channels() == []
        assert not state.has_channel(ChannelType.TCP)
        assert state.channel_capabilities(ChannelType.IPC) is None
        assert await state.channel_health() == {}
        assert await state.channel_statistics() == []
        await state.close()  # the module stops as on the orchestrator's shutdown
        with trio.fail_after(10):
            await peer.done.wait()
    assert peer.exit_code == 0
