"""Grids (网格) and their grid workers: list (staff), set one (admin), CSV import (admin).

A grid worker works one grid; setting a grid's workers sets their ``users.grid``, which is
what scopes the orders, requests and resident records they see."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Request

from gateway.api.deps import Allowed, NowDep, SessionDep
from gateway.api.routes.residents import unprocessable
from gateway.api.schemas import grids as schemas
from gateway.api.schemas.base import ExactRoute
from gateway.api.uploads import read_csv
from gateway.domain.roles import Perm
from gateway.services import people
from gateway.services.accounts import Principal

router = APIRouter(prefix="/api/grids", tags=["grids"], route_class=ExactRoute)

# Who works where is part of the rota's picture (staff read it); staff assignments are the
# users' (admins write them).
Reader = Annotated[Principal, Depends(Allowed(Perm.ROTA_READ))]
Writer = Annotated[Principal, Depends(Allowed(Perm.USERS_WRITE))]


@router.get("", response_model=list[schemas.Grid])
def list_grids(_: Reader, session: SessionDep) -> list[dict[str, Any]]:
    """Every grid: defined ones and those that homes or grid workers name, with their workers
    and how many homes, residents and residents living alone they hold."""
    return people.list_grids(session)


@router.post("/import", response_model=schemas.GridImport)
async def import_grids(request: Request, user: Writer, session: SessionDep, now: NowDep) -> dict[str, Any]:
    """A grid CSV (``grid,name,workers``; workers' user names separated by ``;``) as the body or a
    multipart ``file``. Each grid in the file gets exactly the workers listed. All or nothing."""
    text = await read_csv(request)
    try:
        count = people.import_grids(session, text=text, now=now, by=user.actor)
    except people.PeopleError as exc:
        raise unprocessable(exc) from exc
    session.commit()
    return {"grids": count}


@router.put("/{grid}", response_model=schemas.Grid)
def put_grid(grid: Annotated[str, Path(pattern=people.GRID_CODE)], body: people.GridIn, user: Writer,
             session: SessionDep, now: NowDep) -> dict[str, Any]:
    """Set a grid's name and its workers (user names with the role grid_worker): those listed
    work this grid from now on; those who did and are not listed no longer do. A worker who
    works another grid: 409 (take them off it first)."""
    try:
        people.save_grids(session, grids=[(0, grid, body)], now=now, by=user.actor)
    except people.PeopleError as exc:
        raise unprocessable(exc) from exc
    session.commit()
    found = [g for g in people.list_grids(session) if g["grid"] == grid]
    if not found:
        raise HTTPException(500, "the grid was saved but cannot be read back")
    return found[0]
