"""Work deferred to the end of the scheduler's pass: one write per connection per pass.

Trio runs the tasks that are runnable in passes; after each pass, before it waits for I/O,
it calls the ``before_io_wait`` hook of its instruments. A connection that queues a frame
while its writer task is idle asks for a flush there (:func:`at_pass_end`) instead of
writing at once or waking its writer: every frame queued on that connection in the same
pass (a burst of replies read in one ``recv``, each answered by its own task; a batch of
frames routed by the orchestrator) then goes out in one system call, in the run loop's own
step, with no task woken. A lone frame goes out as soon as the pass that queued it is over,
which is as soon as a woken writer task could have written it, without the task switch.

A flush returns whether it woke a task (its writer, to take what a full socket did not
accept): the run loop decided how long to wait for I/O before this hook ran, so a woken
task also wakes the loop (``TrioToken.run_sync_soon``), or it would wait with work to do.
A flush that raises is logged and dropped; the others still run.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Final

import trio

__all__ = ["PassEnd", "at_pass_end"]

log = logging.getLogger("pywatt.channels")

Flush = Callable[[], bool]
"""Writes what it can now; True when it woke a task."""


class PassEnd(trio.abc.Instrument):
    """The instrument that runs the flushes asked for in a pass (one per trio run)."""

    __slots__ = ("_due", "_token")

    def __init__(self, token: trio.lowlevel.TrioToken) -> None:
        self._due: list[Flush] = []
        self._token = token

    def defer(self, flush: Flush) -> None:
        """Run ``flush`` once the current pass is over. Does not block."""
        self._due.append(flush)

    def before_io_wait(self, timeout: float) -> None:
        due = self._due
        if not due:
            return
        self._due = []
        woke = False
        for flush in due:
            try:
                woke = flush() or woke
            except Exception:  # one connection's bug must not stop the others' writes
                log.exception("a connection's end-of-pass write failed")
        if woke and timeout > 0:
            self._token.run_sync_soon(_nothing)


def _nothing() -> None:
    """Run by the loop's wake-up: the task a flush woke then runs without a wait."""


_PASS_END: Final = trio.lowlevel.RunVar[PassEnd]("pywatt.channels.pass_end")


def at_pass_end(flush: Flush) -> None:
    """Run ``flush`` once every task runnable in the current pass has run (see the module
    docstring). Call from within a trio run; the instrument is added on first use."""
    try:
        instrument = _PASS_END.get()
    except LookupError:
        instrument = PassEnd(trio.lowlevel.current_trio_token())
        trio.lowlevel.add_instrument(instrument)
        _PASS_END.set(instrument)
    instrument.defer(flush)
