"""``shewu db …``: the database's schema version, upgrades, backups and restores."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from gateway.config import DEFAULT_DB_URL, from_env
from gateway.storage import backup as backups
from gateway.storage import migrate
from gateway.storage.db import make_engine


def _url(args: argparse.Namespace) -> str:
    return str(args.db_url or from_env().db_url)


def db_current(args: argparse.Namespace) -> int:
    engine = make_engine(_url(args))
    try:
        st = migrate.state(engine)
    finally:
        engine.dispose()
    print(st.describe())
    if st.kind in ("behind", "unversioned"):
        print(f"# upgrade with: shewu db upgrade --db {migrate.shown_url(_url(args))}", file=sys.stderr)
    return 0 if st.kind == "current" else 1


def db_upgrade(args: argparse.Namespace) -> int:
    engine = make_engine(_url(args))
    try:
        before, after = migrate.upgrade(engine)
    finally:
        engine.dispose()
    if before.current == after.current:
        print(f"already at {after.describe()}")
    else:
        print(f"upgraded: {before.describe()} → {after.describe()}")
    return 0


def db_backup(args: argparse.Namespace) -> int:
    print(backups.backup(_url(args), Path(args.path)))
    return 0


def db_restore(args: argparse.Namespace) -> int:
    print(backups.restore(_url(args), Path(args.path)))
    return 0


def _guard(func):  # type: ignore[no-untyped-def]
    def run(args: argparse.Namespace) -> int:
        try:
            return int(func(args))
        except (migrate.SchemaError, backups.BackupError) as exc:
            print(f"shewu: {exc}", file=sys.stderr)
            return 2
    return run


def configure_parser(db: argparse.ArgumentParser) -> None:
    db_help = f"database URL (SHEWU_DB_URL; default {DEFAULT_DB_URL})"
    sub = db.add_subparsers(dest="db_command", required=True)
    current = sub.add_parser("current", help="the schema's revision, and whether it is this release's (exit 0) "
                                             "or needs an upgrade (exit 1)")
    current.set_defaults(func=_guard(db_current))
    upgrade = sub.add_parser("upgrade", help="migrate the schema to this release's (an empty database: create it)")
    upgrade.set_defaults(func=_guard(db_upgrade))
    backup = sub.add_parser("backup", help="copy the database to PATH while the gateway runs "
                                           "(SQLite: online backup; PostgreSQL: pg_dump, custom format)")
    backup.add_argument("path", metavar="PATH", help="the file to write (must not exist)")
    backup.set_defaults(func=_guard(db_backup))
    restore = sub.add_parser("restore", help="load a backup into an empty database (a non-empty one is refused)")
    restore.add_argument("path", metavar="PATH", help="a file written by `shewu db backup`")
    restore.set_defaults(func=_guard(db_restore))
    for p in (current, upgrade, backup, restore):
        p.add_argument("--db", dest="db_url", help=db_help)
