"""A pywatt module that cannot start, in the way ``CANNOT_START`` says:

* ``secret``: it needs the secret ``JWT_SECRET``, which nobody sets;
* ``config``: its cache configuration names a backend that does not exist;
* ``crash``: its ``main`` raises (a failure that a restart may fix).
"""

from __future__ import annotations

import os
from typing import Any

from pywatt import AppState, run_module

HOW = os.environ.get("CANNOT_START", "secret")


async def main(state: AppState[Any]) -> None:
    if HOW == "crash":
        raise RuntimeError("boom")


if __name__ == "__main__":
    options: dict[str, Any] = {}
    if HOW == "secret":
        options["secrets"] = ["JWT_SECRET"]
    if HOW == "config":
        options.update(enable_cache=True, cache_config={"type": "nosuchbackend"})
    raise SystemExit(run_module(main, **options))
