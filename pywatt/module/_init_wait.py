"""Waiting for the InitBlob: is an orchestrator on stdin, and how long may it take?

A module file can be started two ways: by an orchestrator, which writes the InitBlob as the
first stdin line at once, or by a person (``python greeter.py``), in which case the module
starts the embedded orchestrator for itself. Telling the two apart must never start a second
orchestrator under a real one, because that orchestrator would print onto stdout, which is
the first one's protocol stream. So:

* **Any byte on stdin means an orchestrator is there.** From then on the module waits for the
  rest of the line until the deadline and, if it does not come, fails with one line (exit
  status 1). A partial blob is never taken for silence.
* Silence (no byte within :data:`INIT_WAIT`), or EOF before any byte, means nobody is there:
  the module runs standalone.
* With ``PYWATT_EMBEDDED=1`` in the environment the embedded orchestrator started this
  process, so there is no standalone fallback: silence is an error too, at the deadline.

The deadline is :data:`INIT_DEADLINE` seconds from the start of the wait, or
``PYWATT_INIT_TIMEOUT`` from the environment (for an orchestrator on a very slow machine).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Final

import trio

from pywatt.link import InitBlobError, read_init_blob
from pywatt.wire import InitBlob, LineDecoder

__all__ = ["INIT_DEADLINE", "INIT_WAIT", "init_deadline", "wait_init_blob"]

INIT_WAIT: Final = 3.0
"""Seconds of silence on a non-terminal stdin after which a module runs standalone."""

INIT_DEADLINE: Final = 10.0
"""Seconds within which a module under an orchestrator must have read its whole InitBlob."""

DEADLINE_VARIABLE: Final = "PYWATT_INIT_TIMEOUT"


def init_deadline(environ: Mapping[str, str]) -> float:
    """The InitBlob deadline in seconds: ``PYWATT_INIT_TIMEOUT`` if set, else 10.

    Raises :class:`InitBlobError` if the variable is not a positive number.
    """
    text = environ.get(DEADLINE_VARIABLE)
    if text is None:
        return INIT_DEADLINE
    try:
        seconds = float(text)
    except ValueError:
        seconds = math.nan
    if not seconds > 0 or math.isinf(seconds):
        raise InitBlobError(
            f"{DEADLINE_VARIABLE} must be a positive number of seconds, not {text!r}"
        )
    return seconds


async def wait_init_blob(
    stdin: trio.abc.ReceiveStream, *, embedded: bool, deadline: float
) -> tuple[InitBlob | None, LineDecoder]:
    """Read the InitBlob from ``stdin``, blocking at most ``deadline`` seconds.

    Returns ``(None, decoder)`` when nobody is there (not ``embedded``, and no byte arrived
    within :data:`INIT_WAIT` or before EOF); else the blob and the decoder holding any bytes
    read past it. Raises :class:`InitBlobError` with a one-line message when the blob is
    partial, invalid or late, or (``embedded``) missing.
    """
    decoder = LineDecoder()
    start = trio.current_time()
    with trio.move_on_after(deadline if embedded else min(INIT_WAIT, deadline)) as scope:
        first = await stdin.receive_some(65536)
        if first:  # an orchestrator is there: give it until the deadline for the rest
            scope.deadline = start + deadline
            decoder.feed(first)
            return await read_init_blob(stdin, decoder=decoder)
    if decoder.buffered:
        raise InitBlobError(
            f"the InitBlob on stdin is incomplete after {deadline:g} s ({decoder.buffered} "
            f"bytes and no newline); if the orchestrator is that slow, raise {DEADLINE_VARIABLE}"
        )
    if not embedded:
        return None, decoder
    if scope.cancelled_caught:
        what = f"no InitBlob on stdin within {deadline:g} s"
    else:
        what = "stdin closed before any InitBlob"
    raise InitBlobError(
        f"{what}, though PYWATT_EMBEDDED=1 says an orchestrator started this module"
    )
