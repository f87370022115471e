"""The backend board and its reporter: one log line per change (not per retry), entries
kept across an actor's restart, and the start-up check that waits for first attempts and
stops on a required backend that is not up."""

from __future__ import annotations

import logging

import pytest
import trio
import trio.testing

import actors
from pywatt.backends import (
    BackendReporter,
    BackendState,
    BackendUnreachable,
    backend_board,
    check_backends,
)


def _lines(caplog: pytest.LogCaptureFixture) -> list[tuple[str, str]]:
    return [(r.levelname, r.getMessage()) for r in caplog.records if r.name == "pywatt.backends"]


async def test_each_change_is_one_line_and_a_server_that_stays_away_is_said_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, "pywatt.backends")
    async with actors.open_actor_system() as system:
        reporter = BackendReporter(system, "cache", "redis at db:6379/0")
        assert reporter.state is BackendState.CONNECTING
        reporter.down("Connection refused")
        reporter.down("Connection refused")  # retried, still away: nothing new
        reporter.down("Connection timed out")  # a new reason: debug only
        reporter.up()
        reporter.up()
        reporter.down("EOF")
        reporter.down("Connection refused")
        reporter.up()
        status = backend_board(system).get("cache")
    assert status is not None
    assert status.state is BackendState.UP
    said = [(level, text) for level, text in _lines(caplog) if level != "DEBUG"]
    assert said[0] == (
        "WARNING",
        "cache: cannot reach redis at db:6379/0: Connection refused; will keep retrying",
    )
    assert said[1][0] == "INFO"
    assert said[1][1].startswith("cache: reconnected to redis at db:6379/0 after ")
    assert said[2] == ("WARNING", "cache: lost redis at db:6379/0: EOF; will keep retrying")
    assert said[3][1].startswith("cache: reconnected to redis at db:6379/0 after ")
    assert len(said) == 4


async def test_first_lines_of_a_local_backend_and_a_refusing_server(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, "pywatt.backends")
    async with actors.open_actor_system() as system:
        BackendReporter(system, "cache", "memory (LRU)", verb="using").up()
        refused = BackendReporter(system, "pywatt.db", "postgresql at db:5432/app")
        refused.down('password authentication failed for user "app"', heals=False)
        status = refused.status
    assert _lines(caplog) == [
        ("INFO", "cache: using memory (LRU)"),
        (
            "WARNING",
            "pywatt.db: cannot use postgresql at db:5432/app: password authentication failed "
            'for user "app"; will keep retrying',
        ),
    ]
    assert not status.heals
    assert status.as_json() == {
        "state": "down",
        "target": "postgresql at db:5432/app",
        "reason": "cannot use postgresql at db:5432/app: password authentication failed for "
        'user "app"',
    }


async def test_a_new_incarnation_keeps_what_the_last_one_said(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, "pywatt.backends")
    async with actors.open_actor_system() as system:
        first = BackendReporter(system, "cache", "redis at db:6379/0")
        first.down("Connection refused")
        since = first.status.since
        again = BackendReporter(system, "cache", "redis at db:6379/0")  # after a restart
        assert again.state is BackendState.DOWN
        assert again.status.since == since
        again.down("Connection refused")
    assert len(_lines(caplog)) == 1  # the restart said nothing new


async def test_a_required_backend_that_fails_says_nothing_itself_and_stops_the_start(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, "pywatt.backends")
    async with actors.open_actor_system() as system:
        reporter = BackendReporter(
            system, "pywatt.db", "postgresql at db:5432/app", required=True, settle_within=1.0
        )
        BackendReporter(system, "cache", "redis at db:6379/0").up()
        reporter.down("Connection refused")
        with pytest.raises(BackendUnreachable) as caught:
            await check_backends(system)
    assert str(caught.value) == (
        "required backend unavailable: pywatt.db: cannot reach postgresql at db:5432/app: "
        "Connection refused"
    )
    assert caught.value.heals
    assert _lines(caplog) == [("INFO", "cache: connected to redis at db:6379/0")]


async def test_a_refused_required_backend_does_not_heal() -> None:
    async with actors.open_actor_system() as system:
        reporter = BackendReporter(system, "cache", "redis at db:6379/0", required=True)
        reporter.down("WRONGPASS invalid username-password pair", heals=False)
        with pytest.raises(BackendUnreachable) as caught:
            await check_backends(system)
    assert not caught.value.heals


async def test_the_start_waits_for_first_attempts_but_not_long_for_optional_ones(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with actors.open_actor_system() as system, trio.open_nursery() as nursery:
        slow = BackendReporter(system, "cache", "redis at db:6379/0")
        quick = BackendReporter(system, "pywatt.db", "sqlite at app.db", required=True)

        async def settle() -> None:
            await trio.sleep(0.5)
            quick.up()

        nursery.start_soon(settle)
        began = trio.current_time()
        await check_backends(system, wait=3.0)  # the optional one never answers
        assert trio.current_time() - began == pytest.approx(3.0)
        assert slow.state is BackendState.CONNECTING
        assert quick.state is BackendState.UP


async def test_a_required_backend_that_never_answers_fails_after_its_own_bound(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with actors.open_actor_system() as system:
        BackendReporter(system, "cache", "redis at db:6379/0", required=True, settle_within=8.0)
        began = trio.current_time()
        with pytest.raises(BackendUnreachable, match="no answer within 9 s"):
            await check_backends(system, wait=1.0)
        assert trio.current_time() - began == pytest.approx(9.0)
