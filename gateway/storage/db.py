"""Engine and schema. SQLite by default (WAL, full sync), PostgreSQL for scale-out. The schema's
versions are Alembic revisions: ``gateway.storage.migrate``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session

from gateway.notify import models as notify_models  # noqa: F401  (registers the tables)
from gateway.storage import care_models, models, people_models, registry, rota_models  # noqa: F401


def normalize_url(url: str) -> str:
    """Accept plain ``postgresql://`` URLs and use the psycopg 3 driver for them."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def make_engine(url: str, *, echo: bool = False) -> Engine:
    url = normalize_url(url)
    kwargs: dict[str, Any] = {"echo": echo}
    if url.startswith("sqlite"):
        path = sa.engine.make_url(url).database
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
        engine = sa.create_engine(url, **kwargs)

        @sa.event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            # FULL: a commit is on disk before we acknowledge the message that caused it.
            cur.execute("PRAGMA synchronous=FULL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        return engine
    kwargs.update(pool_pre_ping=True, pool_size=10, max_overflow=10)
    return sa.create_engine(url, **kwargs)


def create_schema(engine: Engine) -> None:
    """Tests and benches: the tables from the models, stamped at the head revision (all at once).
    A deployment creates and upgrades its schema with the migrations (``gateway.storage.migrate``)."""
    from gateway.storage.migrate import create_schema as create_at_head

    create_at_head(engine)


def session(engine: Engine) -> Session:
    return Session(engine, expire_on_commit=False)
