#!/usr/bin/env python3
"""A module that speaks the raw stdio protocol, as a Rust-SDK module would (test peer).

It imports nothing from pywatt: it reads the InitBlob byte by byte, fetches secrets with
``get_secret``, announces, and then handles ``rotated`` / ``shutdown`` / ``heartbeat``.
Everything it sees is logged to stderr as JSON lines (``event`` field) for the tests to read.
Secret values are logged only as a digest, unless ``--leak NAME`` asks to print one.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import select
import signal
import sys
import time
import uuid

_buffer = b""


def log(event: str, level: str = "INFO", **fields: object) -> None:
    record = {
        "timestamp": "2024-01-01T00:00:00Z",
        "level": level,
        "target": "raw_module",
        "fields": {"message": event, "event": event, **fields},
    }
    print(json.dumps(record), file=sys.stderr, flush=True)


def send(message: dict[str, object]) -> None:
    os.write(1, json.dumps(message, separators=(",", ":")).encode() + b"\n")


def send_raw(data: bytes) -> None:
    os.write(1, data)


def read_first_line() -> bytes:
    line = b""
    while True:
        byte = os.read(0, 1)
        if not byte:
            log("stdin closed before the InitBlob", level="ERROR")
            sys.exit(2)
        if byte == b"\n":
            return line
        line += byte


def read_line(timeout: float | None = None) -> dict[str, object] | None:
    """The next stdin message; None at EOF; raises TimeoutError."""
    global _buffer
    deadline = None if timeout is None else time.monotonic() + timeout
    while b"\n" not in _buffer:
        wait = None if deadline is None else max(0.0, deadline - time.monotonic())
        ready, _, _ = select.select([0], [], [], wait)
        if not ready:
            raise TimeoutError
        chunk = os.read(0, 65536)
        if not chunk:
            return None
        _buffer += chunk
    line, _, _buffer = _buffer.partition(b"\n")
    message = json.loads(line)
    assert isinstance(message, dict)
    return message


def digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()[:12]


def fetch(name: str, timeout: float, leak: set[str]) -> str | None:
    send({"op": "get_secret", "name": name})
    deadline = time.monotonic() + timeout
    while True:
        try:
            message = read_line(max(0.0, deadline - time.monotonic()))
        except TimeoutError:
            log("secret_timeout", name=name)
            return None
        if message is None:
            log("stdin_eof")
            sys.exit(0)
        op = message.get("op")
        if op == "secret" and message.get("name") == name:
            value = str(message["value"])
            log("secret_ok", name=name, digest=digest(value))
            if name in leak:
                print(f"leaking {name}: {value}", file=sys.stderr, flush=True)
            return value
        if op == "secret_error" and message.get("name") == name:
            log("secret_error", name=name, error=message.get("message"))
            return None
        log("unexpected_while_fetching", op=op)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--secret", action="append", default=[])
    parser.add_argument("--secret-timeout", type=float, default=5.0)
    parser.add_argument("--leak", action="append", default=[])
    parser.add_argument("--endpoint", action="append", default=[])
    parser.add_argument("--port-request", action="append", default=[])
    parser.add_argument("--malformed", action="store_true")
    parser.add_argument("--crash-once")
    parser.add_argument("--crash-always", action="store_true")
    parser.add_argument("--exit-code", type=int, default=3)
    parser.add_argument("--ignore-shutdown", action="store_true")
    parser.add_argument("--ack-first", action="store_true", help="Rust order: ack, then refetch")
    parser.add_argument("--say", action="append", default=[])
    parser.add_argument("--line", action="append", default=[], help="a stdout line, as given")
    parser.add_argument("--service", action="store_true", help="try the service proxy ops")
    opts = parser.parse_args()
    leak = set(opts.leak)

    if opts.ignore_shutdown:
        signal.signal(signal.SIGTERM, lambda *_: log("sigterm_ignored"))

    init = json.loads(read_first_line())
    log(
        "init",
        init=init,
        env_module_id=os.environ.get("PYWATT_MODULE_ID"),
        env_embedded=os.environ.get("PYWATT_EMBEDDED"),
    )
    for text in opts.say:
        print(text, file=sys.stderr, flush=True)
    if opts.malformed:
        send_raw(b"this is not json\n")
        send_raw(b'{"op":"no_such_op"}\n')
        send_raw(b'{"op":"get_secret"}\n')
        send_raw(b"\n")
    for name in opts.secret:
        fetch(name, opts.secret_timeout, leak)
    for line in opts.line:
        send_raw(line.encode() + b"\n")
    for spec in opts.port_request:
        request_id = str(uuid.uuid4())
        send(
            {
                "op": "port_request",
                "request_id": request_id,
                "specific_port": None if spec == "any" else int(spec),
            }
        )
        reply = read_line(5.0)
        assert reply is not None
        log("port_response", reply=reply, matches=reply.get("request_id") == request_id)
    if opts.service:
        send(
            {
                "op": "service_request",
                "id": "db_request_1",
                "service_type": "Database",
                "config": None,
            }
        )
        log("service_response", reply=read_line(5.0))
        params = {
            "connection_id": "c1",
            "service_type": {"Custom": "search"},
            "operation": "query",
            "params": {},
        }
        send({"op": "service_operation", **params})
        log("service_operation_result", reply=read_line(5.0))
    endpoints = []
    for text in opts.endpoint:
        method, path = text.split(" ", 1)
        endpoints.append({"path": path, "methods": method.split(",")})
    send({"op": "announce", "listen": init["listen"], "endpoints": endpoints})
    log("announced")

    if opts.crash_always or (opts.crash_once and not os.path.exists(opts.crash_once)):
        if opts.crash_once:
            open(opts.crash_once, "w").close()
        log("crashing", level="ERROR")
        sys.exit(opts.exit_code)

    while True:
        message = read_line()
        if message is None:
            log("stdin_eof")
            if opts.ignore_shutdown:
                while True:
                    time.sleep(1)
            return
        op = message.get("op")
        if op == "rotated":
            keys = [str(k) for k in message["keys"]]
            rotation_id = message["rotation_id"]
            log("rotated", keys=keys, rotation_id=rotation_id)
            if not opts.ack_first:
                for key in keys:
                    fetch(key, opts.secret_timeout, leak)
            send({"op": "rotation_ack", "rotation_id": rotation_id, "status": "success"})
            after = read_line(5.0)  # what a Rust module discards (docs/protocol.md §16 A8)
            log("after_ack", op=after.get("op") if after else None)
            if opts.ack_first:
                for key in keys:
                    fetch(key, opts.secret_timeout, leak)
        elif op == "shutdown":
            log("shutdown_received")
            if not opts.ignore_shutdown:
                return
        else:
            log("received", op=op)


if __name__ == "__main__":
    main()
