"""Private database and cache servers for the server scenarios: each scenario starts its own
on a free loopback port in a temporary directory and kills, stops and restarts that one, never
the shared servers of ``.ci/with-services.sh`` (other scenarios and the runner use those).

The binaries are the ones ``.ci/services.sh`` installs. PostgreSQL runs as the ``postgres``
user and MariaDB as ``mysql`` (so the suite runs as root, as CI does); Redis and Memcached
keep nothing across a restart (memory only, no persistence), PostgreSQL and MariaDB keep
every committed row: PostgreSQL writes its WAL at each commit (``synchronous_commit`` on;
``fsync=off`` only skips the flush to disk, which matters for an OS crash, not for a killed
server) and MariaDB with ``innodb_flush_log_at_trx_commit=2`` writes its redo log at each
commit (not flushed, which again only an OS crash would lose).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Final, TypeVar

import trio

PGBIN: Final = Path("/usr/lib/postgresql/15/bin")
READY_BOUND: Final = 30.0
"""Seconds a server may take to accept connections after it is started."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _root() -> bool:
    return os.geteuid() == 0


def _binary(name: str, fallback: Path | None = None) -> str:
    found = shutil.which(name)
    if found is None and fallback is not None and fallback.exists():
        found = str(fallback)
    if found is None:
        raise RuntimeError(f"{name} is not installed (.ci/services.sh installs it)")
    return found


def _run(args: list[str]) -> None:
    done = subprocess.run(args, capture_output=True, check=False, timeout=60)
    if done.returncode != 0:
        output = (done.stdout + done.stderr).decode(errors="replace").strip()
        raise RuntimeError(f"{' '.join(args[:4])} ... failed ({done.returncode}): {output[-400:]}")


