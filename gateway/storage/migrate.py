"""The database's schema version: Alembic revisions in ``gateway/storage/migrations``, run from
code (no alembic.ini), under a lock so that two gateways starting at once do not both migrate.

States of a database (``SchemaState.kind``):

- ``empty``: none of Shewu's tables. ``shewu serve`` (and ``shewu user``/``token``) create the
  schema at head by running the revisions; so does ``shewu db upgrade``.
- ``current``: at the head revision of this code.
- ``behind``: at an older revision; ``unversioned``: Shewu's tables without ``alembic_version``
  (made by release 0.1.0 or earlier). ``shewu serve`` refuses both; ``shewu db upgrade`` runs
  the revisions (for ``unversioned``, the baseline first adds what an earlier release lacked).
- ``ahead``: a revision this code does not know (a newer release migrated it): refused.
"""

from __future__ import annotations

import contextlib
import logging
import re
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy.engine import Connection, Engine
from sqlmodel import SQLModel

MIGRATIONS = Path(__file__).with_name("migrations")
VERSION_TABLE = "alembic_version"
# pg_advisory_xact_lock key: "shewu" in ASCII. Held by whoever creates or migrates the schema.
_PG_LOCK_KEY = 0x7368657775

log = logging.getLogger(__name__)


class SchemaError(Exception):
    """The database's schema does not fit this code; the message says what to run."""


def alembic_config(connection: Connection | None = None, location: Path | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(location or MIGRATIONS).replace("%", "%%"))
    cfg.set_main_option("file_template", "%%(rev)s_%%(slug)s")
    cfg.attributes["connection"] = connection
    return cfg


@lru_cache(maxsize=4)
def _script(location: Path) -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config(location=location))


def script() -> ScriptDirectory:
    return _script(MIGRATIONS)


def head() -> str:
    rev = script().get_current_head()
    assert rev is not None
    return rev


def shown_url(url: str) -> str:
    """The URL to print: without its password."""
    with contextlib.suppress(Exception):
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    return url


@dataclass(frozen=True, slots=True)
class SchemaState:
    current: tuple[str, ...]  # the revisions in alembic_version (one, or none)
    head: str
    tables: int  # Shewu's tables present (alembic_version not counted)

    @property
    def kind(self) -> str:
        if not self.current:
            return "unversioned" if self.tables else "empty"
        if self.current == (self.head,):
            return "current"
        known = script()
        try:
            for rev in self.current:
                if known.get_revision(rev) is None:
                    return "ahead"
        except CommandError:
            return "ahead"
        return "behind"

    def describe(self) -> str:
        kind = self.kind
        if kind == "empty":
            return "empty: no tables yet"
        if kind == "unversioned":
            return f"no schema version: {self.tables} tables made by release 0.1.0 or earlier"
        revs = ", ".join(self.current)
        return {"current": f"{revs} (head)", "behind": f"{revs}, behind the head {self.head}",
                "ahead": f"{revs}, unknown to this release (head {self.head}): a newer release migrated it"}[kind]


def _state(conn: Connection) -> SchemaState:
    import gateway.storage.db  # noqa: F401  (registers every table)

    names = set(sa.inspect(conn).get_table_names())
    ours = len(names & set(SQLModel.metadata.tables))
    current: tuple[str, ...] = ()
    if VERSION_TABLE in names:  # read directly: a MigrationContext logs its dialect at every start
        current = tuple(sorted(r[0] for r in conn.execute(sa.text(f"SELECT version_num FROM {VERSION_TABLE}"))))
    return SchemaState(current=current, head=head(), tables=ours)


def state(engine: Engine) -> SchemaState:
    with engine.connect() as conn:
        return _state(conn)


