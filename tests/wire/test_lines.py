"""Lines on stdin/stdout: the InitBlob limit, \\r\\n, EOF, limits, errors, any chunking."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pywatt.wire._errors import (
    IncompleteLine,
    InvalidLinePayload,
    LineTooLong,
    LocalProtocolError,
    PayloadTooLarge,
    RemoteProtocolError,
)
from pywatt.wire._framing import NEED_DATA
from pywatt.wire._lines import (
    DEFAULT_FIRST_LINE_MAX,
    DEFAULT_MAX_LINE,
    LineDecoder,
    encode_line,
)

VECTORS = Path(__file__).parent / "data" / "vectors.jsonl"


def drain(decoder: LineDecoder) -> list[bytes]:
    out = []
    while (line := decoder.next_line()) is not NEED_DATA:
        out.append(line)
    return out


def split(data: bytes, cuts: list[int]) -> Iterator[bytes]:
    start = 0
    for cut in sorted({c % (len(data) + 1) for c in cuts}):
        yield data[start:cut]
        start = cut
    yield data[start:]


def _json_vector_payloads() -> list[bytes]:
    with VECTORS.open() as f:
        vectors = [json.loads(line) for line in f]
    return [
        bytes.fromhex(v["hex"]) for v in vectors if v["format"] == "json" and v["kind"] == "encode"
    ]


# -- the basics ------------------------------------------------------------------------------------


def test_lines_come_out_without_their_newline() -> None:
    decoder = LineDecoder()
    decoder.feed(b'{"orchestrator_api":"x"}\n{"op":"heartbeat"}\n{"op":')
    assert drain(decoder) == [b'{"orchestrator_api":"x"}', b'{"op":"heartbeat"}']
    decoder.feed(b'"shutdown"}\n')
    assert drain(decoder) == [b'{"op":"shutdown"}']
    assert decoder.lines_read == 3
    assert decoder.at_eof() is None


def test_crlf_is_tolerated_like_json_whitespace_in_rust() -> None:
    decoder = LineDecoder()
    decoder.feed(b'{"a":1}\r\n{"b":"\r"}\r\n\r\n\n')
    assert drain(decoder) == [b'{"a":1}', b'{"b":"\r"}', b"", b""]


def test_every_rust_json_vector_survives_a_line_round_trip() -> None:
    payloads = _json_vector_payloads()
    assert len(payloads) > 200
    stream = b"".join(encode_line(p) for p in payloads)
    decoder = LineDecoder(first_line_max=None)
    lines = []
    for i in range(0, len(stream), 1000):
        decoder.feed(stream[i : i + 1000])
        lines += drain(decoder)
    assert lines == payloads
    assert decoder.at_eof() is None


line_strategy = st.binary(max_size=200).filter(lambda b: b"\n" not in b and not b.endswith(b"\r"))


@given(
    st.lists(line_strategy, max_size=10),
    st.one_of(st.none(), line_strategy.filter(bool)),
    st.lists(st.integers(min_value=0), max_size=20),
)
def test_any_rechunking_yields_the_same_lines(
    lines: list[bytes], trailing: bytes | None, cuts: list[int]
) -> None:
    stream = b"".join(encode_line(line) for line in lines) + (trailing or b"")
    decoder = LineDecoder(first_line_max=None)
    got = []
    for chunk in split(stream, cuts):
        decoder.feed(chunk)
        got += drain(decoder)
    assert got == lines
    assert decoder.at_eof() == trailing


def _expected(
    data: bytes, max_line: int, first_max: int | None
) -> tuple[list[bytes], bytes | None, type[Exception] | None, int]:
    """A plain model of the decoder: lines, last line, error type, number of the bad line."""
    *complete, tail = data.split(b"\n")

    def limit(index: int) -> int:
        return first_max if index == 0 and first_max is not None else max_line

    def strip(line: bytes) -> bytes:
        return line[:-1] if line.endswith(b"\r") else line

    for index, raw in enumerate([*complete, tail]):
        if len(raw) > limit(index):
            return [strip(r) for r in complete[:index]], None, LineTooLong, index + 1
    if not complete and first_max is not None:
        return [], None, IncompleteLine, 1
    return [strip(r) for r in complete], (strip(tail) if tail else None), None, 0


@given(
    st.binary(max_size=1500).map(lambda b: b.replace(b"\xff", b"\n").replace(b"\xfe", b"\r")),
    st.lists(st.integers(min_value=0), max_size=30),
    st.integers(min_value=0, max_value=50),
    st.one_of(st.none(), st.integers(min_value=0, max_value=50)),
)
def test_arbitrary_bytes_give_lines_or_a_typed_error_and_bounded_buffering(
    data: bytes, cuts: list[int], max_line: int, first_max: int | None
) -> None:
    decoder = LineDecoder(max_line=max_line, first_line_max=first_max)
    biggest = max(max_line, first_max or 0)
    lines: list[bytes] = []
    want_lines, want_last, want_error, bad_line = _expected(data, max_line, first_max)
    try:
        for chunk in split(data, cuts):
            decoder.feed(chunk)
            while (line := decoder.next_line()) is not NEED_DATA:
                lines.append(line)
            assert decoder.buffered <= biggest  # only the unfinished line is kept
        last = decoder.at_eof()
    except (LineTooLong, IncompleteLine) as exc:
        assert type(exc) is want_error
        if isinstance(exc, LineTooLong):
            assert exc.line_number == bad_line
        assert lines == want_lines
        assert decoder.broken
        assert decoder.buffered == 0
        with pytest.raises(RemoteProtocolError):
            decoder.next_line()
    else:
        assert want_error is None
        assert lines == want_lines
        assert last == want_last
        assert decoder.lines_read == len(lines) + (last is not None)


# -- limits ----------------------------------------------------------------------------------------


def test_default_limits_are_1_mib_for_the_initblob_and_16_mib_after() -> None:
    assert DEFAULT_FIRST_LINE_MAX == 1024 * 1024
    assert DEFAULT_MAX_LINE == 16 * 1024 * 1024
    decoder = LineDecoder()
    decoder.feed(b"x" * (1024 * 1024) + b"\n" + b"y" * (2 * 1024 * 1024) + b"\n")
    assert [len(line) for line in drain(decoder)] == [1024 * 1024, 2 * 1024 * 1024]
    decoder = LineDecoder()
    decoder.feed(b"x" * (1024 * 1024 + 1) + b"\n")
    with pytest.raises(LineTooLong) as info:
        decoder.next_line()
    assert (info.value.length, info.value.limit, info.value.line_number) == (
        1024 * 1024 + 1,
        1024 * 1024,
        1,
    )


def test_first_line_has_its_own_limit() -> None:
    decoder = LineDecoder(max_line=5, first_line_max=10)
    decoder.feed(b"0123456789\n01234\n012345\n")
    assert drain_until_error(decoder) == [b"0123456789", b"01234"]


def drain_until_error(decoder: LineDecoder) -> list[bytes]:
    out = []
    with pytest.raises(LineTooLong) as info:
        while (line := decoder.next_line()) is not NEED_DATA:
            out.append(line)
    assert info.value.line_number == len(out) + 1
    return out


def test_without_a_first_line_limit_every_line_has_the_general_limit() -> None:
    decoder = LineDecoder(max_line=5, first_line_max=None)
    decoder.feed(b"01234\n012345\n")
    assert drain_until_error(decoder) == [b"01234"]


def test_an_overlong_line_is_refused_before_its_newline_arrives() -> None:
    decoder = LineDecoder(max_line=100, first_line_max=None)
    decoder.feed(b"ok\n")
    assert drain(decoder) == [b"ok"]
    for _ in range(10):
        decoder.feed(b"z" * 10)
        assert decoder.next_line() is NEED_DATA
        assert decoder.buffered <= 100
    decoder.feed(b"z")
    with pytest.raises(LineTooLong, match=r"line 2 is over 100 bytes \(101 so far\)") as info:
        decoder.next_line()
    assert info.value.length == 101
    assert decoder.buffered == 0


def test_the_limit_counts_a_carriage_return_as_rust_does() -> None:
    decoder = LineDecoder(max_line=3, first_line_max=None)
    decoder.feed(b"abc\nab\r\nabc\r\n")
    assert drain_until_error(decoder) == [b"abc", b"ab"]


def test_error_state_is_sticky() -> None:
    decoder = LineDecoder(max_line=2, first_line_max=None)
    decoder.feed(b"abc\n")
    with pytest.raises(LineTooLong) as first:
        decoder.next_line()
    for call in [decoder.next_line, lambda: decoder.feed(b"a\n"), decoder.at_eof] * 2:
        with pytest.raises(RemoteProtocolError, match="broken by an earlier error") as later:
            call()
        assert later.value.__cause__ is first.value


# -- end of stream ---------------------------------------------------------------------------------


def test_eof_returns_the_unterminated_last_line() -> None:
    decoder = LineDecoder()
    decoder.feed(b'{"init":1}\n{"op":"shutdown"}\r')
    assert drain(decoder) == [b'{"init":1}']
    assert decoder.at_eof() == b'{"op":"shutdown"}'
    assert decoder.lines_read == 2


def test_eof_before_the_initblob_line_ends_is_an_error() -> None:
    decoder = LineDecoder()
    decoder.feed(b'{"orchestrator_api":')
    assert decoder.next_line() is NEED_DATA
    with pytest.raises(IncompleteLine, match="20 bytes without a newline") as info:
        decoder.at_eof()
    assert info.value.buffered == 20
    assert decoder.broken


def test_eof_on_an_empty_stdin_is_an_error_but_not_on_an_empty_stdout() -> None:
    with pytest.raises(IncompleteLine):
        LineDecoder().at_eof()
    assert LineDecoder(first_line_max=None).at_eof() is None


def test_eof_with_an_overlong_trailing_line_is_refused() -> None:
    decoder = LineDecoder(max_line=3, first_line_max=None)
    decoder.feed(b"abc\r")  # 4 bytes: the \r counts until we know it ends the line
    with pytest.raises(LineTooLong):
        decoder.next_line()


def test_eof_with_complete_lines_buffered_is_our_mistake() -> None:
    decoder = LineDecoder()
    decoder.feed(b"a\n")
    with pytest.raises(LocalProtocolError, match="next_line"):
        decoder.at_eof()
    assert drain(decoder) == [b"a"]


def test_nothing_is_accepted_after_eof() -> None:
    decoder = LineDecoder()
    decoder.feed(b"a\n")
    assert drain(decoder) == [b"a"]
    assert decoder.at_eof() is None
    for call in (decoder.next_line, lambda: decoder.feed(b"b\n"), decoder.at_eof):
        with pytest.raises(LocalProtocolError, match="already ended"):
            call()


# -- feeding ---------------------------------------------------------------------------------------


def test_a_long_line_over_many_chunks_is_joined_once() -> None:
    line = bytes(range(10)) * 100_000  # bytes 0-9: no newline (10) in it
    decoder = LineDecoder(first_line_max=None)
    for i in range(0, len(line), 4096):
        decoder.feed(line[i : i + 4096])
        assert decoder.next_line() is NEED_DATA
    decoder.feed(b"\n")
    assert decoder.next_line() == line


def test_feeding_a_bytearray_copies_it() -> None:
    data = bytearray(b"ab\n")
    decoder = LineDecoder()
    decoder.feed(data)
    data[0:2] = b"XY"
    assert drain(decoder) == [b"ab"]


@pytest.mark.parametrize("bad", [5, "a\n", None])
def test_feeding_something_not_bytes_like_is_refused(bad: Any) -> None:
    decoder = LineDecoder()
    with pytest.raises(TypeError):
        decoder.feed(bad)
    assert decoder.buffered == 0


def test_a_peer_trickling_bytes_is_coalesced() -> None:
    decoder = LineDecoder(first_line_max=None)
    decoder.feed(b"first\nsecond")
    assert decoder.next_line() == b"first"
    for _ in range(5000):
        decoder.feed(b"x")
    assert len(decoder._pending) <= 3
    decoder.feed(b"\n")
    assert drain(decoder) == [b"second" + b"x" * 5000]


def test_decoder_limits_must_be_non_negative_ints() -> None:
    with pytest.raises(ValueError, match="max_line"):
        LineDecoder(max_line=-1)
    with pytest.raises(TypeError, match="first_line_max"):
        LineDecoder(first_line_max=1.0)  # type: ignore[arg-type]


# -- encoding --------------------------------------------------------------------------------------


def test_encode_appends_one_newline() -> None:
    assert encode_line(b'{"op":"get_secret","name":"X"}') == b'{"op":"get_secret","name":"X"}\n'
    assert encode_line(b"") == b"\n"


@pytest.mark.parametrize(
    ("payload", "position", "reason"),
    [(b'{"a":\n1}', 5, "newline"), (b"\n", 0, "newline"), (b"{}\r", 2, "carriage return")],
)
def test_encode_refuses_what_the_peer_would_read_differently(
    payload: bytes, position: int, reason: str
) -> None:
    with pytest.raises(InvalidLinePayload, match=reason) as info:
        encode_line(payload)
    assert info.value.position == position
    assert isinstance(info.value, LocalProtocolError)
    assert isinstance(info.value, ValueError)


def test_encode_refuses_oversized_lines() -> None:
    assert encode_line(b"x" * 4, max_line=4) == b"xxxx\n"
    with pytest.raises(PayloadTooLarge, match="5-byte line"):
        encode_line(b"x" * 5, max_line=4)
