"""Tables of people records: residents (居民档案) and grids (网格) with their grid workers.

A resident lives in a home (``homes.home_id``): the home gives the building, unit, room,
address and grid. Who may read which part of a record is ``gateway.domain.privacy``; the
service is ``gateway.services.people``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import JSON, Column, Field, SQLModel

from gateway.storage.models import _ts


class Resident(SQLModel, table=True):
    """A resident's record. ``contacts``: a list of ``{"name", "relation", "phone", "holds_key"}``
    (next of kin, neighbours who hold a key). ``medical_notes`` and the key holders among the
    contacts are sensitive (``gateway.domain.privacy``). ``user``: the resident's own login, if
    they have one (they may read their own record)."""

    __tablename__ = "residents"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=128)
    home_id: str = Field(max_length=64, index=True)
    phone: str = Field(default="", max_length=32)
    lives_alone: bool = False  # 独居
    age_band: str = Field(default="", max_length=16)  # gateway.services.people.AGE_BANDS, "" unknown
    contacts: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    medical_notes: str = Field(default="", sa_column=Column(sa.Text, nullable=False, server_default=""))
    user: str | None = Field(default=None, max_length=64, unique=True)
    created_at: datetime | None = _ts()
    updated_at: datetime | None = _ts()
    updated_by: str | None = Field(default=None, max_length=128)


class Grid(SQLModel, table=True):
    """A grid (网格) and its grid workers (user names, role ``grid_worker``). A worker's own
    ``users.grid`` is kept equal to the grid that lists them: it is what scopes what they see."""

    __tablename__ = "grids"

    grid: str = Field(primary_key=True, max_length=64)  # the code homes carry, e.g. G1
    name: str = Field(default="", max_length=128)
    workers: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    updated_at: datetime | None = _ts()
    updated_by: str | None = Field(default=None, max_length=128)
