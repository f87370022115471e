"""The private psycopg pieces TrioConnection and PostgresConnection.run_batch rely on
(pinned: psycopg>=3.3.9,<3.4).

If one of these fails after a psycopg upgrade, ``pywatt/db/_pg.py`` (and ``run_batch`` in
``pywatt/db/_postgres.py``) must be revisited."""

from __future__ import annotations

import inspect

import psycopg
import psycopg.connection_async
import psycopg.conninfo
import psycopg.cursor_async
import psycopg.waiting
from psycopg import errors as e
from psycopg._capabilities import capabilities

from pywatt.db._pg import TrioConnection


def test_the_pinned_minor_version() -> None:
    major, minor = (int(x) for x in psycopg.__version__.split(".")[:2])
    assert (major, minor) == (3, 3), psycopg.__version__


def test_the_private_generators_and_flags_exist() -> None:
    base = psycopg.AsyncConnection
    for name in ("_connect_gen", "_cancel_gen", "_should_cancel", "_get_connection_params"):
        assert callable(getattr(base, name)), name
    assert "_autocommit" in inspect.getsource(psycopg.AsyncConnection.connect)
    assert inspect.isgeneratorfunction(inspect.unwrap(base._connect_gen.__func__))
    assert callable(capabilities.has_cancel_safe)


def test_the_waiting_enums_have_the_values_the_loop_sends() -> None:
    Wait, Ready = psycopg.waiting.Wait, psycopg.waiting.Ready
    assert (int(Wait.R), int(Wait.W), int(Wait.RW)) == (1, 2, 3)
    assert (int(Ready.NONE), int(Ready.R), int(Ready.W), int(Ready.RW)) == (0, 1, 2, 3)
    assert issubclass(e._WaitTimeout, Exception)


def test_conninfo_helpers_keep_their_signatures() -> None:
    params = psycopg.conninfo.conninfo_to_dict("host=127.0.0.1 port=1 connect_timeout=3")
    assert psycopg.conninfo.timeout_from_conninfo(params) == 3
    attempts = psycopg.conninfo.conninfo_attempts(params)
    assert attempts
    assert attempts[0]["host"] == "127.0.0.1"


def test_every_io_path_goes_through_the_methods_we_override() -> None:
    # The cursor enters conn.lock and drives generators with conn.wait; connect and
    # cancel_safe drive theirs with waiting.wait_conn_async, which we replace.
    cursor_source = inspect.getsource(psycopg.cursor_async)
    assert "self._conn.lock" in cursor_source
    assert "self._conn.wait(" in cursor_source
    conn_source = inspect.getsource(psycopg.connection_async)
    assert conn_source.count("waiting.wait_conn_async") == 2  # connect and cancel_safe
    assert "self.lock = ALock()" in conn_source
    for name in ("wait", "connect", "cancel_safe", "close"):
        assert name in TrioConnection.__dict__, name


def test_the_pipeline_pieces_run_batch_uses_exist() -> None:
    # PostgresConnection.run_batch: queries dumped by PostgresQuery with an adapt.Transformer,
    # sent with send_query_params in pipeline mode, flushed and fetched by the generators,
    # rows loaded by Transformer.load_rows.
    import psycopg._queries
    import psycopg.adapt
    import psycopg.generators
    import psycopg.pq

    query = psycopg._queries.PostgresQuery(psycopg.adapt.Transformer())
    query.convert("SELECT %s, %s", (1, "a"))
    assert query.query == b"SELECT $1, $2"
    assert len(query.params or ()) == 2
    assert query.types is not None
    assert query.formats is not None
    for name in ("send", "fetch_many"):
        assert callable(getattr(psycopg.generators, name)), name
    for name in (
        "enter_pipeline_mode",
        "exit_pipeline_mode",
        "pipeline_sync",
        "pipeline_status",
        "send_query_params",
    ):
        assert hasattr(psycopg.pq.PGconn, name), name
    for name in ("set_pgresult", "load_rows"):
        assert callable(getattr(psycopg.adapt.Transformer, name)), name
    assert int(psycopg.pq.PipelineStatus.OFF) == 0


def test_the_cursor_execute_generator_start_and_finish_drive() -> None:
    # PostgresConnection.start sends with next(cursor._execute_gen(sql, params)) and
    # finish drives the rest with TrioConnection.resume: that is all AsyncCursor.execute does
    # under the connection lock (which the pool's one-worker-per-connection replaces).
    import psycopg._cursor_base

    gen_fn = psycopg._cursor_base.BaseCursor._execute_gen
    assert inspect.isgeneratorfunction(gen_fn)
    assert list(inspect.signature(gen_fn).parameters)[:3] == ["self", "query", "params"]
    execute_source = inspect.getsource(psycopg.AsyncCursor.execute)
    assert "self._conn.wait(" in execute_source
    assert "self._execute_gen(query, params" in execute_source
