"""A pywatt module that cannot start, in the way ``CANNOT_START`` says:

* ``secret``: it needs the secret ``JWT_SECRET``, which nobody sets;
* ``config``: its cache configuration names a backend that does not exist;
* ``cachekey``: its cache configuration misspells a key (``max_sise``);
* ``option``: it misspells a module option (``secretz``) and discards ``run()``'s status;
* ``import``: it imports a package that is not installed;
* ``loading``: it takes a long while to load its code (to be stopped during start-up);
* ``crash``: its ``main`` raises (a failure that a restart may fix).
"""

from __future__ import annotations

import os
import time
from typing import Any

from pywatt import AppState, pywatt_module, run_module

HOW = os.environ.get("CANNOT_START", "secret")
if HOW == "import":
    import pywatt_tests_no_such_package  # noqa: F401  # type: ignore[import-not-found]
if HOW == "loading":
    time.sleep(60)  # a module whose imports are slow; it is stopped long before this ends


async def main(state: AppState[Any]) -> None:
    if HOW == "crash":
        raise RuntimeError("boom")


if __name__ == "__main__":
    options: dict[str, Any] = {}
    if HOW == "secret":
        options["secrets"] = ["JWT_SECRET"]
    if HOW == "config":
        options.update(enable_cache=True, cache_config={"type": "nosuchbackend"})
    if HOW == "cachekey":
        options.update(enable_cache=True, cache_config={"type": "memory", "max_sise": 3})
    if HOW == "option":
        pywatt_module(secretz=["JWT_SECRET"])(main).run()  # the status is not passed on
    else:
        raise SystemExit(run_module(main, **options))
