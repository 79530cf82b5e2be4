"""Resident records (居民档案): list, read, add, change, remove, CSV import and export.

Who reads which record, and which part of it, is ``gateway.domain.privacy``: office staff all,
grid workers their grid's, technicians those of homes where an active order is assigned to
them, residents their own. Medical notes and key holders are left out unless the viewer may
see them; ``withheld`` then names them, and ``access`` says why they are shown when they are.
Changing, importing and exporting records is for office staff (admins and dispatchers)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response

from gateway.api.deps import NowDep, PrincipalDep, SessionDep
from gateway.api.downloads import BOM, CsvFile, download
from gateway.api.schemas import residents as schemas
from gateway.api.schemas.base import ExactRoute
from gateway.api.uploads import read_csv
from gateway.domain.roles import OFFICE, Role
from gateway.services import people
from gateway.services.accounts import Principal
from gateway.storage.models import Home

router = APIRouter(prefix="/api/residents", tags=["residents"], route_class=ExactRoute)


def office_only(principal: PrincipalDep) -> Principal:
    """Admins and dispatchers (``roles.OFFICE``): they keep the records and see them whole."""
    if principal.role not in OFFICE:
        raise HTTPException(403, f"role {principal.role.value} may not change or export resident records "
                                 "(admins and dispatchers may)")
    return principal


Office = Annotated[Principal, Depends(office_only)]


def unprocessable(exc: people.PeopleError) -> HTTPException:
    return HTTPException(exc.status, exc.errors or str(exc))


def _viewed(session: Any, principal: Principal, resident_id: int) -> dict[str, Any]:
    resident = people.get_resident(session, resident_id=resident_id)
    home = session.get(Home, resident.home_id) if resident is not None else None
    out = people.view(resident, home, people.viewer_for(session, principal)) if resident is not None else None
    if out is None:  # not there, or not theirs to read: the same answer
        raise HTTPException(404, f"resident #{resident_id} not found")
    return out


@router.get("", response_model=list[schemas.Resident])
def list_residents(
    session: SessionDep,
    principal: PrincipalDep,
    grid: str | None = None,
    home_id: str | None = None,
    limit: Annotated[int, Query(ge=1, le=10000)] = 1000,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[dict[str, Any]]:
    """The records the caller may read, by home and name."""
    if principal.role is Role.GRID_WORKER and grid is not None and grid != principal.grid:
        raise HTTPException(403, f"grid {grid} is not yours")
    viewer = people.viewer_for(session, principal)
    rows = people.residents_for(session, viewer, grid=grid, home_id=home_id, limit=limit, offset=offset)
    return [v for r, home in rows if (v := people.view(r, home, viewer)) is not None]


@router.get("/export", response_class=CsvFile)
def export_residents(_: Office, session: SessionDep, now: NowDep, grid: str | None = None,
                     home_id: str | None = None) -> Response:
    """Every record (sensitive parts included) as a CSV that ``POST /api/residents/import`` takes
    back; UTF-8 with a BOM."""
    text = people.export_residents(session, grid=grid, home_id=home_id)
    return download(BOM + text, f"residents-{now:%Y%m%d}.csv")


@router.post("/import", response_model=schemas.ResidentImport)
async def import_residents(request: Request, user: Office, session: SessionDep, now: NowDep) -> dict[str, Any]:
    """A resident CSV (``id,name,home_id,phone,lives_alone,age_band,contacts,medical_notes,user``;
    contacts as ``name|relation|phone|key;...``) as the body or a multipart ``file``. All or
    nothing: any bad line answers 422 with every bad line, and nothing is written."""
    text = await read_csv(request)
    try:
        result = people.import_residents(session, text=text, now=now, by=user.actor)
    except people.PeopleError as exc:
        raise unprocessable(exc) from exc
    session.commit()
    return {"created": result.created, "updated": result.updated}


@router.get("/{resident_id}", response_model=schemas.Resident)
def get_resident(resident_id: int, session: SessionDep, principal: PrincipalDep) -> dict[str, Any]:
    return _viewed(session, principal, resident_id)


@router.post("", status_code=201, response_model=schemas.Resident)
def create_resident(body: people.ResidentIn, user: Office, session: SessionDep, now: NowDep) -> dict[str, Any]:
    try:
        resident = people.create_resident(session, data=body, now=now, by=user.actor)
    except people.PeopleError as exc:
        raise unprocessable(exc) from exc
    session.commit()
    assert resident.id is not None
    return _viewed(session, user, resident.id)


@router.patch("/{resident_id}", response_model=schemas.Resident)
def update_resident(resident_id: int, body: people.ResidentPatch, user: Office, session: SessionDep,
                    now: NowDep) -> dict[str, Any]:
    resident = people.get_resident(session, resident_id=resident_id)
    if resident is None:
        raise HTTPException(404, f"resident #{resident_id} not found")
    try:
        people.update_resident(session, resident=resident, changes=body.model_dump(exclude_unset=True), now=now,
                               by=user.actor)
    except people.PeopleError as exc:
        raise unprocessable(exc) from exc
    session.commit()
    return _viewed(session, user, resident_id)


@router.delete("/{resident_id}", status_code=204)
def delete_resident(resident_id: int, _: Office, session: SessionDep) -> Response:
    resident = people.get_resident(session, resident_id=resident_id)
    if resident is None:
        raise HTTPException(404, f"resident #{resident_id} not found")
    people.delete_resident(session, resident=resident)
    session.commit()
    return Response(status_code=204)
