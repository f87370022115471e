"""Reading the InitBlob: the first stdin line (PROTOCOL.md §3.2)."""

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

    Returns ``(None, decoder)`` if stdin ends before any byte arrived (nobody is there: the
    caller may start an orchestrator of its own). Otherwise returns the blob and the decoder,
    which keeps any bytes read past the first line for the stdin reader. Raises
    :class:`InitBlobError` if the line is longer than 1 MiB, is cut short by EOF, or is not a
    valid InitBlob (the message names the field). Deadlines are the caller's.
    """
    decoder = decoder or LineDecoder()
    received = 0
    while True:
        try:
            line = decoder.next_line()
        except RemoteProtocolError as exc:
            raise InitBlobError(f"invalid first stdin line: {exc}") from exc
        if line is not NEED_DATA:
            break
        data = await stdin.receive_some(65536)
        if not data:
            if received == 0:
                return None, decoder
            raise InitBlobError("stdin closed before the InitBlob line was complete")
        received += len(data)
        decoder.feed(data)
    try:
        return decode_json(line, InitBlob), decoder
    except DecodeError as exc:
        raise InitBlobError(f"the first stdin line is not a valid InitBlob: {exc}") from exc
