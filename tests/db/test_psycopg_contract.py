"""The private psycopg pieces TrioConnection relies on (pinned: psycopg>=3.3.9,<3.4).

If one of these fails after a psycopg upgrade, ``pywatt/db/_pg.py`` must be revisited."""

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
