"""The fleet page (``gateway.api.routes.fleet``): devices with their state, and the known models
with their supervision profiles (``gateway.services.fleet``)."""

from __future__ import annotations

from pydantic import Field

from gateway.api.schemas.base import Number, Out, Timestamp


class FleetOrder(Out):
    id: int
    kind: str
    status: str
    priority: str
    opened_at: Timestamp


class FleetDevice(Out):
    device_id: str
    home_id: str | None
    resident: str
    address: str
    grid: str
    kind: str
    model: str
    mains: bool = Field(description="its supervision profile expects mains power")
    last_seen: Timestamp | None
    last_kind: str | None
    battery: Number | None
    linkquality: Number | None
    availability: str | None
    power: str | None = Field(description="mains: ok or lost")
    power_changed_at: Timestamp | None
    deadline_at: Timestamp | None = Field(description="heard by then, or it is offline")
    supervision: str | None = Field(description="ok or offline, as supervision last concluded")
    offline_since: Timestamp | None
    offline_reason: str | None = Field(description="missed_deadline, availability")
    state: str = Field(description="the first flag that applies, else ok")
    flags: list[str] = Field(description="offline, tamper, low_battery, power_lost, in that order")
    orders: list[FleetOrder] = Field(description="its active orders")


class FleetCounts(Out):
    all: int
    offline: int
    tamper: int
    low_battery: int
    power_lost: int
    ok: int


class Fleet(Out):
    now: Timestamp
    total: int = Field(description="devices matching, before limit and offset")
    counts: FleetCounts = Field(description="per state over the grid and home chosen, before the state filter")
    grids: list[str]
    low_battery_pct: Number
    devices: list[FleetDevice]


class Profile(Out):
    interval_s: int = Field(description="how often it reports")
    grace_s: int = Field(description="how late it may be before it is offline")
    mains: bool
    from_: str = Field(alias="from", description="where the profile comes from: model, kind, default, mains, battery")


class FleetDeviceDetail(FleetDevice):
    profile: Profile
    now: Timestamp


class KindProfile(Profile):
    kind: str


class ModelField(Out):
    field: str
    event: str
    trigger: str
    values: list[str | int | float | bool | None]
    clear_event: str | None
    threshold: Number | None


class ModelBattery(Out):
    reports_low: bool = Field(description="it sends a battery_low flag")
    low_below_pct: Number | None = Field(description="its percentage raises low battery below this")


class DeviceModel(Out):
    model: str
    vendor: str
    description: str
    aliases: list[str]
    decoder: str = Field(description="model: read by its own rows; generic: by the generic rows")
    kind: str | None
    events: list[str]
    fields: list[ModelField]
    battery: ModelBattery
    supervision: Profile


class Models(Out):
    models: list[DeviceModel]
    kinds: list[KindProfile]
    default: Profile
    mains: Profile
    battery: Profile
    generic: DeviceModel
    power_delay_s: int
    low_battery_pct: Number
