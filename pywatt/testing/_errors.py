"""Errors of the test kit."""

from __future__ import annotations

from collections.abc import Sequence

from pywatt.orchestrator import ModuleNotRunning, render_log_record


class ModuleFailedToStart(ModuleNotRunning):
    """A module under test did not announce: its process ended first, or it was still
    starting when the wait ran out (it was then stopped).

    ``exit_status`` is the process's exit status when it ended by itself (78,
    ``pywatt.wire.EXIT_CANNOT_START``, for a failure that restarting cannot fix; negative:
    the signal that killed it), None when it was still running at the deadline.
    ``stderr_tail`` holds its last stderr lines as they came (redacted); the message shows
    them rendered as the orchestrator's console does. A :class:`ModuleNotRunning`, so code
    catching that still does.
    """

    def __init__(
        self,
        module_id: str,
        state: str,
        *,
        reason: str,
        exit_status: int | None,
        stderr_tail: Sequence[str],
    ) -> None:
        self.module_id = module_id
        self.state = state
        self.reason = reason
        self.exit_status = exit_status
        self.stderr_tail = tuple(stderr_tail)
        if self.stderr_tail:
            shown = "\n".join(f"  | {_render(line)}" for line in self.stderr_tail)
            tail = f"; its last stderr lines:\n{shown}"
        else:
            tail = "; it wrote nothing on stderr"
        Exception.__init__(self, f"module {module_id!r} failed to start: {reason}{tail}")


def _render(raw: str) -> str:
    rendered = render_log_record(raw, verbose=True)  # a failed test shows the traceback
    if rendered is None:
        return raw
    return rendered[1].replace("\n", "\n  | ")
