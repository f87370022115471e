"""What the orchestrator shows a person: its console and the traceback folder."""

from typing import TYPE_CHECKING

from pywatt._lazy import attach

if TYPE_CHECKING:
    from ._console import Console as Console
    from ._console import ConsoleLine as ConsoleLine
    from ._console import LogFormat as LogFormat
    from ._console import Verbosity as Verbosity
    from ._console import default_log_format as default_log_format
    from ._console import logging_sink as logging_sink
    from ._console import render_log_record as render_log_record
    from ._console import stream_sink as stream_sink
    from ._tracebacks import CANNOT_HEAL_EXCEPTIONS as CANNOT_HEAL_EXCEPTIONS
    from ._tracebacks import FoldedTraceback as FoldedTraceback
    from ._tracebacks import TracebackFolder as TracebackFolder

__getattr__, __dir__, __all__ = attach(
    __name__,
    {
        "._console": [
            "Console",
            "ConsoleLine",
            "LogFormat",
            "Verbosity",
            "default_log_format",
            "logging_sink",
            "render_log_record",
            "stream_sink",
        ],
        "._tracebacks": ["CANNOT_HEAL_EXCEPTIONS", "FoldedTraceback", "TracebackFolder"],
    },
)
