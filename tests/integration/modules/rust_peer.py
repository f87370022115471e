#!/usr/bin/env python3
"""A peer that speaks only the Rust SDK's forms (docs/protocol.md), written from the document.

It imports nothing from pywatt. It reads the InitBlob byte by byte, connects its TCP channel
(no Identify, no declaration), announces, then sends one ``route_to_module`` the way the
Rust SDK does: payload ``Message{id, content, metadata:{}}`` with no destination and no
reply marker. It answers heartbeats with a Message-wrapped ``heartbeat_ack`` and parses the
``routed_module_response`` payload as the bare response value, as the Rust requester does.
Everything is logged to stderr; stdin EOF or ``shutdown`` ends it.
"""

from __future__ import annotations

import json
import os
import socket
import struct
import sys
import threading
import time
import uuid


def log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def frame(obj: object) -> bytes:
    data = json.dumps(obj, separators=(",", ":")).encode()
    return struct.pack(">IB", len(data), 1) + data


def wrapped(content: object) -> bytes:
    return frame({"id": str(uuid.uuid4()), "content": content, "metadata": {}})


def read_exact(sock: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise EOFError
        data += chunk
    return data


def watch_stdin() -> None:
    for line in sys.stdin:
        if '"shutdown"' in line:
            break
    os._exit(0)


def main() -> None:
    line = b""
    while (byte := os.read(0, 1)) != b"\n":
        line += byte
    init = json.loads(line)
    host, port = init["tcp_channel"]["address"].rsplit(":", 1)
    sock = socket.create_connection((host, int(port)))
    os.write(1, json.dumps({"op": "announce", "listen": init["listen"], "endpoints": []},
                           separators=(",", ":")).encode() + b"\n")  # fmt: skip
    threading.Thread(target=watch_stdin, daemon=True).start()
    target = os.environ["RUST_TARGET"]
    pending: set[str] = set()

    def request() -> None:
        # As a Rust app would after a Timeout: a fresh request (the first may go out before
        # the target module has connected, and nothing answers a Rust requester then).
        inner = {"id": str(uuid.uuid4()), "content": {"name": "rust"}, "metadata": {}}
        data = list(json.dumps(inner, separators=(",", ":")).encode())
        request_id = str(uuid.uuid4())
        pending.add(request_id)
        route = {
            "op": "route_to_module",
            "target_module_id": target,
            "target_endpoint": "greet",
            "request_id": request_id,
            "payload": {"data": data, "format": "Json"},
        }
        sock.sendall(wrapped(route))
        log(f"sent request {request_id} to {target}")

    request()
    last = time.monotonic()
    sock.settimeout(1.0)
    answered = False
    while True:
        if not answered and time.monotonic() - last > 1.0:
            request()
            last = time.monotonic()
        try:
            length, _code = struct.unpack(">IB", read_exact(sock, 5))
        except TimeoutError:
            continue
        sock.settimeout(None)
        message = json.loads(read_exact(sock, length))
        sock.settimeout(1.0)
        op = message.get("op")
        if op == "heartbeat":
            sock.sendall(wrapped({"op": "heartbeat_ack"}))
        elif op == "routed_module_response":
            value = json.loads(bytes(message["payload"]["data"]))
            known = message["request_id"] in pending
            answered = True
            source = message["source_module_id"]
            log(f"reply from {source} same-id={known} value={json.dumps(value)}")
        elif op == "routed_module_message":
            log(f"ignored {op} ({len(message['payload']['data'])} bytes of payload)")
        else:
            log(f"ignored {op}")


if __name__ == "__main__":
    main()
