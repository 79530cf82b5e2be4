"""The device registry (``gateway.api.routes.devices``): a device with its last status, devices
heard but not registered, a device's history, and the imports' reports."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from gateway.api.schemas.base import Absent, Number, Out, Timestamp, absent


class Device(Out):
    device_id: str
    home_id: str | None = Field(description="its home: resident, address and grid are copies of the home's")
    model: str
    kind: str
    resident: str
    address: str
    grid: str
    created_at: Timestamp | None
    updated_at: Timestamp | None
    last_seen: Timestamp | None = Field(description="null: never heard")
    availability: str | None = Field(description="online, offline, or null (not reported)")
    battery: Number | None = Field(description="percent")
    linkquality: Number | None


class UnregisteredDevice(Out):
    device_id: str
    last_seen: Timestamp | None
    last_kind: str = Field(description="the kind of event it last sent")
    messages: int
    battery: Number | None
    linkquality: Number | None
    availability: str | None


class HistoryPoint(Out):
    at: Timestamp
    battery: Number | None
    linkquality: Number | None
    availability: str | None
    current: bool = Field(description="the device's current status (the last point), not a sample")


class DeviceHistory(Out):
    device_id: str
    from_: Timestamp = Field(alias="from")
    to: Timestamp
    days: int
    last_seen: Timestamp | None
    low_battery_pct: Number
    points: list[HistoryPoint] = Field(description="oldest first")


class LineError(Out):
    line: int = Field(description="the line of the CSV (the header is line 1)")
    error: str


class ImportReport(Out):
    created: int
    updated: int
    errors: list[LineError] = Field(description="rows skipped, each with why")


class Z2mEntry(Out):
    """One entry of Zigbee2MQTT's list, as imported or skipped. Which keys it has depends on how
    far it got: every entry has ``index``, ``device_id`` and ``ieee_address``; a skipped one its
    ``reason``; one with a model its model, vendor, type, power source and kind."""

    index: int = Field(description="its position in the list sent")
    device_id: str | None
    ieee_address: str | None
    reason: str | Absent = absent("skipped: coordinator, unsupported, interview_incomplete, disabled, "
                                  "invalid_name, duplicate, no_model, unchanged, not_an_object")
    model_id: Any = absent("unsupported, interview_incomplete: as Zigbee2MQTT sent it")
    manufacturer: Any = absent("unsupported, interview_incomplete: as Zigbee2MQTT sent it")
    model: str | Absent = absent()
    vendor: Any = absent("as Zigbee2MQTT sent it")
    type: Any = absent("as Zigbee2MQTT sent it (EndDevice, Router, ...)")
    power_source: Any = absent("as Zigbee2MQTT sent it")
    kind_from: str | None = absent("where the kind was guessed from: model, exposes, or null")
    kind: str | Absent = absent("the registry's kind")
    mains: bool | Absent = absent("the supervision profile expects mains power")
    notes: list[str] | Absent = absent("kind_unknown, kind_kept, power_source_mismatch")
    changes: list[str] | Absent = absent("updated: the fields changed (model, kind)")


class Z2mCounts(Out):
    created: int
    updated: int
    skipped: int


class Z2mImport(Out):
    created: list[Z2mEntry]
    updated: list[Z2mEntry]
    skipped: list[Z2mEntry]
    counts: Z2mCounts
