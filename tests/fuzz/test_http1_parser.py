"""The HTTP/1.1 request parser (pywatt.http._h1) on anything: bytes either parse or raise
HttpParseError with a 4xx to answer, whatever they hold and however they are split; valid
requests parse to what was sent."""

from __future__ import annotations

import hypothesis.strategies as st
from hypothesis import given

from pywatt.http._h1 import HttpParseError, RequestParser

from .conftest import FUZZ

TOKEN = st.text(alphabet="abcdefghijklmnopqrstuvwxyz-", min_size=1, max_size=12)
FRAMING = ("content-length", "transfer-encoding", "expect", "connection", "upgrade")
VALUE = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789 ;=/", max_size=20).map(str.strip)


def feed_split(data: bytes, cuts: list[int]) -> RequestParser:
    parser = RequestParser(max_header_size=4096, max_body_size=1000)
    start = 0
    for cut in [*sorted(c % (len(data) + 1) for c in cuts), len(data)]:
        parser.feed(data[start:cut])
        start = max(start, cut)
    return parser


@FUZZ
@given(st.binary(max_size=600), st.lists(st.integers(0, 600), max_size=6))
def test_any_bytes_parse_or_raise_a_4xx(data: bytes, cuts: list[int]) -> None:
    try:
        feed_split(b"POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n" + data, cuts)
    except HttpParseError as exc:
        assert 400 <= exc.status < 500
    try:
        feed_split(data, cuts)
    except HttpParseError as exc:
        assert 400 <= exc.status < 500


@FUZZ
@given(
    st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH"]),
    st.lists(TOKEN, min_size=1, max_size=4),
    st.dictionaries(TOKEN.filter(lambda t: t not in FRAMING), VALUE, max_size=5),
    st.binary(max_size=300),
    st.lists(st.integers(0, 2000), max_size=8),
    st.integers(1, 3),
)
def test_valid_pipelined_requests_parse_to_what_was_sent(
    method: str, segments: list[str], headers: dict[str, str], body: bytes, cuts: list[int],
    count: int,
) -> None:  # fmt: skip
    path = "/" + "/".join(segments)
    head = f"{method} {path}?q=1 HTTP/1.1\r\nHost: t\r\n" + "".join(
        f"{name}: {value}\r\n" for name, value in headers.items()
    )
    one = (head + f"Content-Length: {len(body)}\r\n\r\n").encode() + body
    parser = feed_split(one * count, cuts)
    assert len(parser.requests) == count
    for request in parser.requests:
        assert request.head is not None
        assert (request.head.method, request.head.path) == (method, path)
        assert request.head.query_string == b"q=1"
        got = dict(request.head.headers)
        for name, value in headers.items():
            assert got[name.encode()] == value.encode()
        assert request.complete
        assert request.take_body() == body
