"""Console rendering: module log records, prefixes, verbosity and redaction."""

from __future__ import annotations

import json
import logging

import pytest

from pywatt.logs import Redactor
from pywatt.orchestrator import Console, ConsoleLine, Verbosity, logging_sink, render_log_record


def test_pywatt_json_log_lines_are_rendered_readably() -> None:
    line = json.dumps(
        {
            "timestamp": "2024-05-01T10:00:00.000Z",
            "level": "INFO",
            "target": "greeter.app",
            "message": "hello world",
            "module_id": "greeter",
            "fields": {"user": "ann", "count": 3, "note": "two words"},
        }
    )
    assert render_log_record(line) == (
        logging.INFO,
        'INFO hello world user=ann count=3 note="two words"',
    )
    assert render_log_record(line, verbose=True) == (
        logging.INFO,
        'INFO hello world target=greeter.app user=ann count=3 note="two words"',
    )


def test_rust_tracing_lines_take_the_message_from_fields() -> None:
    line = '{"timestamp":"t","level":"WARN","fields":{"message":"slow","ms":120},"target":"m"}'
    assert render_log_record(line) == (logging.WARNING, "WARN slow ms=120")


def test_an_exception_is_its_last_line_and_the_traceback_follows_only_with_verbose() -> None:
    exception = "Traceback (most recent call last):\n  File \"m.py\", line 3\nKeyError: 'x'\n"
    line = json.dumps({"level": "ERROR", "message": "boom", "exception": exception})
    assert render_log_record(line) == (
        logging.ERROR, "ERROR boom (KeyError: 'x'; -v shows the traceback)"
    )  # fmt: skip
    assert render_log_record(line, verbose=True) == (
        logging.ERROR, "ERROR boom\n" + exception.rstrip("\n")
    )  # fmt: skip


def test_anything_else_is_not_a_log_record() -> None:
    for raw in ("plain text", "{not json", '{"no_level": 1}', "[1, 2]", '{"level": 5}'):
        assert render_log_record(raw) is None


def test_prefixes_and_multiline_rendering() -> None:
    assert ConsoleLine(logging.INFO, "a\nb", "greeter", True).render() == "[greeter] a\n[greeter] b"
    assert ConsoleLine(logging.INFO, "up").render() == "pywatt: up"
    assert ConsoleLine(logging.WARNING, "hmm").render() == "pywatt: warning: hmm"
    assert ConsoleLine(logging.ERROR, "bad", "m").render() == "pywatt: error: bad"


def test_console_filters_by_verbosity_and_redacts_everything() -> None:
    redact = Redactor()
    redact.register("s3cr3t-value")
    lines: list[ConsoleLine] = []
    console = Console(lines.append, Verbosity.QUIET, redact)
    console.info("hidden at quiet")
    console.warning("shown: s3cr3t-value")
    captured = console.module_stderr("m", '{"level":"ERROR","message":"key=s3cr3t-value"}')
    console.module_stderr("m", '{"level":"DEBUG","message":"debug detail"}')
    assert [line.render() for line in lines] == [
        "pywatt: warning: shown: [REDACTED]",
        "[m] ERROR key=[REDACTED]",
    ]
    assert captured == '{"level":"ERROR","message":"key=[REDACTED]"}'


def test_a_failing_sink_does_not_take_the_console_down() -> None:
    def broken(line: ConsoleLine) -> None:
        raise OSError("stdout closed")

    console = Console(broken)
    console.info("one")
    console.info("two")  # reported once on stderr, never raised


def test_logging_sink_logs_rendered_lines_at_their_level(caplog: pytest.LogCaptureFixture) -> None:
    console = Console(logging_sink(), Verbosity.VERBOSE)
    with caplog.at_level(logging.DEBUG, logger="pywatt.orchestrator"):
        console.warning("careful")
        console.module_stderr("m", "raw text")
    assert [(r.levelno, r.getMessage()) for r in caplog.records] == [
        (logging.WARNING, "pywatt: warning: careful"),
        (logging.INFO, "[m] raw text"),
    ]


def test_the_json_form_redacts_fields_and_module_records_value_by_value() -> None:
    redact = Redactor()
    redact.register("s3cr3t-value", "31415926")
    lines: list[ConsoleLine] = []
    console = Console(lines.append, Verbosity.NORMAL, redact)
    console.emit(logging.INFO, "GET /x 200", "api", fields={"path": "/s3cr3t-value", "n": 1})
    console.module_stderr(
        "api", json.dumps({"level": "INFO", "message": "m", "fields": {"pin": 31415926}})
    )
    first, second = (json.loads(line.render_json()) for line in lines)
    assert first == {**first, "origin": "orchestrator", "module": "api",
                     "message": "GET /x 200", "path": "/[REDACTED]", "n": 1}  # fmt: skip
    assert second == {**second, "origin": "module", "module": "api", "message": "m",
                      "fields": {"pin": "[REDACTED]"}}  # fmt: skip
