"""A database of release 0.1.0 (tests/fixtures/release_0_1_0), and every row of a database."""

from __future__ import annotations

import sqlite3
import tempfile
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from gateway.storage import migrate
from gateway.storage.db import make_engine

RELEASE = Path(__file__).parent / "fixtures" / "release_0_1_0"


def load_release(url: str) -> None:
    """The database as release 0.1.0 left it (tests/fixtures/release_0_1_0/make.py)."""
    script = (RELEASE / "sqlite.sql").read_text(encoding="utf-8")
    if url.startswith("sqlite"):
        conn = sqlite3.connect(sa.engine.make_url(url).database)  # type: ignore[arg-type]
        conn.executescript(script)
        conn.close()
        return
    with tempfile.TemporaryDirectory() as tmp:
        source = sa.create_engine(f"sqlite:///{tmp}/release.db")
        with source.begin() as conn:
            conn.connection.executescript(script)  # type: ignore[union-attr]
        target = make_engine(url)
        with target.begin() as conn:
            conn.exec_driver_sql((RELEASE / "postgresql.sql").read_text(encoding="utf-8"))
        src, dst = sa.MetaData(), sa.MetaData()
        src.reflect(source)
        dst.reflect(target)
        with source.connect() as read, target.begin() as write:
            for table in src.sorted_tables:
                rows = [dict(r) for r in read.execute(sa.select(table)).mappings()]
                write.execute(sa.insert(dst.tables[table.name]), rows)
        source.dispose()
        target.dispose()


def snapshot(engine: Engine) -> dict[str, list[dict[str, Any]]]:
    """Every row of every table, in primary-key order."""
    meta = sa.MetaData()
    meta.reflect(engine)
    out: dict[str, list[dict[str, Any]]] = {}
    with engine.connect() as conn:
        for table in meta.sorted_tables:
            if table.name == migrate.VERSION_TABLE:
                continue
            order = list(table.primary_key.columns) or list(table.columns)
            out[table.name] = [dict(r) for r in conn.execute(sa.select(table).order_by(*order)).mappings()]
    return out


def kept(before: dict[str, list[dict[str, Any]]], after: dict[str, list[dict[str, Any]]]) -> None:
    """Every row before is there after, with the same values in the columns it had."""
    for name, rows in before.items():
        assert len(after[name]) == len(rows), name
        for old, new in zip(rows, after[name], strict=True):
            assert {k: new[k] for k in old} == old, name
