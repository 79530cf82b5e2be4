"""The chaos bench's own infrastructure, and the faults it injects into it.

Everything here is private to one bench run: a PostgreSQL cluster in a temporary directory on a
free port (never the shared server on 5432), a small tmpfs for the SQLite file, a Mosquitto of
its own (``gateway.broker.Mosquitto``: persistence on, ``autosave_interval 30``, nothing
dropped), and ``shewu serve`` processes.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import httpx
import psycopg

from gateway.broker import Mosquitto, free_port
from tests.gateway_process import GatewayProcess


def pg_bin() -> Path | None:
    """The newest installed PostgreSQL's bin directory (Debian's layout)."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), key=lambda p: int(p.parent.parent.name)
                   if p.parent.parent.name.isdigit() else 0)
    return found[-1].parent if found else None


class PgCluster:
    """``initdb`` + ``pg_ctl`` in a directory of our own. As root, every command runs as the
    ``postgres`` user (the server refuses to run as root)."""

    def __init__(self, base: Path) -> None:
        bindir = pg_bin()
        if bindir is None:
            raise FileNotFoundError("PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin")
        self.bin = bindir
        self.dir = base
        self.data = base / "data"
        self.log = base / "postgres.log"
        self.port = free_port()

    def _run(self, *cmd: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        argv = [str(self.bin / cmd[0]), *cmd[1:]]
        if os.geteuid() == 0:
            argv = ["runuser", "-u", "postgres", "--", *argv]
        return subprocess.run(argv, check=check, capture_output=True, text=True, timeout=timeout)

    def init(self) -> PgCluster:
        self.dir.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync")
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.write(
                f"\n# chaos bench\nport = {self.port}\nlisten_addresses = '127.0.0.1'\n"
                f"unix_socket_directories = '{self.dir}'\nmax_connections = 100\nshared_buffers = 64MB\n"
                "fsync = on\nsynchronous_commit = on\n"
            )
        return self

    def start(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60", "start")

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop", check=False)

    def restart(self) -> None:
        """A fast shutdown (sessions are terminated, transactions in progress roll back) and a start."""
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-m", "fast", "-w", "-t", "60", "restart")

    def url(self, db: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{db}"

    def create_db(self, name: str) -> str:
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def set_read_only(self, on: bool) -> None:
        """``default_transaction_read_only`` for every session, as after a fail-over to a standby
        or an operator fencing the primary. Turning it on also terminates every other session,
        so that pooled connections cannot carry on in a transaction begun before."""
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute("SET default_transaction_read_only = off")
            if on:
                conn.execute("ALTER SYSTEM SET default_transaction_read_only = on")
            else:
                conn.execute("ALTER SYSTEM RESET default_transaction_read_only")
            conn.execute("SELECT pg_reload_conf()")
            if on:
                time.sleep(0.2)  # let the backends read the new setting
                conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                             "WHERE pid <> pg_backend_pid() AND backend_type = 'client backend'")

    def close(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.dir, ignore_errors=True)


class SmallDisk:
    """A tmpfs of ``size_mb`` for the SQLite file, which the disk-full fault fills to the last
    byte with a filler file and later frees. Needs root (``mount``)."""

    def __init__(self, path: Path, size_mb: int) -> None:
        self.path = path
        self.size_mb = size_mb
        self.filler = path / "filler"
        self.mounted = False

    def mount(self) -> SmallDisk:
        self.path.mkdir(parents=True, exist_ok=True)
        subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={self.size_mb}m,mode=0755", "tmpfs", str(self.path)],
                       check=True, capture_output=True, text=True)
        self.mounted = True
        return self

    def fill(self) -> int:
        """Write zeros until the filesystem is full; answers the bytes written."""
        written = 0
        chunk = b"\0" * (1 << 20)
        with self.filler.open("ab", buffering=0) as f:
            for size in (1 << 20, 1 << 16, 4096, 512):
                while True:
                    try:
                        written += f.write(chunk[:size])
                    except OSError as exc:
                        if exc.errno != errno.ENOSPC:
                            raise
                        break
        return written

    def free(self) -> None:
        self.filler.unlink(missing_ok=True)

    def used_mb(self) -> float:
        st = os.statvfs(self.path)
        return (st.f_blocks - st.f_bavail) * st.f_frsize / 2**20

    def close(self) -> None:
        if self.mounted:
            subprocess.run(["umount", "-l", str(self.path)], check=False, capture_output=True)
            self.mounted = False


def kill_broker_and_lose_state(broker: Mosquitto) -> None:
    """SIGKILL Mosquitto and delete its persistence file: what it acknowledged since its last
    autosave, and every session it held, are gone. Then start it again on the same port."""
    if broker.proc is not None:
        broker.proc.send_signal(signal.SIGKILL)
        broker.proc.wait()
        broker.proc = None
    (broker.data_dir / "mosquitto.db").unlink(missing_ok=True)
    broker.start()


def children(pid: int) -> list[int]:
    kids: list[int] = []
    for path in Path(f"/proc/{pid}/task").glob("*/children"):
        with contextlib.suppress(OSError):
            kids += [int(p) for p in path.read_text().split()]
    return kids


def kill_gateway(gw: GatewayProcess) -> None:
    """SIGKILL ``shewu serve`` and its ingest worker together, as a container's or systemd
    unit's kill does (the whole control group)."""
    proc = gw.proc
    if proc is None:
        return
    kids = children(proc.pid)
    for pid in [proc.pid, *kids]:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    proc.wait()
    for pid in kids:  # reap nothing (not ours), but wait until they are gone
        deadline = time.monotonic() + 5
        while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
            time.sleep(0.02)
    gw.proc = None


def start_gateway(gw: GatewayProcess, timeout: float = 90.0) -> None:
    """Start (or restart) and wait for a healthy gateway, retrying while it is unhealthy because
    a fault elsewhere has not cleared."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            gw.start(timeout=max(5.0, deadline - time.monotonic()))
            return
        except (TimeoutError, RuntimeError):
            kill_gateway(gw)
            if time.monotonic() > deadline:
                raise


def healthy(gw: GatewayProcess) -> bool | None:
    """True: /healthz 200; False: it answered otherwise; None: no answer (down)."""
    if gw.proc is None:
        return None
    try:
        return httpx.get(f"{gw.base_url}/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return None
