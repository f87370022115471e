"""The data frame of a stream, written and read without a general MessagePack pass.

A data frame is most of a stream's traffic, so it gets a codec of its own: the bytes are
exactly those :func:`encode_stream_frame` writes for a ``StreamData`` (a four-key map,
``stream``, ``id``, ``seq``, ``payload`` in that order, the integer in its shortest form,
the payload a ``bin``), built around the payload in one copy, with the frame header in
front. Reading takes the same layout apart with slices; any other layout (keys in another
order, a longer integer form, anything malformed) gives ``None`` and the caller decodes it
with the strict :func:`decode_stream_frame`, so both accept exactly the same frames.
"""

from __future__ import annotations

import struct
import uuid
from typing import Final

from ._framing import FrameFormat
from ._stream_frames import StreamData

__all__ = ["decode_stream_data", "encode_stream_data", "stream_uuid"]

_FRAME_HEADER: Final = struct.Struct(">IB")
_HEAD: Final = b"\x84\xa6stream\xa4data\xa2id\xc4\x10"
_SEQ_KEY: Final = b"\xa3seq"
_PAYLOAD_KEY: Final = b"\xa7payload"
_U8: Final = struct.Struct(">B")
_U16: Final = struct.Struct(">H")
_U32: Final = struct.Struct(">I")
_U64: Final = struct.Struct(">Q")
_ID_AT: Final = len(_HEAD)
_SEQ_AT: Final = _ID_AT + 16 + len(_SEQ_KEY)
_MSGPACK: Final = int(FrameFormat.MSGPACK)
_FIXED: Final = len(_HEAD) + 16 + len(_SEQ_KEY) + len(_PAYLOAD_KEY)
"""The bytes of a data frame's body that do not depend on its seq and size."""
_last_id: list[tuple[bytes, uuid.UUID]] = [(bytes(16), uuid.UUID(int=0))]


def stream_uuid(raw: bytes) -> uuid.UUID:
    """The ``UUID`` of the 16 bytes ``raw``; the last one made is kept, since a stream's
    frames come one after another and ``uuid.UUID(bytes=...)`` costs more than comparing 16
    bytes (a UUID is immutable: sharing it is safe)."""
    last = _last_id[0]
    if last[0] == raw:
        return last[1]
    made = uuid.UUID(bytes=raw)
    _last_id[0] = (raw, made)
    return made


def _uint(value: int) -> bytes:
    if value < 0x80:
        return bytes((value,))
    if value <= 0xFF:
        return b"\xcc" + _U8.pack(value)
    if value <= 0xFFFF:
        return b"\xcd" + _U16.pack(value)
    if value <= 0xFFFF_FFFF:
        return b"\xce" + _U32.pack(value)
    return b"\xcf" + _U64.pack(value)


def _bin_head(size: int) -> bytes:
    if size <= 0xFF:
        return b"\xc4" + _U8.pack(size)
    if size <= 0xFFFF:
        return b"\xc5" + _U16.pack(size)
    return b"\xc6" + _U32.pack(size)


def encode_stream_data(
    stream_id: bytes, seq: int, payload: bytes | bytearray | memoryview
) -> bytes:
    """The complete code-4 frame (header included) of data frame ``seq`` of the stream whose
    16-byte id is ``stream_id``, carrying ``payload``: one copy of the payload. The caller
    checks the values (``StreamSender`` does: a u64 seq, a payload of at most the chunk
    size); a payload over 4 GiB or a seq over u64 raise ``struct.error``, an id that is not
    16 bytes ``ValueError``. Does not block."""
    if len(stream_id) != 16:
        raise ValueError(f"a stream id is 16 bytes, not {len(stream_id)}")
    size = len(payload)
    seq_bytes = _uint(seq)
    bin_head = _bin_head(size)
    header = _FRAME_HEADER.pack(_FIXED + len(seq_bytes) + len(bin_head) + size, _MSGPACK)
    return b"".join(
        (header, _HEAD, stream_id, _SEQ_KEY, seq_bytes, _PAYLOAD_KEY, bin_head, payload)
    )


def decode_stream_data(data: bytes) -> StreamData | None:
    """The ``StreamData`` in ``data`` (a frame's payload) when it has the layout
    :func:`encode_stream_data` writes, else ``None`` (decode it the general way then). Does
    not block or raise."""
    if not data.startswith(_HEAD) or data[_ID_AT + 16 : _SEQ_AT] != _SEQ_KEY:
        return None
    try:
        return _rest(data)
    except (IndexError, struct.error):
        return None  # cut short: the general decoder says where


def _rest(data: bytes) -> StreamData | None:
    tag = data[_SEQ_AT]
    at = _SEQ_AT + 1
    if tag < 0x80:
        seq = tag
    elif tag == 0xCC:
        seq, at = data[at], at + 1
        if seq < 0x80:
            return None
    elif tag == 0xCD:
        (seq,), at = _U16.unpack_from(data, at), at + 2
        if seq <= 0xFF:
            return None
    elif tag == 0xCE:
        (seq,), at = _U32.unpack_from(data, at), at + 4
        if seq <= 0xFFFF:
            return None
    elif tag == 0xCF:
        (seq,), at = _U64.unpack_from(data, at), at + 8
        if seq <= 0xFFFF_FFFF:
            return None
    else:
        return None
    key_end = at + len(_PAYLOAD_KEY)
    if data[at:key_end] != _PAYLOAD_KEY:
        return None
    tag = data[key_end]
    if tag == 0xC4:
        size, start = data[key_end + 1], key_end + 2
    elif tag == 0xC5:
        (size,), start = _U16.unpack_from(data, key_end + 1), key_end + 3
    elif tag == 0xC6:
        (size,), start = _U32.unpack_from(data, key_end + 1), key_end + 5
    else:
        return None
    if start + size != len(data):
        return None
    return StreamData(
        stream_id=stream_uuid(data[_ID_AT : _ID_AT + 16]), seq=seq, payload=data[start:]
    )
