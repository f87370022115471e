"""A careless module: it prints its secret KEY to stdout and stderr, whole, escaped and in
JSON, and logs it with %r. Only redaction stands between it and the console."""

from __future__ import annotations

import json
import logging
import sys
from typing import Any

from pywatt import AppState, pywatt_module

log = logging.getLogger("prints_secret")


@pywatt_module(secrets=["KEY"])
async def create_app(state: AppState[Any]) -> None:
    key = await state.get_secret("KEY")
    print(key, flush=True)  # stdout: pywatt points it at stderr
    print(key, file=sys.stderr, flush=True)
    print(repr(key), file=sys.stderr, flush=True)
    print(f"ascii {key!a} bytes {key.encode()!r}", file=sys.stderr, flush=True)
    print(json.dumps({"key": key}), file=sys.stderr, flush=True)
    print(json.dumps({"key": key}, ensure_ascii=False), file=sys.stderr, flush=True)
    log.warning("the key is %r", key)
    print("printed the key", file=sys.stderr, flush=True)


if __name__ == "__main__":
    raise SystemExit(create_app.run())
