"""Scenarios that restart database and cache servers under load, each against a private
server of its own (``_srv_procs.py``): ``postgres_restart`` and ``mariadb_restart``
(``_srv_db.py``), ``redis_restart`` and ``memcached_restart`` (``_srv_cache.py``)."""

from __future__ import annotations

from . import _srv_cache, _srv_db
from ._counts import Named

SCENARIOS: list[Named] = [*_srv_db.SCENARIOS, *_srv_cache.SCENARIOS]
