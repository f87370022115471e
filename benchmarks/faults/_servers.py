"""Scenarios that restart database and cache servers under load, each against a private
server of its own (``_srv_procs.py``): ``postgres_restart`` and ``mariadb_restart``
(``_srv_db.py``), ``redis_restart`` and ``memcached_restart`` (``_srv_cache.py``),
``server_stall`` (``_srv_stall.py``)."""

from __future__ import annotations

from . import _srv_cache, _srv_db, _srv_stall
from ._counts import Named

SCENARIOS: list[Named] = [*_srv_db.SCENARIOS, *_srv_cache.SCENARIOS, *_srv_stall.SCENARIOS]
