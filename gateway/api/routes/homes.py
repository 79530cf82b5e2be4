"""Homes (户): address, resident, grid and the inactivity watch; CSV import and export.

A home's ``resident``, ``address`` and ``grid`` are copied onto each of its devices (the alarm
path reads them from the device row); changing a home updates those copies in the same
transaction."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from pydantic import BaseModel, Field, ValidationError, field_validator
from sqlmodel import col, select

from gateway.api.deps import Allowed, NowDep, SessionDep, ZoneDep
from gateway.api.downloads import CsvFile, csv_text, download
from gateway.api.schemas import homes as schemas
from gateway.api.schemas.base import ExactRoute
from gateway.api.uploads import read_csv
from gateway.clock import iso
from gateway.domain.roles import Perm
from gateway.domain.rota import format_hhmm, parse_hhmm
from gateway.services import fleet
from gateway.storage import fleet as store
from gateway.storage.models import Device, Home

router = APIRouter(prefix="/api/homes", tags=["homes"], route_class=ExactRoute)

READ = Depends(Allowed(Perm.DEVICES_READ))
WRITE = Depends(Allowed(Perm.DEVICES_WRITE))

HOME_ID = r"^[^\x00-\x1f/\\#+?%]{1,64}$"  # e.g. 3-2-101 (building-unit-room); no "/": it is a path segment
MAX_INACTIVITY_HOURS = 14 * 24  # gateway.domain.inactivity looks no further


def _window(value: str, *, end: bool) -> str:
    return format_hhmm(parse_hhmm(value, end=end))


class HomeFields(BaseModel):
    address: str = Field(default="", max_length=256)
    building: str = Field(default="", max_length=32)
    unit: str = Field(default="", max_length=32)
    room: str = Field(default="", max_length=32)
    grid: str = Field(default="", max_length=64)
    resident: str = Field(default="", max_length=128)
    phone: str = Field(default="", max_length=32)
    inactivity_hours: float | None = Field(default=None, gt=0, le=MAX_INACTIVITY_HOURS,
                                           description="no activity for this long (window time) opens a "
                                                       "wellbeing check; null: not watched")
    window_start: str = Field(default="07:00", description="HH:MM, the community's wall clock")
    window_end: str = Field(default="22:00", description="HH:MM or 24:00; at or before the start: the next day")
    away: bool = Field(default=False, description="in hospital, visiting family: inactivity is not watched")
    away_note: str = Field(default="", max_length=256)

    @field_validator("window_start")
    @classmethod
    def _start(cls, v: str) -> str:
        return _window(v, end=False)

    @field_validator("window_end")
    @classmethod
    def _end(cls, v: str) -> str:
        return _window(v, end=True)


class HomeIn(HomeFields):
    home_id: str = Field(pattern=HOME_ID)


class HomePatch(BaseModel):
    """Only the fields given change; ``inactivity_hours: null`` turns the watch off."""

    address: str | None = Field(default=None, max_length=256)
    building: str | None = Field(default=None, max_length=32)
    unit: str | None = Field(default=None, max_length=32)
    room: str | None = Field(default=None, max_length=32)
    grid: str | None = Field(default=None, max_length=64)
    resident: str | None = Field(default=None, max_length=128)
    phone: str | None = Field(default=None, max_length=32)
    inactivity_hours: float | None = Field(default=None, gt=0, le=MAX_INACTIVITY_HOURS)
    window_start: str | None = None
    window_end: str | None = None
    away: bool | None = None
    away_note: str | None = Field(default=None, max_length=256)

    @field_validator("window_start")
    @classmethod
    def _start(cls, v: str | None) -> str | None:
        return None if v is None else _window(v, end=False)

    @field_validator("window_end")
    @classmethod
    def _end(cls, v: str | None) -> str | None:
        return None if v is None else _window(v, end=True)


FIELDS = tuple(HomeFields.model_fields)
CSV_FIELDS = ("home_id", *FIELDS)


def home_json(home: Home, devices: int | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"home_id": home.home_id}
    for name in FIELDS:
        out[name] = getattr(home, name)
    out["created_at"] = iso(home.created_at)
    out["updated_at"] = iso(home.updated_at)
    if devices is not None:
        out["device_count"] = devices
    return out


def _get(session: Any, home_id: str) -> Home:
    home = session.get(Home, home_id)
    if home is None:
        raise HTTPException(404, f"home {home_id!r} not found")
    return home


@router.get("", dependencies=[READ], response_model=list[schemas.Home])
def list_homes(
    session: SessionDep,
    grid: str | None = None,
    q: Annotated[str | None, Query(max_length=64, description="part of the home id, resident or address")] = None,
    limit: Annotated[int, Query(ge=1, le=10000)] = 1000,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[dict[str, Any]]:
    stmt = select(Home).order_by(col(Home.home_id)).offset(offset).limit(limit)
    if grid is not None:
        stmt = stmt.where(Home.grid == grid)
    if q:
        stmt = stmt.where(col(Home.home_id).contains(q, autoescape=True)
                          | col(Home.resident).contains(q, autoescape=True)
                          | col(Home.address).contains(q, autoescape=True))
    homes = session.exec(stmt).all()
    counts = store.device_counts(session, home_ids=[h.home_id for h in homes])
    return [home_json(h, counts.get(h.home_id, 0)) for h in homes]


@router.get("/export", dependencies=[READ], response_class=CsvFile)
def export_homes(session: SessionDep, now: NowDep, tz: ZoneDep, grid: str | None = None) -> Response:
    """Every home (of a grid) as CSV, UTF-8 with a BOM; ``POST /api/homes/import`` takes it back."""
    stmt = select(Home).order_by(col(Home.home_id))
    if grid is not None:
        stmt = stmt.where(Home.grid == grid)
    rows = ([getattr(h, name) for name in CSV_FIELDS] for h in session.exec(stmt))
    return download(csv_text(CSV_FIELDS, rows, cell=fleet.csv_cell), f"shewu-homes-{now.astimezone(tz):%Y%m%d}.csv")


@router.get("/{home_id}", dependencies=[READ], response_model=schemas.HomeDetail)
def get_home(home_id: str, session: SessionDep) -> dict[str, Any]:
    home = _get(session, home_id)
    devices = session.exec(select(Device).where(Device.home_id == home_id).order_by(col(Device.device_id))).all()
    out = home_json(home, len(devices))
    out["devices"] = [{"device_id": d.device_id, "kind": d.kind, "model": d.model} for d in devices]
    return out


@router.post("", status_code=201, dependencies=[WRITE], response_model=schemas.Home)
def create_home(body: HomeIn, session: SessionDep, now: NowDep) -> dict[str, Any]:
    if session.get(Home, body.home_id) is not None:
        raise HTTPException(409, f"home {body.home_id!r} already exists")
    home = Home(**body.model_dump(), created_at=now)
    fleet.save_home(session, home=home, now=now)
    session.commit()
    return home_json(home, 0)


@router.patch("/{home_id}", dependencies=[WRITE], response_model=schemas.Home)
def update_home(home_id: str, body: HomePatch, session: SessionDep, now: NowDep) -> dict[str, Any]:
    """Change a home; its devices' copies of resident, address and grid change with it."""
    home = _get(session, home_id)
    for name in body.model_fields_set:
        value = getattr(body, name)
        if value is None and name != "inactivity_hours":
            raise HTTPException(422, f"{name} may not be null")
        setattr(home, name, value)
    changed = fleet.save_home(session, home=home, now=now)
    session.commit()
    out = home_json(home, store.device_counts(session, home_ids=[home_id]).get(home_id, 0))
    out["devices_updated"] = changed
    return out


