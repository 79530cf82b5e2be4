"""Grids (网格) and their grid workers (``gateway.api.routes.grids``)."""

from __future__ import annotations

from pydantic import Field

from gateway.api.schemas.base import Out, Timestamp


class Grid(Out):
    grid: str = Field(description="the code homes carry, e.g. G1")
    name: str
    defined: bool = Field(description="defined by an admin; else only named by homes or grid workers")
    workers: list[str] = Field(description="user names of its grid workers")
    worker_names: dict[str, str] = Field(description="user name → display name")
    homes: int
    residents: int
    living_alone: int
    updated_at: Timestamp | None
    updated_by: str | None


class GridImport(Out):
    grids: int = Field(description="grids set")
