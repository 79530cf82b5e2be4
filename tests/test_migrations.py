"""Migrations: the revisions give exactly the models' schema, a database of the previous release
(no migrations) is upgraded keeping every row, on SQLite and PostgreSQL alike, and `shewu serve`
refuses a database older than its code."""

from __future__ import annotations

import importlib
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

from gateway.broker import free_port
from gateway.cli import main as shewu
from gateway.storage import migrate
from gateway.storage.db import create_schema, make_engine
from tests.release_db import kept, load_release, snapshot

pytestmark = pytest.mark.integration

def schema_differences(engine: Engine) -> list[Any]:
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True,
                                                     "compare_server_default": migrate.same_default})
        return compare_metadata(ctx, SQLModel.metadata)  # type: ignore[no-any-return]


def test_the_revisions_from_empty_give_exactly_the_models_schema(db_url: str) -> None:
    engine = make_engine(db_url)
    assert migrate.state(engine).kind == "empty"
    before, after = migrate.upgrade(engine)
    assert (before.kind, after.kind, after.current) == ("empty", "current", (migrate.head(),))
    assert schema_differences(engine) == []
    assert migrate.upgrade(engine)[0].kind == "current"  # again: nothing to do
    engine.dispose()


def test_create_schema_for_tests_is_at_head_and_the_same(db_url: str) -> None:
    engine = make_engine(db_url)
    create_schema(engine)
    assert migrate.state(engine).kind == "current"
    assert schema_differences(engine) == []
    create_schema(engine)  # again: tables and stamp left alone
    assert migrate.state(engine).current == (migrate.head(),)
    engine.dispose()


def test_a_database_of_the_previous_release_is_upgraded_keeping_every_row(
        db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    load_release(db_url)
    engine = make_engine(db_url)
    before = snapshot(engine)
    baseline_revision = importlib.import_module("gateway.storage.migrations.versions.0001_baseline")
    baseline = set(baseline_revision.baseline_metadata().tables)  # release 0.1.0's (later revisions add more)
    assert set(before) == baseline and all(before.values())  # rows in every table
    assert migrate.state(engine).kind == "unversioned"
    assert shewu(["db", "current", "--db", db_url]) == 1
    with pytest.raises(migrate.SchemaError, match="run: shewu db upgrade --db "):
        migrate.ensure_current(engine, db_url)

    assert shewu(["db", "upgrade", "--db", db_url]) == 0
    assert "upgraded: no schema version" in capsys.readouterr().out
    assert migrate.state(engine).kind == "current"
    assert schema_differences(engine) == []
    kept(before, snapshot(engine))
    assert shewu(["db", "current", "--db", db_url]) == 0
    engine.dispose()


def test_an_earlier_release_gets_the_columns_it_lacked(db_url: str) -> None:
    """Columns docs/operations.md once told operators to add by hand come with the baseline."""
    load_release(db_url)
    engine = make_engine(db_url)
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP INDEX ix_devices_home_id")
        for table, column in (("orders", "departed_at"), ("devices", "home_id"), ("device_status", "power")):
            conn.exec_driver_sql(f"ALTER TABLE {table} DROP COLUMN {column}")
    before = snapshot(engine)
    migrate.upgrade(engine)
    assert schema_differences(engine) == []
    after = snapshot(engine)
    kept(before, after)
    assert {o["departed_at"] for o in after["orders"]} == {None}
    engine.dispose()


LATER = '''"""a test revision: what a later release's change looks like on SQLite (batch mode)"""

import sqlalchemy as sa
from alembic import op

revision = "0900"
down_revision = "{head}"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("orders") as batch:  # SQLite: the table is copied (a type changes)
        batch.add_column(sa.Column("callback_phone", sa.String(length=32), nullable=True))
        batch.alter_column("cancel_reason", existing_type=sa.String(length=500), type_=sa.String(length=1000))


def downgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        batch.drop_column("callback_phone")
'''


def test_a_later_revision_is_refused_by_serve_until_upgraded_and_keeps_rows(
        db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    load_release(db_url)
    engine = make_engine(db_url)
    migrate.upgrade(engine)
    before = snapshot(engine)
    later = tmp_path / "migrations"
    shutil.copytree(migrate.MIGRATIONS, later, ignore=shutil.ignore_patterns("__pycache__"))
    head = migrate.head()
    (later / "versions" / "0900_later.py").write_text(LATER.format(head=head), encoding="utf-8")
    monkeypatch.setattr(migrate, "MIGRATIONS", later)  # this code now expects 0900

    st = migrate.state(engine)
    assert (st.kind, st.current, st.head) == ("behind", (head,), "0900")
    with pytest.raises(migrate.SchemaError, match="older than this release"):
        migrate.ensure_current(engine, db_url)
    migrate.upgrade(engine)  # orders copied with the timeline, steps and requests pointing at it
    assert migrate.state(engine).kind == "current"
    after = snapshot(engine)
    kept(before, after)
    assert {o["callback_phone"] for o in after["orders"]} == {None}
    engine.dispose()

    monkeypatch.undo()  # this release's code again, on a database a newer one migrated
    engine = make_engine(db_url)
    assert migrate.state(engine).kind == "ahead"
    with pytest.raises(migrate.SchemaError, match="newer release"):
        migrate.ensure_current(engine, db_url)
    engine.dispose()


def test_serve_refuses_an_older_database_and_names_the_command(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    load_release(url)
    done = subprocess.run(
        [sys.executable, "-m", "gateway.cli", "serve", "--db", url, "--mqtt", f"mqtt://127.0.0.1:{free_port()}",
         "--port", str(free_port())], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode != 0
    assert f"shewu db upgrade --db {url}" in done.stderr
    assert migrate.state(make_engine(url)).kind == "unversioned"  # nothing was changed


def test_a_newly_made_database_needs_no_step(tmp_path: Path) -> None:
    """`shewu user add` (like `shewu serve`) on a new file: the schema is made at head."""
    url = f"sqlite:///{tmp_path / 'new.db'}"
    assert shewu(["user", "add", "admin", "--role", "admin", "--no-password", "--db", url]) == 0
    engine = make_engine(url)
    assert migrate.state(engine).kind == "current"
    assert schema_differences(engine) == []
    engine.dispose()
