"""Alembic's environment for Shewu: always given a connection by ``gateway.storage.migrate``
(which holds the lock and the transaction), never configured from a file."""

from __future__ import annotations

from typing import Any

from alembic import context
from sqlmodel import SQLModel
from sqlmodel.sql.sqltypes import AutoString

import gateway.storage.db  # noqa: F401  (registers every table: the target of autogenerate)
from gateway.storage.migrate import same_default
from gateway.storage.models import UTCDateTime


def render_item(type_: str, obj: Any, autogen_context: Any) -> str | bool:
    """Revisions use plain SQLAlchemy types, so that they never depend on the models' code."""
    if type_ == "type":
        if isinstance(obj, UTCDateTime):
            return "sa.DateTime()"
        if isinstance(obj, AutoString):
            return f"sa.String(length={obj.length})" if obj.length else "sa.String()"
    return False


connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations with `shewu db upgrade` (gateway.storage.migrate), not the alembic command")
context.configure(
    connection=connection,
    target_metadata=SQLModel.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
    compare_server_default=same_default,
    render_item=render_item,
)
with context.begin_transaction():
    context.run_migrations()
