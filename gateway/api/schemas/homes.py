"""Homes (户) (``gateway.api.routes.homes``)."""

from __future__ import annotations

from pydantic import Field

from gateway.api.schemas.base import Absent, Number, Out, Timestamp, absent
from gateway.api.schemas.devices import LineError


class Home(Out):
    home_id: str
    address: str
    building: str
    unit: str
    room: str
    grid: str
    resident: str
    phone: str
    inactivity_hours: Number | None = Field(description="null: inactivity is not watched")
    window_start: str = Field(description="HH:MM, the community's wall clock")
    window_end: str = Field(description="HH:MM or 24:00")
    away: bool
    away_note: str
    created_at: Timestamp | None
    updated_at: Timestamp | None
    device_count: int | Absent = absent("devices in the home (lists, detail, create, update)")
    devices_updated: int | Absent = absent("update: devices whose copies of resident, address and grid changed")


class HomeDevice(Out):
    device_id: str
    kind: str
    model: str


class HomeDetail(Home):
    devices: list[HomeDevice]


class HomeImport(Out):
    created: int
    updated: int
    devices_updated: int
    errors: list[LineError]
