"""Reading the InitBlob: the first stdin line (docs/protocol.md §3.2)."""

from __future__ import annotations

import trio

from pywatt.wire import (
    NEED_DATA,
    DecodeError,
    InitBlob,
    LineDecoder,
    RemoteProtocolError,
    decode_json,
)

from ._errors import InitBlobError


async def read_init_blob(
    stdin: trio.abc.ReceiveStream, *, decoder: LineDecoder | None = None
) -> tuple[InitBlob | None, LineDecoder]:
    """Read the first line and parse it as an InitBlob (bare, or with ``"op":"init"``).

    Returns ``(None, decoder)`` if stdin ends before any byte arrived, counting bytes already
    fed to ``decoder`` (nobody is there: the caller may start an orchestrator of its own).
    Otherwise returns the blob and the decoder, which keeps any bytes read past the first line
    for the stdin reader. Raises :class:`InitBlobError` if the line is longer than 1 MiB, is
    cut short by EOF, or is not a valid InitBlob (the message names the field). Deadlines are
    the caller's: a caller cancelled part-way can read ``decoder.buffered`` to tell silence
    from a partial blob.
    """
    decoder = decoder or LineDecoder()
    while True:
        try:
            line = decoder.next_line()
        except RemoteProtocolError as exc:
            raise InitBlobError(f"invalid first stdin line: {exc}") from exc
        if line is not NEED_DATA:
            break
        data = await stdin.receive_some(65536)
        if not data:
            if decoder.buffered == 0:
                return None, decoder
            raise InitBlobError(
                f"stdin closed after {decoder.buffered} bytes of the InitBlob, before the "
                "newline that ends it"
            )
        decoder.feed(data)
    try:
        return decode_json(line, InitBlob), decoder
    except DecodeError as exc:
        raise InitBlobError(f"the first stdin line is not a valid InitBlob: {exc}") from exc
