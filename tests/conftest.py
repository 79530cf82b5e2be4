"""Shared fixtures: real databases, a real Mosquitto, a real gateway process."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from gateway.storage.db import create_schema, make_engine
from tests.databases import fresh_postgres, postgres_available

_PG = postgres_available()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database: SQLite always, PostgreSQL where it runs."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'shewu.db'}"
        return
    if not _PG:
        pytest.skip("PostgreSQL is not running")
    with fresh_postgres() as url:
        yield url


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    eng = make_engine(db_url)
    create_schema(eng)
    yield eng
    eng.dispose()
