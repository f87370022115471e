"""Reconnect policies as supervision, under MockClock: the delays between attempts and the
number of attempts before giving up are the policy's, whatever its parameters."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
import trio
import trio.testing
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pywatt.channels import (
    LOCAL_MAX_DELAY,
    ChannelConfig,
    ChannelConfigError,
    ConnectionStatus,
    ExponentialBackoff,
    FixedInterval,
    NoReconnect,
    policy_from_dict,
)
from pywatt.wire import ChannelType

from .fake import running_channels

PATIENCE = 40  # attempts watched for an unlimited policy


def _attempts(policy: Any, watch: int) -> tuple[list[float], bool, list[BaseException]]:
    """Run one failing channel under MockClock; the times of its connection attempts."""
    times: list[float] = []
    fatal: list[BaseException] = []

    async def opener(config: ChannelConfig) -> trio.abc.Stream:
        times.append(trio.current_time())
        raise OSError("connection refused (test)")

    async def main() -> bool:
        config = ChannelConfig(
            kind=ChannelType.TCP, address="127.0.0.1:9", policy=policy, required=True,
            connect_timeout=1.0,
        )  # fmt: skip
        async with running_channels([config], opener=opener, on_fatal=fatal.append) as (
            _,
            directory,
        ):
            (state,) = directory.states.values()
            # Until it gave up and the failure was reported (a message after the directory
            # changed), or ``watch`` attempts were made.
            while len(times) < watch and not fatal:
                await directory.wait_changed()
            return state.status is ConnectionStatus.FAILED

    gave_up = trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))
    return times, gave_up, fatal


delays = st.floats(min_value=0.01, max_value=5.0)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(delay=delays, attempts=st.integers(min_value=1, max_value=8))
def test_fixed_interval_waits_its_delay_and_makes_exactly_its_attempts(
    delay: float, attempts: int
) -> None:
    times, gave_up, fatal = _attempts(FixedInterval(delay_s=delay, max_attempts=attempts), 50)
    assert len(times) == attempts
    assert gave_up
    assert len(fatal) == 1
    assert f"after {attempts} failed attempt(s)" in str(fatal[0])
    for earlier, later in itertools.pairwise(times):
        assert later - earlier == pytest.approx(delay, abs=1e-6)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    initial=st.floats(min_value=0.01, max_value=1.0),
    multiplier=st.floats(min_value=1.0, max_value=4.0),
    cap=st.floats(min_value=0.01, max_value=10.0),
    jitter=st.floats(min_value=0.0, max_value=0.5),
    attempts=st.one_of(st.none(), st.integers(min_value=1, max_value=10)),
)
def test_exponential_backoff_grows_caps_jitters_and_gives_up_only_when_limited(
    initial: float, multiplier: float, cap: float, jitter: float, attempts: int | None
) -> None:
    policy = ExponentialBackoff(
        initial_delay=initial, max_delay=cap, multiplier=multiplier, jitter=jitter,
        max_attempts=attempts,
    )  # fmt: skip
    watch = PATIENCE if attempts is None else 50
    times, gave_up, fatal = _attempts(policy, watch)
    if attempts is None:
        assert not gave_up
        assert fatal == []
        assert len(times) >= PATIENCE
    else:
        assert gave_up
        assert len(times) == attempts
        assert len(fatal) == 1
    for n, (earlier, later) in enumerate(itertools.pairwise(times)):
        nominal = min(cap, initial * multiplier**n)
        low, high = nominal * (1 - jitter), min(cap, nominal * (1 + jitter))
        assert low - 1e-6 <= later - earlier <= high + 1e-6


def test_no_reconnect_makes_one_attempt() -> None:
    times, gave_up, fatal = _attempts(NoReconnect(), 10)
    assert len(times) == 1
    assert gave_up
    assert len(fatal) == 1


def test_the_rust_default_is_100ms_doubling_to_30s_unlimited_toward_a_remote_orchestrator() -> None:
    policy = policy_from_dict(None)
    assert isinstance(policy, ExponentialBackoff)
    expected = [0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 6.4, 12.8, 25.6, 30.0, 30.0]
    assert [policy.delay(n) for n in range(11)] == pytest.approx(expected)
    assert policy.supervision(30.0).max_restarts is None


@pytest.mark.parametrize(
    ("kind", "address", "local"),
    [
        (ChannelType.IPC, "/run/pywatt/orch.sock", True),
        (ChannelType.TCP, "127.0.0.1:9000", True),
        (ChannelType.TCP, "127.8.9.10:9000", True),
        (ChannelType.TCP, "localhost:9000", True),
        (ChannelType.TCP, "[::1]:9000", True),
        (ChannelType.TCP, "192.0.2.7:9000", False),
        (ChannelType.TCP, "orchestrator.example:9000", False),
    ],
)
def test_the_default_cap_is_short_toward_a_local_orchestrator(
    kind: ChannelType, address: str, local: bool
) -> None:
    cap = LOCAL_MAX_DELAY if local else 30.0
    from_config = ChannelConfig(kind=kind, address=address).policy
    from_dicts = [policy_from_dict(data, local=local) for data in (None, {"type": "exponential"})]
    for policy in (from_config, *from_dicts):
        assert isinstance(policy, ExponentialBackoff)
        assert policy.max_delay == cap
        assert policy.delay(40) == pytest.approx(cap)
    explicit = policy_from_dict({"type": "exponential", "max_delay": 7}, local=local)
    assert isinstance(explicit, ExponentialBackoff)
    assert explicit.max_delay == 7


def test_policy_dicts_are_checked() -> None:
    assert policy_from_dict({"type": "fixed", "delay": 2, "max_attempts": 3}) == FixedInterval(
        delay_s=2, max_attempts=3
    )
    with pytest.raises(ChannelConfigError, match="is not one of exponential, fixed, none"):
        policy_from_dict({"type": "sometimes"})
    with pytest.raises(ChannelConfigError, match="max_attempts must be a positive integer"):
        policy_from_dict({"type": "exponential", "max_attempts": 0})
    with pytest.raises(ChannelConfigError, match="reconnect policy for fixed: unknown key"):
        policy_from_dict({"type": "fixed", "delay_seconds": 1})
