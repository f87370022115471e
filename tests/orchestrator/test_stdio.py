"""The module's stdout and stderr: malformed lines, service ops, stderr rendering, redaction."""

from __future__ import annotations

import json
from functools import partial

import trio
import trio.testing

from pywatt.logs import REDACTED
from pywatt.orchestrator.processes._pipes import read_lines

from .helpers import events, raw, running


async def test_malformed_lines_are_reported_and_the_module_is_still_served() -> None:
    spec = raw("messy", "--malformed", "--secret", "A")
    with trio.fail_after(10):
        async with running(spec, secrets={"A": "value-a"}) as run:
            messy = run.orch.module("messy")
            await messy.wait_announced()
    text = run.text()
    assert (
        "pywatt: error: messy sent a malformed message on stdout (line 1): "
        "Expecting value at line 1 column 1 at $; line: 'this is not json'"
    ) in text
    assert "messy sent a malformed message on stdout (line 2): unknown variant `no_such_op`" in text
    assert "messy sent a malformed message on stdout (line 3): missing field `name` at $" in text
    assert "(line 4)" not in text  # a blank line is not an error
    # The orchestrator went on: the secret request after the garbage was answered.
    assert events(messy, "secret_ok")[0]["name"] == "A"


async def test_bad_or_unknown_service_requests_get_an_answer_so_nothing_hangs() -> None:
    with trio.fail_after(10):
        async with running(raw("db-user", "--service")) as run:
            module = run.orch.module("db-user")
            await module.wait_announced()
    (response,) = events(module, "service_response")
    assert response["reply"] == {
        "op": "service_response",
        "id": "db_request_1",
        "service_type": "Database",
        "success": False,
        # the raw module sends no DatabaseConfig: a clear error names what is wrong
        "error": "connection: invalid database config: invalid type: null, "
        "expected struct DatabaseConfig at $",
        "connection_id": None,
    }
    (result,) = events(module, "service_operation_result")
    assert result["reply"] == {
        "op": "service_operation_result",
        "success": False,
        "result": None,
        "error": "search service proxies are not available yet in the embedded orchestrator",
        # echoed, so that a Rust module can match the result to its request (§13.2)
        "params": {
            "connection_id": "c1",
            "service_type": {"Custom": "search"},
            "operation": "query",
            "params": {},
        },
    }


async def test_stderr_is_prefixed_rendered_and_redacted() -> None:
    pywatt_record = json.dumps(
        {
            "timestamp": "2024-05-01T10:00:00.000Z",
            "level": "WARNING",
            "target": "app.disk",
            "message": "disk low",
            "fields": {"free_mb": 12},
        }
    )
    spec = raw(
        "leaky",
        "--secret", "TOKEN",
        "--leak", "TOKEN",
        "--say", "plain words here",
        "--say", pywatt_record,
        "--say", "the token is tok-SECRET-9f8e7d",
    )  # fmt: skip
    with trio.fail_after(10):
        async with running(spec, secrets={"TOKEN": "tok-SECRET-9f8e7d"}) as run:
            leaky = run.orch.module("leaky")
            await leaky.wait_announced()
            await leaky.wait_stderr("leaking TOKEN")
    rendered = run.text()
    assert "tok-SECRET-9f8e7d" not in rendered
    assert not any("tok-SECRET-9f8e7d" in line for line in leaky.stderr)
    assert f"[leaky] leaking TOKEN: {REDACTED}" in rendered
    assert f"[leaky] the token is {REDACTED}" in rendered
    assert "[leaky] plain words here" in rendered
    assert "[leaky] WARNING disk low target=app.disk free_mb=12" in rendered
    assert "[leaky] INFO announced" in rendered  # Rust tracing shape: fields.message
    assert run.orch.stderr_lines("leaky") == list(leaky.stderr)


async def test_read_lines_reports_an_overlong_line_and_resynchronises() -> None:
    send, receive = trio.testing.memory_stream_one_way_pair()
    lines: list[tuple[bytes, int]] = []
    errors: list[str] = []

    async def on_line(line: bytes, number: int) -> None:
        lines.append((line, number))

    async with trio.open_nursery() as nursery:
        nursery.start_soon(partial(read_lines, receive, on_line, errors.append, max_line=8))
        for chunk in (b"ok1\nthis line is far", b" too long\nok2\n", b"x" * 20, b"yy\nok3\nlast"):
            await send.send_all(chunk)
            await trio.testing.wait_all_tasks_blocked()
        await send.aclose()
    assert lines == [(b"ok1", 1), (b"ok2", 3), (b"ok3", 5), (b"last", 6)]
    assert len(errors) == 2
    assert errors[0].startswith("line 2 was dropped: line 2 is over 8 bytes")
