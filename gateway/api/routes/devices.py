"""Device registry: create, list, update; CSV import and export; Zigbee2MQTT's device list;
each device's history.

A device may belong to a home (``home_id``): its ``resident``, ``address`` and ``grid`` are then
copies of the home's, kept up to date when the home changes (``gateway.api.routes.homes``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, HTTPException, Query, Request, Response
from pydantic import BaseModel, BeforeValidator, Field, ValidationError
from sqlmodel import col, select

from gateway.api.deps import Allowed, NowDep, SessionDep, ZoneDep
from gateway.api.downloads import CsvFile, csv_text, download
from gateway.api.routes.homes import HOME_ID
from gateway.api.schemas import devices as schemas
from gateway.api.schemas.base import ExactRoute
from gateway.api.uploads import read_csv
from gateway.clock import iso
from gateway.domain.roles import Perm
from gateway.services import fleet
from gateway.storage import crud, registry
from gateway.storage import fleet as store
from gateway.storage.models import Device, DeviceStatus, Home

router = APIRouter(prefix="/api/devices", tags=["devices"], route_class=ExactRoute)

READ = Depends(Allowed(Perm.DEVICES_READ))
WRITE = Depends(Allowed(Perm.DEVICES_WRITE))

DEVICE_ID = fleet.DEVICE_ID  # anything a Zigbee2MQTT friendly name may be, not MQTT wildcards


def _none_if_blank(value: Any) -> Any:
    return None if isinstance(value, str) and not value.strip() else value


HomeRef = Annotated[Annotated[str, Field(pattern=HOME_ID)] | None, BeforeValidator(_none_if_blank)]


class DeviceIn(BaseModel):
    device_id: str = Field(pattern=DEVICE_ID)
    home_id: HomeRef = Field(default=None, description="its home: resident, address and grid then come from it")
    model: str = Field(default="", max_length=64)
    kind: str = Field(default="", max_length=32)
    resident: str = Field(default="", max_length=128)
    address: str = Field(default="", max_length=256)
    grid: str = Field(default="", max_length=64)


class DevicePatch(BaseModel):
    """Only the fields given change; ``home_id: null`` takes the device out of its home (the
    copies of resident, address and grid stay until changed)."""

    home_id: HomeRef = None
    model: str | None = Field(default=None, max_length=64)
    kind: str | None = Field(default=None, max_length=32)
    resident: str | None = Field(default=None, max_length=128)
    address: str | None = Field(default=None, max_length=256)
    grid: str | None = Field(default=None, max_length=64)


def device_json(device: Device, status: DeviceStatus | None) -> dict[str, Any]:
    return {
        "device_id": device.device_id,
        "home_id": device.home_id,
        "model": device.model,
        "kind": device.kind,
        "resident": device.resident,
        "address": device.address,
        "grid": device.grid,
        "created_at": iso(device.created_at),
        "updated_at": iso(device.updated_at),
        "last_seen": iso(status.last_seen) if status else None,
        "availability": status.availability if status else None,
        "battery": status.battery if status else None,
        "linkquality": status.linkquality if status else None,
    }


def _one(session: Any, device: Device) -> dict[str, Any]:
    return device_json(device, crud.get_device_status(session, device_id=device.device_id))


def _home(session: Any, home_id: str) -> Home:
    home = session.get(Home, home_id)
    if home is None:
        raise HTTPException(422, f"home_id: home {home_id!r} not found")
    return home


def _check_copies(home: Home, given: dict[str, Any]) -> None:
    """With a home, resident, address and grid are the home's: a different value is an error
    (it would be overwritten), not silently dropped."""
    for name in fleet.HOME_COPIES:
        value = given.get(name)
        if value and value != getattr(home, name):
            raise HTTPException(422, f"{name} comes from home {home.home_id!r} ({getattr(home, name)!r}); "
                                     "change the home, or leave it out")


@router.get("", dependencies=[READ], response_model=list[schemas.Device])
def list_devices(
    session: SessionDep,
    grid: str | None = None,
    home_id: str | None = None,
    limit: Annotated[int, Query(ge=1, le=10000)] = 1000,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[dict[str, Any]]:
    stmt = select(Device).order_by(col(Device.device_id)).offset(offset).limit(limit)
    if grid is not None:
        stmt = stmt.where(Device.grid == grid)
    if home_id is not None:
        stmt = stmt.where(Device.home_id == home_id)
    devices = session.exec(stmt).all()
    statuses = store.statuses(session, device_ids=[d.device_id for d in devices])
    return [device_json(d, statuses.get(d.device_id)) for d in devices]


CSV_FIELDS = ("device_id", "home_id", "model", "kind", "resident", "address", "grid")


@router.get("/export", dependencies=[READ], response_class=CsvFile)
def export_devices(session: SessionDep, now: NowDep, tz: ZoneDep, grid: str | None = None) -> Response:
    """The registry (of a grid) as CSV, UTF-8 with a BOM; ``POST /api/devices/import`` takes it back."""
    stmt = select(Device).order_by(col(Device.device_id))
    if grid is not None:
        stmt = stmt.where(Device.grid == grid)
    rows = ([getattr(d, name) for name in CSV_FIELDS] for d in session.exec(stmt))
    return download(csv_text(CSV_FIELDS, rows, cell=fleet.csv_cell), f"shewu-devices-{now.astimezone(tz):%Y%m%d}.csv")


@router.get("/unregistered", dependencies=[READ], response_model=list[schemas.UnregisteredDevice])
def unregistered_devices(
    session: SessionDep, limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[dict[str, Any]]:
    """Devices heard but not in the registry, the latest first, with what they last sent: what an
    installer looks for after pairing, and what a person should register or investigate."""
    return [{"device_id": r.device_id, "last_seen": iso(r.last_seen), "last_kind": r.last_kind,
             "messages": r.messages, "battery": r.battery, "linkquality": r.linkquality,
             "availability": r.availability}
            for r in registry.unregistered_heard(session, limit=limit)]


@router.get("/{device_id:path}/history", dependencies=[READ], response_model=schemas.DeviceHistory)
def device_history(
    device_id: str,
    session: SessionDep,
    now: NowDep,
    days: Annotated[int, Query(ge=1, le=366)] = 30,
) -> dict[str, Any]:
    """Battery, link quality and availability as supervision sampled them (about once an
    interval), oldest first; the current status is the last point (``current: true``)."""
    if crud.get_device(session, device_id=device_id) is None:
        raise HTTPException(404, f"device {device_id!r} not found")
    return fleet.device_history(session, device_id=device_id, days=days, now=now)


@router.get("/{device_id:path}", dependencies=[READ], response_model=schemas.Device)
def get_device(device_id: str, session: SessionDep) -> dict[str, Any]:
    device = crud.get_device(session, device_id=device_id)
    if device is None:
        raise HTTPException(404, f"device {device_id!r} not found")
    return _one(session, device)


@router.post("", status_code=201, dependencies=[WRITE], response_model=schemas.Device)
def create_device(body: DeviceIn, session: SessionDep, now: NowDep) -> dict[str, Any]:
    if crud.get_device(session, device_id=body.device_id) is not None:
        raise HTTPException(409, f"device {body.device_id!r} already exists")
    device = Device(**body.model_dump(), created_at=now, updated_at=now)
    if body.home_id:
        home = _home(session, body.home_id)
        _check_copies(home, body.model_dump())
        fleet.copy_from_home(device, home)
    else:
        device.home_id = None
    crud.save_device(session, device=device)
    session.commit()
    return _one(session, device)


@router.post("/import", dependencies=[WRITE], response_model=schemas.ImportReport)
async def import_devices(request: Request, session: SessionDep, now: NowDep) -> dict[str, Any]:
    """CSV with a header (columns as the export writes them; ``device_id`` required, absent
    columns leave stored values as they are). A row with a ``home_id`` takes resident, address
    and grid from that home (import the homes first). A bad row is reported by line and skipped."""
    text = await read_csv(request)
    rows = fleet.csv_rows(text, fields=CSV_FIELDS, required=("device_id",))
    return import_rows(session, rows, now)


def import_rows(session: Any, rows: Any, now: Any) -> dict[str, Any]:
    created = updated = 0
    errors: list[dict[str, Any]] = []
    homes: dict[str, Home | None] = {}
    for line, row in rows:
        device = crud.get_device(session, device_id=row.get("device_id", ""))
        stored = {name: getattr(device, name) for name in CSV_FIELDS} if device is not None else {}
        merged = {**stored, **row}
        merged["home_id"] = merged.get("home_id") or None
        try:
            data = DeviceIn(**merged)
        except ValidationError as exc:
            err = exc.errors(include_url=False)[0]
            where = ".".join(str(p) for p in err["loc"])
            errors.append({"line": line, "error": f"{where}: {err['msg']}" if where else err["msg"]})
            continue
        home = None
        if data.home_id:
            if data.home_id not in homes:
                homes[data.home_id] = session.get(Home, data.home_id)
            home = homes[data.home_id]
            if home is None:
                errors.append({"line": line, "error": f"home_id: home {data.home_id!r} not found"})
                continue
        if device is None:
            device = Device(**data.model_dump(), created_at=now, updated_at=now)
            created += 1
        else:
            for name, value in data.model_dump().items():
                setattr(device, name, value)
            device.updated_at = now
            updated += 1
        if home is not None:
            fleet.copy_from_home(device, home)  # the home's copies win over the file's
        crud.save_device(session, device=device)
    session.commit()
    return {"created": created, "updated": updated, "errors": errors}


@router.post("/import-z2m", dependencies=[WRITE], response_model=schemas.Z2mImport)
def import_z2m(
    session: SessionDep,
    now: NowDep,
    entries: Annotated[list[Any], Body(description="the JSON array Zigbee2MQTT publishes, retained, on "
                                                   "zigbee2mqtt/bridge/devices")],
) -> dict[str, Any]:
    """Create or update devices from Zigbee2MQTT's device list: device id = friendly_name,
    model = definition.model, kind guessed from the model table or the exposes. Answers
    ``created``, ``updated`` (with ``changes``) and ``skipped`` (with a ``reason``: coordinator,
    unsupported, interview_incomplete, disabled, invalid_name, duplicate, no_model, unchanged,
    not_an_object)."""
    result = fleet.import_z2m(session, entries, now=now)
    session.commit()
    return {**result, "counts": {k: len(v) for k, v in result.items()}}


@router.patch("/{device_id:path}", dependencies=[WRITE], response_model=schemas.Device)
def update_device(device_id: str, body: DevicePatch, session: SessionDep, now: NowDep) -> dict[str, Any]:
    device = crud.get_device(session, device_id=device_id)
    if device is None:
        raise HTTPException(404, f"device {device_id!r} not found")
    given = body.model_dump(exclude_unset=True)
    for name, value in given.items():
        if value is None and name != "home_id":
            raise HTTPException(422, f"{name} may not be null")
    home_id = given.get("home_id", device.home_id)
    home = _home(session, home_id) if home_id else None
    if home is not None:
        _check_copies(home, given)
    for name, value in given.items():
        setattr(device, name, value)
    if home is not None:
        fleet.copy_from_home(device, home)
    device.updated_at = now
    crud.save_device(session, device=device)
    session.commit()
    return _one(session, device)
