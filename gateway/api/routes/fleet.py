"""The fleet (issue 4): every registered device with its state (ok, offline, tamper, low
battery, power lost), and the known models with their supervision profiles."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query

from gateway.api.deps import Allowed, NowDep, SessionDep
from gateway.api.schemas import fleet as schemas
from gateway.api.schemas.base import ExactRoute
from gateway.clock import iso
from gateway.domain.roles import Perm
from gateway.services import fleet

router = APIRouter(tags=["fleet"], route_class=ExactRoute)

READ = Depends(Allowed(Perm.DEVICES_READ))

State = Literal["ok", "offline", "tamper", "low_battery", "power_lost"]


@router.get("/api/fleet", dependencies=[READ], response_model=schemas.Fleet)
def list_fleet(
    session: SessionDep,
    now: NowDep,
    grid: str | None = None,
    home_id: str | None = None,
    state: Annotated[State | None, Query(description="devices with this flag; ok: devices without any")] = None,
    limit: Annotated[int, Query(ge=1, le=20000)] = 10000,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> dict[str, Any]:
    """Each registered device (of a grid, a home) with its home, kind, model, last seen,
    battery, link quality, availability, power, supervision deadline, its one ``state``
    (offline > tamper > low_battery > power_lost > ok) and all its ``flags``; ``counts`` per
    state over the grid and home chosen."""
    return fleet.fleet(session, now=now, grid=grid or None, home_id=home_id or None, state=state, limit=limit,
                       offset=offset)


@router.get("/api/fleet/{device_id:path}", dependencies=[READ], response_model=schemas.FleetDeviceDetail)
def fleet_device(device_id: str, session: SessionDep, now: NowDep) -> dict[str, Any]:
    """One device as the fleet list shows it, with its supervision profile."""
    rows = fleet.fleet_devices(session, device_id=device_id)
    if not rows:
        raise HTTPException(404, f"device {device_id!r} not found")
    row = rows[0]
    profile, source = fleet.profile_for_device(row["kind"], row["model"])
    row["profile"] = {"interval_s": int(profile.interval.total_seconds()),
                      "grace_s": int(profile.grace.total_seconds()), "mains": profile.mains, "from": source}
    row["now"] = iso(now)
    return row


@router.get("/api/models", dependencies=[READ], response_model=schemas.Models)
def list_models() -> dict[str, Any]:
    """The known device models (``device_adapters.zigbee2mqtt_models``): the fields each understands and
    the events they raise, its kind, battery thresholds and supervision profile
    (``gateway.domain.supervision``); the per-kind profiles and the default."""
    return fleet.models_view()
