"""Backups: a running gateway, fed alarms over a real Mosquitto, is backed up with `shewu db
backup`; the copy restored with `shewu db restore` holds every order committed before the backup.
PostgreSQL goes through pg_dump and pg_restore when they are installed."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
import threading
import uuid
from pathlib import Path

import pytest

from gateway.cli import main as shewu
from gateway.storage import migrate
from gateway.storage.db import make_engine
from tests.databases import fresh_postgres, postgres_available
from tests.gateway_process import GatewayProcess, wait_until
from tests.release_db import kept, load_release, snapshot
from tests.test_e2e_alarms import native_sos, publish, publisher

pytestmark = pytest.mark.integration


def committed(db: Path) -> dict[int, str]:
    """Order id → device, as committed now (read beside the running gateway)."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
    try:
        return dict(conn.execute("SELECT id, device_id FROM orders").fetchall())
    finally:
        conn.close()


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "gateway.cli", *args], capture_output=True, text=True, timeout=120,
                          check=False)


def test_a_running_gateway_under_load_is_backed_up_and_restored(gateway_server: GatewayProcess,
                                                                 tmp_path: Path) -> None:
    gw = gateway_server
    db = Path(gw.db_url.removeprefix("sqlite:///"))
    stop = threading.Event()
    sent: list[str] = []

    def alarms() -> None:  # SOS from ever new devices: every one opens an order
        with publisher(gw.mqtt_url) as pub:
            while not stop.is_set():
                device = f"load-{len(sent)}-{uuid.uuid4().hex[:4]}"
                publish(pub, *native_sos(device))
                sent.append(device)

    load = threading.Thread(target=alarms)
    load.start()
    try:
        wait_until(lambda: len(committed(db)) >= 100, timeout=60, what="100 orders before the backup")
        before = committed(db)
        backup = tmp_path / "backup" / "shewu.db"
        done = cli("db", "backup", str(backup), "--db", gw.db_url)
        assert done.returncode == 0, done.stderr
        at_backup = len(committed(db))
        # the gateway kept committing alarms while and after it was copied
        wait_until(lambda: len(committed(db)) > at_backup + 20, timeout=60, what="orders after the backup")
    finally:
        stop.set()
        load.join(30)

    restored_url = f"sqlite:///{tmp_path / 'restored' / 'shewu.db'}"
    done = cli("db", "restore", str(backup), "--db", restored_url)
    assert done.returncode == 0, done.stderr
    restored = committed(tmp_path / "restored" / "shewu.db")
    assert before.items() <= restored.items()  # every order committed before the backup, as it was
    conn = sqlite3.connect(tmp_path / "restored" / "shewu.db")
    assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    opened = {r[0] for r in conn.execute("SELECT order_id FROM order_timeline WHERE action = 'opened'")}
    conn.close()
    assert set(restored) <= opened  # each with its timeline
    engine = make_engine(restored_url)
    assert migrate.state(engine).kind == "current"  # ready for `shewu serve`
    engine.dispose()

    again = cli("db", "restore", str(backup), "--db", restored_url)
    assert again.returncode == 2 and "is not empty" in again.stderr and "restore only into an empty" in again.stderr


def test_backup_refuses_to_overwrite_and_restore_checks_the_format(tmp_path: Path,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'a.db'}"
    load_release(url)
    assert shewu(["db", "backup", str(tmp_path / "copy.db"), "--db", url]) == 0
    assert shewu(["db", "backup", str(tmp_path / "copy.db"), "--db", url]) == 2
    assert "exists" in capsys.readouterr().err
    (tmp_path / "not-a-backup").write_bytes(b"hello")
    assert shewu(["db", "restore", str(tmp_path / "not-a-backup"), "--db", f"sqlite:///{tmp_path / 'b.db'}"]) == 2
    assert "not a SQLite backup" in capsys.readouterr().err
    assert shewu(["db", "restore", str(tmp_path / "copy.db"), "--db", f"sqlite:///{tmp_path / 'b.db'}"]) == 0
    source, copy = make_engine(url), make_engine(f"sqlite:///{tmp_path / 'b.db'}")
    kept(snapshot(source), snapshot(copy))
    source.dispose()
    copy.dispose()


@pytest.mark.postgres
def test_postgres_backup_and_restore_round_trip(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    if not postgres_available():
        pytest.skip("PostgreSQL is not running")
    if shutil.which("pg_dump") is None or shutil.which("pg_restore") is None:
        pytest.skip("pg_dump / pg_restore are not installed (Debian: postgresql-client)")
    with fresh_postgres() as source_url, fresh_postgres() as target_url:
        load_release(source_url)
        assert shewu(["db", "upgrade", "--db", source_url]) == 0
        dump = tmp_path / "shewu.dump"
        assert shewu(["db", "backup", str(dump), "--db", source_url]) == 0
        assert dump.read_bytes()[:5] == b"PGDMP"
        assert shewu(["db", "restore", str(dump), "--db", target_url]) == 0
        source, target = make_engine(source_url), make_engine(target_url)
        try:
            kept(snapshot(source), snapshot(target))
            assert migrate.state(target).kind == "current"
        finally:
            source.dispose()
            target.dispose()
        capsys.readouterr()
        assert shewu(["db", "restore", str(dump), "--db", target_url]) == 2
        assert "is not empty" in capsys.readouterr().err