_TRUE = {"1", "true", "yes", "y", "是", "在外"}
_FALSE = {"", "0", "false", "no", "n", "否"}


def _csv_value(name: str, text: str) -> Any:
    if name == "inactivity_hours":
        return None if text == "" else text
    if name == "away":
        low = text.lower()
        if low in _TRUE:
            return True
        if low in _FALSE:
            return False
        raise ValueError(f"away: {text!r} is not true or false")
    if name in ("window_start", "window_end") and text == "":
        return HomeFields.model_fields[name].default
    return text


@router.post("/import", dependencies=[WRITE], response_model=schemas.HomeImport)
async def import_homes(request: Request, session: SessionDep, now: NowDep) -> dict[str, Any]:
    """CSV with a header (columns as the export writes them; ``home_id`` required, absent columns
    leave stored values as they are). Creates or updates each home, and the copies on its
    devices; a bad row is reported by line and skipped."""
    text = await read_csv(request)
    rows = fleet.csv_rows(text, fields=CSV_FIELDS, required=("home_id",))
    created = updated = devices_updated = 0
    errors: list[dict[str, Any]] = []
    for line, row in rows:
        try:
            values = {name: _csv_value(name, v) for name, v in row.items()}
            home = session.get(Home, values.get("home_id", ""))
            stored = {name: getattr(home, name) for name in FIELDS} if home is not None else {}
            data = HomeIn.model_validate({**stored, **values})
        except ValidationError as exc:
            err = exc.errors(include_url=False)[0]
            where = ".".join(str(p) for p in err["loc"])
            errors.append({"line": line, "error": f"{where}: {err['msg']}" if where else err["msg"]})
            continue
        except ValueError as exc:
            errors.append({"line": line, "error": str(exc)})
            continue
        if home is None:
            home = Home(**data.model_dump(), created_at=now)
            created += 1
        else:
            for name, value in data.model_dump(exclude={"home_id"}).items():
                setattr(home, name, value)
            updated += 1
        devices_updated += fleet.save_home(session, home=home, now=now)
    session.commit()
    return {"created": created, "updated": updated, "devices_updated": devices_updated, "errors": errors}
