"""``server_stall``: a private PostgreSQL and a private Redis stopped (SIGSTOP of every
process of the server) and continued (SIGCONT) under load, each on its own rhythm, in one
module-like actor system holding both the pool and the cache.

A stopped server keeps its connections and accepts new ones (the kernel completes the
handshake) but answers nothing: the silent-server case, which only timeouts can end.

* The cache (``operation_timeout`` 0.5 s): requests fail with ``CacheUnavailable`` once the
  timeout passes and the actor reconnects by itself; after SIGCONT service resumes. The reads
  are checked as in ``redis_restart`` (one incarnation throughout: a stall loses nothing).
* The pool: inserts carry a deadline of 1 s in the message (the pool answers
  ``DatabaseTimeout`` and cancels the statement on the server); reads through the facade
  have none and wait out the stall; every third read carries a deadline. Every acknowledged
  row must be there at the end. How late past its deadline a ``DatabaseTimeout`` came is
  noted. In runs of 20 s or more every fourth stop of PostgreSQL lasts 6.5 s, past the 5 s
  a cancellation may take: the pool closes that connection and answers the timeout.
"""

from __future__ import annotations

import random
from typing import Final

import trio

import actors

from . import _srv_cache, _srv_db
from ._counts import Counts, Named
from ._srv_load import Faults
from ._srv_procs import PrivatePostgres, PrivateRedis, running
from ._srv_watch import Ops, tallied_logs

HANG_AFTER: Final = 15.0
"""Far past every bound: a stop lasts at most 6.5 s (reads without a deadline wait it out),
deadlines and timeouts are 1 s, a cancellation gives up after 5 s."""
STALLED: Final = (0.8, 1.5)
LONG_STALL: Final = 6.5
"""Every fourth stop of PostgreSQL in runs of ``LONG_FROM`` seconds or more: longer than the
5 s a cancellation may take, so a cancel request the server never answers is given up."""
LONG_FROM: Final = 20.0


async def server_stall(budget: float, counts: Counts) -> None:
    ops = Ops(counts, _srv_db.TYPED + _srv_cache.TYPED, HANG_AFTER)
    postgres, redis = PrivatePostgres(), PrivateRedis()
    with tallied_logs(counts, "pywatt"):
        async with (
            running(postgres),
            running(redis),
            actors.open_actor_system() as system,
        ):
            ops.count_crashes(system)
            await _srv_db.open_pool(system, postgres.url)
            cache = await _srv_cache.open_cache(system, redis, operation_timeout=0.5)
            pg_faults = Faults(postgres, counts, system, "PostgreSQL")
            redis_faults = Faults(redis, counts, system, "Redis")
            db_load = _srv_db.DbLoad(system, ops, pg_faults, write_deadline=1.0, read_deadline=1.0)
            cache_load = _srv_cache.CacheLoad(cache, ops, redis_faults)
            end = trio.current_time() + budget
            long = LONG_STALL if budget >= LONG_FROM else None
            async with trio.open_nursery() as watching:
                watching.start_soon(ops.watchdog)
                async with trio.open_nursery() as nursery:
                    db_load.spawn(nursery)
                    cache_load.spawn(nursery)
                    async with trio.open_nursery() as stalling:
                        stalling.start_soon(
                            lambda: pg_faults.stalls(
                                end, random.Random(31), stopped=STALLED, long=long
                            )
                        )
                        stalling.start_soon(
                            lambda: redis_faults.stalls(end, random.Random(32), stopped=STALLED)
                        )
                    await trio.sleep(0.5)  # service resumes under load
                    db_load.stop = cache_load.stop = True
                await db_load.verify(counts)
                await _srv_cache.serves_again(cache, ops)
                watching.cancel_scope.cancel()
            await _srv_db.note_pool(system, counts)
            cache_load.note(counts)
            pg_faults.note("a stop")
            redis_faults.note("a stop")
    ops.summarize()


SCENARIOS: Final = [Named("server_stall", server_stall)]