@contextlib.contextmanager
def _locked(engine: Engine) -> Iterator[Connection]:
    """A connection in a transaction that nobody else migrating can be in at the same time:
    PostgreSQL's advisory lock; SQLite's BEGIN IMMEDIATE (with foreign keys off, as batch
    operations need, and checked before the commit). Commits on success."""
    with engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("PRAGMA foreign_keys=OFF")  # outside any transaction, or it is ignored
            try:
                conn.exec_driver_sql("BEGIN IMMEDIATE")
                yield conn
                bad = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                if bad:
                    raise SchemaError(f"the migration left rows whose foreign keys point nowhere: {bad[:5]}")
                conn.commit()
            except BaseException:
                conn.rollback()
                raise
            finally:
                conn.exec_driver_sql("PRAGMA foreign_keys=ON")
                conn.commit()
            return
        with conn.begin():
            if conn.dialect.name == "postgresql":
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK_KEY})
            yield conn


def upgrade(engine: Engine, *, revision: str = "head") -> tuple[SchemaState, SchemaState]:
    """Run the revisions up to ``revision``; answer the states before and after."""
    with _locked(engine) as conn:
        before = _state(conn)
        if before.kind == "ahead":
            raise SchemaError(f"the database is at {before.describe()}; this release cannot upgrade it")
        command.upgrade(alembic_config(conn), revision)
        after = _state(conn)
    return before, after


def create_schema(engine: Engine) -> None:
    """The models' tables straight from the metadata, stamped at head: for tests and benches
    (faster than running the revisions; ``tests/test_migrations.py`` proves them the same). All
    at once or nothing, and tables that exist are left alone."""
    import gateway.storage.db  # noqa: F401  (registers every table)

    with _locked(engine) as conn:
        SQLModel.metadata.create_all(conn)
        ctx = MigrationContext.configure(conn)
        if not ctx.get_current_heads():
            ctx.stamp(script(), "head")


def ensure_current(engine: Engine, url: str) -> SchemaState:
    """For ``shewu serve``: an empty database gets the schema at head; a current one is used as
    it is; anything else raises ``SchemaError`` naming the command to run."""
    st = state(engine)
    if st.kind == "empty":
        log.info("empty database: creating the schema at revision %s", st.head)
        _, st = upgrade(engine)
    kind = st.kind
    if kind == "current":
        return st
    if kind == "ahead":
        raise SchemaError(f"the database {shown_url(url)} is at {st.describe()}. Run that newer release, "
                          "or restore a backup made before it.")
    raise SchemaError(f"the database {shown_url(url)} is older than this release ({st.describe()}). "
                      f"Back it up, then run: shewu db upgrade --db {shown_url(url)}")


def same_default(context: object, inspected_column: object, metadata_column: object, inspected_default: str | None,
                 metadata_default: object, rendered_metadata_default: str | None) -> bool | None:
    """Autogenerate's server default comparison, without the false difference it sees between
    SQLite's reflected ``('')`` and the model's ``''``: False when the two read the same once
    unquoted, otherwise Alembic's own comparison (None)."""
    def bare(text: str | None) -> str | None:
        return None if text is None else text.strip().strip("()'\"")

    if inspected_default is not None and bare(inspected_default) == bare(rendered_metadata_default):
        return False
    return None


# --- for developers: a new revision from the models ------------------------------------------


def new_revision(message: str) -> list[str]:
    """Write ``versions/NNNN_<slug>.py`` with what autogenerate finds between a database at the
    current head and the models; answer the paths written."""
    from gateway.storage.db import make_engine

    numbers = [int(m.group(1)) for p in (MIGRATIONS / "versions").glob("*.py") if (m := re.match(r"(\d+)_", p.name))]
    rev_id = f"{max(numbers, default=0) + 1:04d}"
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{tmp}/head.db")
        upgrade(engine)
        with engine.begin() as conn:
            made = command.revision(alembic_config(conn), message=message, autogenerate=True, rev_id=rev_id)
        engine.dispose()
    scripts = made if isinstance(made, list) else [made]
    return [s.path for s in scripts if s is not None]


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2 or args[0] != "revision":
        print('usage: python -m gateway.storage.migrate revision "what changes"', file=sys.stderr)
        return 2
    for path in new_revision(args[1]):
        print(f"written: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
