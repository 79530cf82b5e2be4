"""Backups of the gateway's database, taken while it runs, and restores into an empty database.

- SQLite: the online backup API (``sqlite3.Connection.backup``) copies the database in one read
  transaction, so the copy is the database as of one commit; in WAL mode the gateway keeps writing
  meanwhile. The copy is one self-contained file (rollback journal, checked with ``quick_check``).
- PostgreSQL: ``pg_dump --format=custom`` (a consistent snapshot, taken without blocking writers)
  and ``pg_restore --single-transaction --no-owner``. The client tools must be installed (Debian:
  ``postgresql-client``), of the server's major version or newer. The password, if the URL has
  one, is passed in ``PGPASSWORD``, not on the command line.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import URL

from gateway.storage.db import normalize_url

SQLITE_MAGIC = b"SQLite format 3\x00"
PGDUMP_MAGIC = b"PGDMP"


class BackupError(Exception):
    """The backup or restore was not made; the message says why."""


def _url(url: str) -> URL:
    return sa.engine.make_url(normalize_url(url))


def _shown(u: URL) -> str:
    return u.set(drivername=u.get_backend_name()).render_as_string(hide_password=True)


def _sqlite_path(u: URL) -> Path:
    if not u.database or u.database == ":memory:":
        raise BackupError("an in-memory SQLite database cannot be backed up or restored")
    return Path(u.database)


def _new_file(path: Path) -> Path:
    """Where to write before renaming onto ``path`` (refused if ``path`` exists)."""
    if path.exists():
        raise BackupError(f"{path} exists; give a new file name")
    path.parent.mkdir(parents=True, exist_ok=True)
    part = path.with_name(path.name + ".part")
    part.unlink(missing_ok=True)
    return part


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _magic(path: Path, size: int) -> bytes:
    if not path.is_file():
        raise BackupError(f"{path}: no such file")
    with path.open("rb") as f:
        return f.read(size)


def _tables(u: URL) -> list[str]:
    engine = sa.create_engine(u)
    try:
        with engine.connect() as conn:
            return sorted(sa.inspect(conn).get_table_names())
    finally:
        engine.dispose()


def _refuse_non_empty(u: URL) -> None:
    tables = _tables(u)
    if tables:
        raise BackupError(f"{_shown(u)} is not empty ({len(tables)} tables, e.g. "
                          f"{', '.join(tables[:3])}); restore only into an empty database: a new SQLite path, "
                          "or a database just made with createdb")


# --- SQLite ----------------------------------------------------------------------------------


def _sqlite_copy(source: Path, target: Path) -> None:
    src = sqlite3.connect(source, timeout=30)
    try:
        dst = sqlite3.connect(target)
        try:
            src.backup(dst)  # all pages in one step: one read transaction, one consistent copy
            dst.execute("PRAGMA journal_mode=DELETE")  # a single file, without -wal / -shm beside it
            problems = [r[0] for r in dst.execute("PRAGMA quick_check").fetchall()]
            if problems != ["ok"]:
                raise BackupError(f"the copy does not check out: {problems[:5]}")
        finally:
            dst.close()
    finally:
        src.close()


def _sqlite_backup(u: URL, path: Path) -> str:
    source = _sqlite_path(u)
    if not source.is_file():
        raise BackupError(f"{source}: no such database")
    part = _new_file(path)
    try:
        _sqlite_copy(source, part)
        _fsync(part)
        os.replace(part, path)
    finally:
        part.unlink(missing_ok=True)
    return f"backed up {source} to {path} ({path.stat().st_size} bytes)"


def _sqlite_restore(u: URL, path: Path) -> str:
    if _magic(path, len(SQLITE_MAGIC)) != SQLITE_MAGIC:
        raise BackupError(f"{path} is not a SQLite backup (a PostgreSQL dump restores into PostgreSQL)")
    target = _sqlite_path(u)
    if target.exists():
        _refuse_non_empty(u)
    target.parent.mkdir(parents=True, exist_ok=True)
    _sqlite_copy(path, target)
    _fsync(target)
    return f"restored {path} into {target}"


# --- PostgreSQL ------------------------------------------------------------------------------


def _pg_tool(name: str) -> str:
    tool = shutil.which(name)
    if tool is None:
        raise BackupError(f"{name} not found: install the PostgreSQL client tools (Debian: apt install "
                          "postgresql-client), of the server's major version or newer")
    return tool


def _pg_args(u: URL) -> tuple[str, dict[str, str]]:
    """A libpq URI without the password, and the environment that carries it."""
    env = dict(os.environ)
    if u.password is not None:
        env["PGPASSWORD"] = str(u.password)
    plain = u.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


def _run(cmd: list[str], env: dict[str, str]) -> None:
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BackupError(f"{Path(cmd[0]).name} failed ({done.returncode}): {done.stderr.strip()[-2000:]}")


def _pg_backup(u: URL, path: Path) -> str:
    tool = _pg_tool("pg_dump")
    part = _new_file(path)
    dsn, env = _pg_args(u)
    try:
        _run([tool, "--format=custom", "--no-owner", "--no-privileges", f"--file={part}", f"--dbname={dsn}"], env)
        _fsync(part)
        os.replace(part, path)
    finally:
        part.unlink(missing_ok=True)
    return f"backed up {_shown(u)} to {path} ({path.stat().st_size} bytes, pg_dump custom)"


def _pg_restore(u: URL, path: Path) -> str:
    if _magic(path, len(PGDUMP_MAGIC)) != PGDUMP_MAGIC:
        raise BackupError(f"{path} is not a pg_dump custom-format file (a SQLite backup restores into SQLite)")
    tool = _pg_tool("pg_restore")
    _refuse_non_empty(u)
    dsn, env = _pg_args(u)
    _run([tool, "--single-transaction", "--exit-on-error", "--no-owner", "--no-privileges", f"--dbname={dsn}",
          str(path)], env)
    return f"restored {path} into {_shown(u)}"


# --- either ----------------------------------------------------------------------------------


def backup(url: str, path: Path) -> str:
    """Copy the database at ``url`` to the new file ``path``; answer what was done."""
    u = _url(url)
    if u.get_backend_name() == "sqlite":
        return _sqlite_backup(u, path)
    if u.get_backend_name() == "postgresql":
        return _pg_backup(u, path)
    raise BackupError(f"no backup for {u.get_backend_name()} databases")


def restore(url: str, path: Path) -> str:
    """Load the backup ``path`` into the empty database at ``url``; answer what was done."""
    u = _url(url)
    if u.get_backend_name() == "sqlite":
        return _sqlite_restore(u, path)
    if u.get_backend_name() == "postgresql":
        return _pg_restore(u, path)
    raise BackupError(f"no restore for {u.get_backend_name()} databases")
