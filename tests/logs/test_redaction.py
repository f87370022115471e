"""Secrets never leave the process through a log line."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable

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


# A key file: structural lines, base64 lines, and a last line with quotes, a backslash and a
# non-ASCII letter, which every escaping writes differently.
KEY = (
    "-----BEGIN TEST KEY-----\n"
    "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7Zq8\n"
    "Yw==\n"
    "tail'of\"the\\key-é-Xy7\n"
    "-----END TEST KEY-----\n"
)
# Pieces of the key that no redacted text may contain, whatever the escaping.
KEY_PIECES = ["BEGIN TEST", "MIIEvQIBADAN", "AoIBAQC7Zq8", "tail", "key-", "Xy7", "END TEST"]


def test_each_line_of_a_multi_line_secret_is_redacted_on_its_own() -> None:
    redactor = Redactor()
    redactor.register(KEY)
    shown = [redactor.redact(line) for line in KEY.splitlines()]
    assert shown == [REDACTED, REDACTED, "Yw==", REDACTED, REDACTED]
    assert redactor.redact(KEY) == REDACTED


def test_short_or_structural_lines_of_a_secret_leave_ordinary_text_alone() -> None:
    redactor = Redactor()
    redactor.register('{\n  -----\n  null,\n  \'a\': 1\n  "client_secret": "k3y-Vb9x"\n}')
    text = "{ ----- null, 'a': 1 } true"
    assert redactor.redact(text) == text
    assert redactor.redact('  "client_secret": "k3y-Vb9x"') == f"  {REDACTED}"


def test_a_secret_with_a_trailing_newline_is_redacted_when_printed_without_it() -> None:
    redactor = Redactor()
    redactor.register("hunter22\n")
    assert redactor.redact("password hunter22") == f"password {REDACTED}"


@pytest.mark.parametrize(
    "show",
    [
        pytest.param(lambda v: f"value {v!r}", id="repr"),
        pytest.param(lambda v: f"value {v!a}", id="ascii"),
        pytest.param(lambda v: f"value {v.encode()!r}", id="bytes-repr"),
        pytest.param(lambda v: repr({"key": v, "note": "it's"}), id="repr-in-a-dict"),
        pytest.param(lambda v: json.dumps({"key": v}), id="json"),
        pytest.param(lambda v: json.dumps({"key": v}, ensure_ascii=False), id="json-utf8"),
        pytest.param(lambda v: json.dumps({"message": f"got {v!r}"}), id="repr-in-json"),
        pytest.param(lambda v: json.dumps({"m": json.dumps({"k": v})}), id="json-in-json"),
    ],
)
def test_a_secret_is_redacted_in_its_escaped_forms(show: Callable[[str], str]) -> None:
    redactor = Redactor()
    redactor.register(KEY)
    text = redactor.redact(show(KEY))
    assert REDACTED in text
    assert [piece for piece in KEY_PIECES if piece in text] == []
