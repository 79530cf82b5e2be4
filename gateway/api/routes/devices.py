"""Device registry: create, list, update, bulk CSV import."""

from __future__ import annotations

import csv
import io
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from pydantic import BaseModel, Field, ValidationError
from starlette.datastructures import UploadFile

from gateway.api.deps import Allowed, NowDep, SessionDep
from gateway.clock import iso
from gateway.domain.roles import Perm
from gateway.storage import crud
from gateway.storage.models import Device

router = APIRouter(prefix="/api/devices", tags=["devices"])

READ = Depends(Allowed(Perm.DEVICES_READ))
WRITE = Depends(Allowed(Perm.DEVICES_WRITE))

DEVICE_ID = r"^[^\x00-\x1f#+]{1,128}$"  # anything a Zigbee2MQTT friendly name may be, not MQTT wildcards


class DeviceIn(BaseModel):
    device_id: str = Field(pattern=DEVICE_ID)
    model: str = Field(default="", max_length=64)
    kind: str = Field(default="", max_length=32)
    resident: str = Field(default="", max_length=128)
    address: str = Field(default="", max_length=256)
    grid: str = Field(default="", max_length=64)


class DevicePatch(BaseModel):
    model: str | None = Field(default=None, max_length=64)
    kind: str | None = Field(default=None, max_length=32)
    resident: str | None = Field(default=None, max_length=128)
    address: str | None = Field(default=None, max_length=256)
    grid: str | None = Field(default=None, max_length=64)


def device_json(device: Device, session: Any) -> dict[str, Any]:
    status = crud.get_device_status(session, device_id=device.device_id)
    return {
        "device_id": device.device_id,
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
    }


@router.get("", dependencies=[READ])
def list_devices(
    session: SessionDep,
    grid: str | None = None,
    limit: Annotated[int, Query(ge=1, le=10000)] = 1000,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[dict[str, Any]]:
    return [device_json(d, session) for d in crud.list_devices(session, grid=grid, limit=limit, offset=offset)]


@router.get("/{device_id:path}", dependencies=[READ])
def get_device(device_id: str, session: SessionDep) -> dict[str, Any]:
    device = crud.get_device(session, device_id=device_id)
    if device is None:
        raise HTTPException(404, f"device {device_id!r} not found")
    return device_json(device, session)


@router.post("", status_code=201, dependencies=[WRITE])
def create_device(body: DeviceIn, session: SessionDep, now: NowDep) -> dict[str, Any]:
    if crud.get_device(session, device_id=body.device_id) is not None:
        raise HTTPException(409, f"device {body.device_id!r} already exists")
    device = crud.save_device(session, device=Device(**body.model_dump(), created_at=now, updated_at=now))
    session.commit()
    return device_json(device, session)


@router.patch("/{device_id:path}", dependencies=[WRITE])
def update_device(device_id: str, body: DevicePatch, session: SessionDep, now: NowDep) -> dict[str, Any]:
    device = crud.get_device(session, device_id=device_id)
    if device is None:
        raise HTTPException(404, f"device {device_id!r} not found")
    for name, value in body.model_dump(exclude_none=True).items():
        setattr(device, name, value)
    device.updated_at = now
    crud.save_device(session, device=device)
    session.commit()
    return device_json(device, session)


CSV_FIELDS = ("device_id", "model", "kind", "resident", "address", "grid")


def import_rows(session: Any, text: str, now: Any) -> dict[str, Any]:
    reader = csv.DictReader(io.StringIO(text))
    missing = [f for f in ("device_id",) if f not in (reader.fieldnames or [])]
    if missing:
        raise HTTPException(422, f"CSV header must include {', '.join(CSV_FIELDS)}; missing: {', '.join(missing)}")
    created = updated = 0
    errors: list[dict[str, Any]] = []
    for line, row in enumerate(reader, start=2):
        try:
            data = DeviceIn(**{k: (row.get(k) or "").strip() for k in CSV_FIELDS})
        except ValidationError as exc:
            errors.append({"line": line, "error": exc.errors(include_url=False)[0]["msg"]})
            continue
        device = crud.get_device(session, device_id=data.device_id)
        if device is None:
            crud.save_device(session, device=Device(**data.model_dump(), created_at=now, updated_at=now))
            created += 1
        else:
            for name, value in data.model_dump().items():
                setattr(device, name, value)
            device.updated_at = now
            crud.save_device(session, device=device)
            updated += 1
    session.commit()
    return {"created": created, "updated": updated, "errors": errors}


@router.post("/import", dependencies=[WRITE])
async def import_devices(request: Request, session: SessionDep, now: NowDep) -> dict[str, Any]:
    ctype = request.headers.get("content-type", "")
    if ctype.startswith("multipart/form-data"):
        form = await request.form()
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise HTTPException(422, "multipart upload needs a 'file' field")
        raw = await upload.read()
    else:
        raw = await request.body()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise HTTPException(422, "CSV must be UTF-8") from exc
    return import_rows(session, text, now)
