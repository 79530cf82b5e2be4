"""Shared fixtures: real databases, a real Mosquitto, a real gateway process."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from gateway.broker import Mosquitto, mosquitto_path
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


# --- a real broker and a real gateway ----------------------------------------------------------

from tests.gateway_process import GatewayProcess  # noqa: E402
from tests.http_receiver import receiver  # noqa: E402, F401  (a fixture: a local HTTP receiver)
from tests.response_guard import response_bodies_unchanged  # noqa: E402, F401  (autouse: bodies kept as built)


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Mosquitto]:
    """A Mosquitto of our own on a free port, with persistence (survives a restart)."""
    if mosquitto_path() is None:
        pytest.skip("mosquitto is not installed")
    b = Mosquitto(tmp_path / "broker").start()
    yield b
    b.stop()


@pytest.fixture
def gateway_factory(broker: Mosquitto, tmp_path: Path) -> Iterator[Callable[..., GatewayProcess]]:
    started: list[GatewayProcess] = []

    def make(*, db_url: str | None = None, **kw: Any) -> GatewayProcess:
        gw = GatewayProcess(mqtt_url=broker.url, db_url=db_url or f"sqlite:///{tmp_path / 'gw.db'}",
                            log_dir=tmp_path, **kw)
        started.append(gw)
        return gw

    yield make
    for gw in started:
        gw.stop()


@pytest.fixture
def gateway_server(gateway_factory: Callable[..., GatewayProcess]) -> GatewayProcess:
    """A running gateway (real process, real Mosquitto, SQLite): `.base_url`, `.mqtt_url`."""
    return gateway_factory().start()