def _children(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (a PostgreSQL postmaster's backends)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[-1].split()
        if len(fields) > 1 and int(fields[1]) == pid:
            found.append(int(entry))
    return found


class PrivateServer:
    """One private server process: :meth:`start`, :meth:`kill` (the crash), :meth:`pause`
    and :meth:`resume` (SIGSTOP / SIGCONT of every process of the server)."""

    kind = "server"

    def __init__(self) -> None:
        self.base = Path(tempfile.mkdtemp(prefix=f"pywatt-faults-{self.kind}-"))
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        raise NotImplementedError

    async def prepare(self) -> None:
        """One-time set-up before the first start (a data directory)."""

    async def start(self) -> None:
        self.process = await trio.to_thread.run_sync(self._spawn)
        await self.wait_ready()

    def _spawn(self) -> subprocess.Popen[bytes]:
        with (self.base / "server.log").open("ab") as log:
            return subprocess.Popen(self.command(), stdout=log, stderr=log)

    async def wait_ready(self) -> None:
        with trio.fail_after(READY_BOUND):
            while not await self.ready():
                if self.process is not None and self.process.poll() is not None:
                    tail = (self.base / "server.log").read_bytes()[-400:].decode(errors="replace")
                    raise RuntimeError(f"{self.kind} exited at start: {tail}")
                await trio.sleep(0.02)

    async def ready(self) -> bool:
        try:
            stream = await trio.open_tcp_stream("127.0.0.1", self.port)
        except OSError:
            return False
        await stream.aclose()
        return True

    def pids(self) -> list[int]:
        return [self.process.pid] if self.process is not None else []

    async def kill(self) -> None:
        """SIGKILL: the server dies at once, without closing anything."""
        process, self.process = self.process, None
        if process is not None:
            process.kill()
            await trio.to_thread.run_sync(process.wait, 10)

    def pause(self) -> None:
        for pid in self.pids():
            os.kill(pid, signal.SIGSTOP)

    def resume(self) -> None:
        for pid in self.pids():
            os.kill(pid, signal.SIGCONT)

    async def cleanup(self) -> None:
        for pid in self.pids():  # a paused server would not die of SIGTERM
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)
        await self.kill()
        shutil.rmtree(self.base, ignore_errors=True)


class PrivateRedis(PrivateServer):
    kind = "redis"

    @property
    def url(self) -> str:
        return f"redis://{self.address}/0"

    def command(self) -> list[str]:
        return [_binary("redis-server"), "--bind", "127.0.0.1", "--port", str(self.port),
                "--save", "", "--appendonly", "no", "--dir", str(self.base)]  # fmt: skip


class PrivateMemcached(PrivateServer):
    kind = "memcached"

    def command(self) -> list[str]:
        user = ["-u", "nobody"] if _root() else []
        return [_binary("memcached"), *user, "-l", "127.0.0.1", "-p", str(self.port), "-U", "0",
                "-m", "64"]  # fmt: skip


class PrivateMariadb(PrivateServer):
    kind = "mariadb"

    @property
    def url(self) -> str:
        return f"mysql://root@{self.address}/faults"

    def _user(self) -> list[str]:
        return ["--user=mysql"] if _root() else []

    async def prepare(self) -> None:
        data = self.base / "data"
        if _root():
            shutil.chown(self.base, "mysql", "mysql")
        args = [_binary("mariadb-install-db"), *self._user(), f"--datadir={data}",
                "--auth-root-authentication-method=normal", "--skip-test-db"]  # fmt: skip
        await trio.to_thread.run_sync(_run, args)

    def command(self) -> list[str]:
        return [_binary("mariadbd"), "--no-defaults", *self._user(),
                f"--datadir={self.base / 'data'}", f"--socket={self.base / 'mysqld.sock'}",
                f"--pid-file={self.base / 'mysqld.pid'}", "--bind-address=127.0.0.1",
                f"--port={self.port}", "--skip-log-bin", "--innodb-buffer-pool-size=32M",
                "--innodb-flush-log-at-trx-commit=2"]  # fmt: skip

    async def ready(self) -> bool:
        """Accepting, and past its handshake (the port opens before recovery is done)."""
        import pymysql  # type: ignore[import-untyped, unused-ignore]

        def ping() -> bool:
            try:
                pymysql.connect(host="127.0.0.1", port=self.port, user="root",
                                connect_timeout=1).close()  # fmt: skip
            except pymysql.Error:
                return False
            return True

        return await trio.to_thread.run_sync(ping)

    async def start(self) -> None:
        await super().start()
        import pymysql

        def create() -> None:
            conn = pymysql.connect(host="127.0.0.1", port=self.port, user="root")
            try:
                with conn.cursor() as cursor:
                    cursor.execute("CREATE DATABASE IF NOT EXISTS faults")
            finally:
                conn.close()

        await trio.to_thread.run_sync(create)


class PrivatePostgres(PrivateServer):
    kind = "postgres"

    @property
    def url(self) -> str:
        return f"postgresql://postgres@{self.address}/postgres"

    @property
    def data(self) -> Path:
        return self.base / "data"

    def _as_postgres(self, *args: str) -> list[str]:
        return ["runuser", "-u", "postgres", "--", *args] if _root() else list(args)

    async def prepare(self) -> None:
        if _root():
            shutil.chown(self.base, "postgres", "postgres")
        initdb = _binary("initdb", PGBIN / "initdb")
        args = self._as_postgres(initdb, "-D", str(self.data), "-U", "postgres", "-A", "trust",
                                 "--no-sync")  # fmt: skip
        await trio.to_thread.run_sync(_run, args)

    def _pg_ctl(self, *args: str) -> list[str]:
        return self._as_postgres(_binary("pg_ctl", PGBIN / "pg_ctl"), "-D", str(self.data), *args)

    async def start(self) -> None:
        options = (f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.base} "
                   "-c fsync=off -c shared_buffers=16MB")  # fmt: skip
        args = self._pg_ctl("-l", str(self.base / "server.log"), "-w", "-t", "30", "-o",
                            options, "start")  # fmt: skip
        await trio.to_thread.run_sync(_run, args)
        await self.wait_ready()

    def _postmaster(self) -> int | None:
        try:
            return int((self.data / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def pids(self) -> list[int]:
        postmaster = self._postmaster()
        return [] if postmaster is None else [postmaster, *_children(postmaster)]

    async def kill(self) -> None:
        """``pg_ctl -m immediate stop``: every server process quits at once, no checkpoint;
        the next start runs crash recovery from the WAL."""
        if self._postmaster() is not None:
            await trio.to_thread.run_sync(_run, self._pg_ctl("-m", "immediate", "-w", "stop"))


S = TypeVar("S", bound=PrivateServer)


@asynccontextmanager
async def running(server: S) -> AsyncIterator[S]:
    """``server`` prepared and started; killed and its directory removed on the way out."""
    try:
        await server.prepare()
        await server.start()
        yield server
    finally:
        with trio.CancelScope(shield=True):
            await server.cleanup()
