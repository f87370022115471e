"""Secrets never leave the process through a log line."""

from __future__ import annotations

import io
import json
import logging

import pytest

from pywatt.logs import REDACTED, JsonFormatter, Redactor, configure_logging


def test_registered_values_are_replaced_wherever_they_appear() -> None:
    redactor = Redactor()
    redactor.register("hunter22", "s3cr3t-token")
    assert redactor.redact("pw=hunter22; t=s3cr3t-token!") == f"pw={REDACTED}; t={REDACTED}!"


def test_a_secret_containing_another_is_redacted_whole() -> None:
    redactor = Redactor()
    redactor.register("abcd", "abcdefgh")
    assert redactor.redact("x abcdefgh y") == f"x {REDACTED} y"


def test_short_and_empty_values_are_not_registered() -> None:
    redactor = Redactor()
    redactor.register("", "ab")
    assert len(redactor) == 0
    assert redactor.redact("ab cd") == "ab cd"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Authorization: Bearer abc.def.ghi-jkl", f"Authorization: Bearer {REDACTED}"),
        ("url postgres://user:pa55@db/x", f"url postgres://{REDACTED}@db/x"),
        (
            "token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.sig_nature-1 end",
            f"token {REDACTED} end",
        ),
    ],
)
def test_credential_shapes_are_redacted_without_registration(text: str, expected: str) -> None:
    assert Redactor().redact(text) == expected


def test_json_log_lines_redact_message_arguments_extras_and_tracebacks() -> None:
    redactor = Redactor()
    redactor.register("very-secret-value")
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter(redactor, module_id="m1"))
    logger = logging.getLogger("tests.redaction")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("got %s", "very-secret-value", extra={"detail": {"v": "very-secret-value"}})
        try:
            raise ValueError("bad value very-secret-value")
        except ValueError:
            logger.exception("failed")
    finally:
        logger.removeHandler(handler)
    text = stream.getvalue()
    assert "very-secret-value" not in text
    first, second = (json.loads(line) for line in text.splitlines())
    assert first["message"] == f"got {REDACTED}"
    assert first["fields"] == {"detail": {"v": REDACTED}}
    assert first["level"] == "WARNING"
    assert first["module_id"] == "m1"
    assert first["target"] == "tests.redaction"
    assert f"bad value {REDACTED}" in second["exception"]


def test_configure_logging_replaces_its_own_handler() -> None:
    root = logging.getLogger()
    before = list(root.handlers)
    level = root.level
    try:
        configure_logging(stream=io.StringIO())
        configure_logging(stream=io.StringIO())
        ours = [h for h in root.handlers if h.get_name() == "pywatt-json"]
        assert len(ours) == 1
    finally:
        root.handlers[:] = before
        root.setLevel(level)
