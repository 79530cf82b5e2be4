"""The device fleet (issue 4, provisioning): each registered device's state as the fleet page
shows it, the model view, CSV in and out, and the import of Zigbee2MQTT's device list.

- A device's state is one of ``offline``, ``tamper``, ``low_battery``, ``power_lost``, ``ok``
  (in that precedence), with ``flags`` listing every one that applies. It is computed from the
  registry, ``device_status``, ``device_supervision`` and the active orders, read for the whole
  fleet in a few statements (``gateway.storage.fleet``).
- The kind of a device imported from Zigbee2MQTT is guessed from data: the model table's rules
  (``device_adapters.zigbee2mqtt_models``) for a known model, else the properties its definition exposes.
"""

from __future__ import annotations

import csv
import io
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from fastapi import HTTPException
from sqlmodel import Session, col, select

from device_adapters.events import EventKind
from device_adapters.zigbee2mqtt_models import GENERIC, KNOWN_MODELS, MODELS, ModelProfile, Trigger
from gateway.clock import iso
from gateway.domain.supervision import BATTERY, DEFAULT, KIND_PROFILES, MAINS, MODEL_PROFILES, POWER_DELAY, Profile
from gateway.storage import fleet as store
from gateway.storage.models import Device, DeviceStatus, Home

DEVICE_ID = r"^[^\x00-\x1f#+]{1,128}$"  # anything a Zigbee2MQTT friendly name may be, not MQTT wildcards
DEVICE_ID_RE = re.compile(DEVICE_ID)

# --- state ----------------------------------------------------------------------------------

LOW_BATTERY_PCT = 10.0  # at or below: low battery, whether or not the device says so itself
OK = "ok"
# Precedence: the first flag that applies is the device's state.
FLAGS = ("offline", "tamper", "low_battery", "power_lost")
STATES = (*FLAGS, OK)


def flags_for(*, supervision: str | None, availability: str | None, battery: float | None, power: str | None,
              order_kinds: Iterable[str]) -> list[str]:
    """Every state that applies to a device, in precedence order."""
    kinds = set(order_kinds)
    flags: list[str] = []
    if supervision == "offline" or availability == "offline":
        flags.append("offline")
    if "tamper" in kinds:
        flags.append("tamper")
    if "battery_low" in kinds or (battery is not None and battery <= LOW_BATTERY_PCT):
        flags.append("low_battery")
    if power == "lost":
        flags.append("power_lost")
    return flags


def state_of(flags: list[str]) -> str:
    return flags[0] if flags else OK


def profile_for_device(kind: str | None, model: str | None) -> tuple[Profile, str]:
    """The supervision profile of a device and where it comes from: model, kind or default."""
    if model and model in MODEL_PROFILES:
        return MODEL_PROFILES[model], "model"
    if kind and kind in KIND_PROFILES:
        return KIND_PROFILES[kind], "kind"
    return DEFAULT, "default"


def _fleet_row(r: Any, orders: list[Any]) -> dict[str, Any]:
    flags = flags_for(supervision=r.supervision, availability=r.availability, battery=r.battery, power=r.power,
                      order_kinds=(o.kind for o in orders))
    profile, _ = profile_for_device(r.kind, r.model)
    return {
        "device_id": r.device_id,
        "home_id": r.home_id,
        "resident": r.resident,
        "address": r.address,
        "grid": r.grid,
        "kind": r.kind,
        "model": r.model,
        "mains": profile.mains,
        "last_seen": iso(r.last_seen),
        "last_kind": r.last_kind,
        "battery": r.battery,
        "linkquality": r.linkquality,
        "availability": r.availability,
        "power": r.power,
        "power_changed_at": iso(r.power_changed_at),
        "deadline_at": iso(r.deadline_at),
        "supervision": r.supervision,
        "offline_since": iso(r.offline_since),
        "offline_reason": r.offline_reason,
        "state": state_of(flags),
        "flags": flags,
        "orders": [{"id": o.id, "kind": o.kind, "status": o.status, "priority": o.priority,
                    "opened_at": iso(o.opened_at)} for o in orders],
    }


def fleet_devices(session: Session, *, grid: str | None = None, home_id: str | None = None,
                  device_id: str | None = None) -> list[dict[str, Any]]:
    """Registered devices with their state: two statements whatever the size of the fleet."""
    rows = store.fleet_rows(session, grid=grid, home_id=home_id, device_id=device_id)
    by_device: dict[str, list[Any]] = defaultdict(list)
    for o in store.active_orders(session, grid=grid, home_id=home_id, device_id=device_id):
        by_device[o.device_id].append(o)
    return [_fleet_row(r, by_device.get(r.device_id, [])) for r in rows]


def fleet(session: Session, *, now: datetime, grid: str | None = None, home_id: str | None = None,
          state: str | None = None, limit: int = 10000, offset: int = 0) -> dict[str, Any]:
    """The fleet page's answer. ``state`` picks the devices with that flag (``ok``: none);
    ``counts`` are over the grid and home chosen, before the state filter."""
    devices = fleet_devices(session, grid=grid, home_id=home_id)
    counts = {"all": len(devices), **{s: 0 for s in STATES}}
    for d in devices:
        for flag in d["flags"] or [OK]:
            counts[flag] += 1
    if state:
        devices = [d for d in devices if (state in d["flags"]) or (state == OK and not d["flags"])]
    return {
        "now": iso(now),
        "total": len(devices),
        "counts": counts,
        "grids": store.device_grids(session),
        "low_battery_pct": LOW_BATTERY_PCT,
        "devices": devices[offset:offset + limit],
    }


# --- history --------------------------------------------------------------------------------


def device_history(session: Session, *, device_id: str, days: int, now: datetime) -> dict[str, Any]:
    """Readings sampled by supervision over the last ``days`` days, oldest first, with the
    device's current status as the last point (``current: true``, at ``now``)."""
    since = now - timedelta(days=days)
    points = [{"at": iso(h.at), "battery": h.battery, "linkquality": h.linkquality,
               "availability": h.availability, "current": False}
              for h in store.history(session, device_id=device_id, since=since)]
    status = session.get(DeviceStatus, device_id)
    if status is not None and status.last_seen is not None:
        points.append({"at": iso(now), "battery": status.battery, "linkquality": status.linkquality,
                       "availability": status.availability, "current": True})
    return {"device_id": device_id, "from": iso(since), "to": iso(now), "days": days,
            "last_seen": iso(status.last_seen) if status else None, "low_battery_pct": LOW_BATTERY_PCT,
            "points": points}


# --- CSV ------------------------------------------------------------------------------------

_FORMULA = ("=", "+", "-", "@", "\t", "\r", "'")


def csv_cell(value: Any) -> str:
    """A CSV cell. Text a spreadsheet would run as a formula gets a leading ``'`` (as do cells
    that start with ``'`` themselves, so that :func:`csv_uncell` gives back exactly the value)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value)
    return "'" + text if text[:1] in _FORMULA else text


def csv_uncell(text: str) -> str:
    """The value of a cell as :func:`csv_cell` wrote it (or as a person typed it)."""
    text = text.strip()
    if text[:1] == "'" and text[1:2] and text[1] in _FORMULA:
        return text[1:]
    return text


def csv_rows(text: str, *, fields: tuple[str, ...], required: tuple[str, ...]) -> Iterator[tuple[int, dict[str, str]]]:
    """(line, row) pairs, each row with the known columns the header has (unquoted: see
    :func:`csv_uncell`); blank lines are skipped. A 422 when a required column is missing."""
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip() for h in (reader.fieldnames or [])]
    reader.fieldnames = header
    missing = [f for f in required if f not in header]
    if missing:
        raise HTTPException(422, f"CSV header must include {', '.join(required)} (columns: {', '.join(fields)}); "
                                 f"missing: {', '.join(missing)}")
    present = [f for f in fields if f in header]

    def rows() -> Iterator[tuple[int, dict[str, str]]]:
        for row in reader:
            if not any((v or "").strip() for v in row.values() if isinstance(v, str)):
                continue  # a blank line
            yield reader.line_num, {f: csv_uncell(row.get(f) or "") for f in present}

    return rows()


# --- kinds from the model table and from Zigbee2MQTT's exposes ---------------------------------


@dataclass(frozen=True, slots=True)
class KindRule:
    """A device exposing ``field`` (with one of ``values``, if given) is of ``kind``."""

    field: str
    kind: str
    values: tuple[Any, ...] = ()


# First match wins: an alarm outranks an activity sensor (a fall radar also reports presence).
KIND_BY_EVENT: tuple[tuple[EventKind, str], ...] = (
    (EventKind.FALL, "fall"),
    (EventKind.SOS, "sos"),
    (EventKind.LEAK, "leak"),
    (EventKind.FIRE, "smoke"),
    (EventKind.GAS, "gas"),
    (EventKind.CO, "co"),
)
KIND_BY_FIELD: tuple[KindRule, ...] = (
    KindRule("fall_down_status", "fall"),
    KindRule("fall", "fall"),
    KindRule("sos", "sos"),
    KindRule("action", "sos", ("emergency", "sos", "panic")),
    KindRule("water_leak", "leak"),
    KindRule("presence", "presence"),
    KindRule("occupancy", "motion"),
    KindRule("contact", "door"),
)


def _match_fields(fields: Iterable[tuple[str, tuple[Any, ...]]]) -> str | None:
    exposed: dict[str, set[Any]] = defaultdict(set)
    for name, values in fields:
        exposed[name].update(v for v in values if isinstance(v, str | int | float | bool))
    for rule in KIND_BY_FIELD:
        if rule.field in exposed and (not rule.values or exposed[rule.field] & set(rule.values)):
            return rule.kind
    return None


def kind_from_model(profile: ModelProfile) -> str | None:
    """A known model's kind: the alarm its rules raise, else what its fields are."""
    events = {r.kind for r in profile.rules}
    for event, kind in KIND_BY_EVENT:
        if event in events:
            return kind
    return _match_fields((r.field, r.values) for r in profile.rules)


def _exposed(exposes: Any) -> Iterator[tuple[str, tuple[Any, ...]]]:
    """(property, values) of every expose and nested feature of a Zigbee2MQTT definition."""
    if not isinstance(exposes, list):
        return
    for item in exposes:
        if not isinstance(item, dict):
            continue
        name = item.get("property") or item.get("name")
        if isinstance(name, str):
            values = item.get("values")
            yield name, tuple(values) if isinstance(values, list) else ()
        yield from _exposed(item.get("features"))


def kind_from_exposes(exposes: Any) -> str | None:
    return _match_fields(_exposed(exposes))


def guess_kind(model: str | None, exposes: Any) -> tuple[str | None, str | None]:
    """(kind, where from: ``model_table`` | ``exposes``), or (None, None)."""
    profile = MODELS.get(model or "")
    if profile is not None:
        kind = kind_from_model(profile)
        if kind:
            return kind, "model_table"
    kind = kind_from_exposes(exposes)
    return (kind, "exposes") if kind else (None, None)


def mains_from_power_source(power_source: Any) -> bool | None:
    """Zigbee2MQTT's ``power_source`` (zigbee-herdsman's names): True for mains or DC, False for
    battery, None when unknown."""
    if not isinstance(power_source, str):
        return None
    text = power_source.lower()
    if text.startswith("battery"):
        return False
    if text.startswith(("mains", "dc source", "emergency mains")):
        return True
    return None


# --- the models view ------------------------------------------------------------------------


def _profile_json(profile: Profile, source: str) -> dict[str, Any]:
    return {"interval_s": int(profile.interval.total_seconds()), "grace_s": int(profile.grace.total_seconds()),
            "mains": profile.mains, "from": source}


def _model_json(p: ModelProfile, decoder: str) -> dict[str, Any]:
    kind = kind_from_model(p) if decoder == "model" else None
    profile, source = profile_for_device(kind, p.model)
    below = [r.threshold for r in p.rules if r.trigger is Trigger.BELOW and r.field == "battery"]
    return {
        "model": p.model,
        "vendor": p.vendor,
        "description": p.description,
        "aliases": list(p.aliases),
        "decoder": decoder,  # "model": its own rows; "generic": the generic rows
        "kind": kind,
        "events": sorted({r.kind.value for r in p.rules} | {r.clear_kind.value for r in p.rules if r.clear_kind}),
        "fields": [{"field": r.field, "event": r.kind.value, "trigger": r.trigger.value, "values": list(r.values),
                    "clear_event": r.clear_kind.value if r.clear_kind else None, "threshold": r.threshold}
                   for r in p.rules],
        "battery": {"reports_low": any(r.field == "battery_low" for r in p.rules),
                    "low_below_pct": below[0] if below else None},
        "supervision": _profile_json(profile, source),
    }


def models_view() -> dict[str, Any]:
    """Every known model: the fields it understands, its kind, its supervision profile and its
    battery thresholds; then the models supervision knows but the decoder reads with the
    generic rows; the per-kind profiles; and the generic rows."""
    models = [_model_json(p, "model") for p in KNOWN_MODELS]
    known = {name for p in KNOWN_MODELS for name in (p.model, *p.aliases)}
    for name in sorted(MODEL_PROFILES):
        if name not in known:
            generic = ModelProfile(model=name, vendor="", description="", rules=GENERIC.rules)
            models.append(_model_json(generic, "generic"))
    return {
        "models": models,
        "kinds": [{"kind": k, **_profile_json(p, "kind")} for k, p in KIND_PROFILES.items()],
        "default": _profile_json(DEFAULT, "default"),
        "mains": _profile_json(MAINS, "mains"),
        "battery": _profile_json(BATTERY, "battery"),
        "generic": _model_json(GENERIC, "generic"),
        "power_delay_s": int(POWER_DELAY.total_seconds()),
        "low_battery_pct": LOW_BATTERY_PCT,
    }


# --- Zigbee2MQTT's bridge/devices -------------------------------------------------------------


def _skip(out: dict[str, list[dict[str, Any]]], base: dict[str, Any], reason: str, **detail: Any) -> None:
    out["skipped"].append({**base, "reason": reason, **detail})


def import_z2m(session: Session, entries: list[Any], *, now: datetime) -> dict[str, list[dict[str, Any]]]:
    """Create or update registry entries from the list Zigbee2MQTT publishes, retained, on
    ``<base>/bridge/devices``: device id = ``friendly_name``, model = ``definition.model``,
    kind guessed (:func:`guess_kind`) for new devices and for registered ones without a kind.
    The coordinator, disabled, unsupported and not yet interviewed devices are skipped, each
    with its reason. The caller commits."""
    out: dict[str, list[dict[str, Any]]] = {"created": [], "updated": [], "skipped": []}
    names = [e["friendly_name"] for e in entries if isinstance(e, dict) and isinstance(e.get("friendly_name"), str)]
    existing = {d.device_id: d for d in session.exec(select(Device).where(col(Device.device_id).in_(names)))}
    seen: set[str] = set()
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict):
            _skip(out, {"index": index, "device_id": None, "ieee_address": None}, "not_an_object")
            continue
        name, ieee = entry.get("friendly_name"), entry.get("ieee_address")
        base = {"index": index, "device_id": name if isinstance(name, str) else None,
                "ieee_address": ieee if isinstance(ieee, str) else None}
        if entry.get("type") == "Coordinator":
            _skip(out, base, "coordinator")
            continue
        if not isinstance(name, str) or not DEVICE_ID_RE.fullmatch(name):
            _skip(out, base, "invalid_name")
            continue
        if name in seen:
            _skip(out, base, "duplicate")
            continue
        seen.add(name)
        if entry.get("disabled") is True:
            _skip(out, base, "disabled")
            continue
        definition = entry.get("definition")
        if not isinstance(definition, dict) or entry.get("supported") is False:
            reason = "interview_incomplete" if entry.get("interview_completed") is False else "unsupported"
            _skip(out, base, reason, model_id=entry.get("model_id"), manufacturer=entry.get("manufacturer"))
            continue
        model = definition.get("model")
        if not isinstance(model, str) or not model.strip() or len(model) > 64:
            _skip(out, base, "no_model")
            continue
        kind, kind_from = guess_kind(model, definition.get("exposes"))
        power_source = entry.get("power_source")
        report = {**base, "model": model, "vendor": definition.get("vendor"), "type": entry.get("type"),
                  "power_source": power_source, "kind_from": kind_from}
        notes: list[str] = []
        device = existing.get(name)
        if device is None:
            device = Device(device_id=name, model=model, kind=kind or "", created_at=now, updated_at=now)
            session.add(device)
            changes: list[str] = []
            if kind is None:
                notes.append("kind_unknown")
        else:
            changes = []
            if device.model != model:
                device.model = model
                changes.append("model")
            if kind and not device.kind:
                device.kind = kind
                changes.append("kind")
            elif kind and device.kind != kind:
                notes.append("kind_kept")  # the registry's kind is an admin's choice
        profile, _ = profile_for_device(device.kind, device.model)
        mains = mains_from_power_source(power_source)
        if mains is not None and mains != profile.mains:
            notes.append("power_source_mismatch")  # the supervision profile expects the other
        report.update(kind=device.kind, mains=profile.mains, notes=notes)
        if name not in existing:
            out["created"].append(report)
        elif changes:
            device.updated_at = now
            session.add(device)
            out["updated"].append({**report, "changes": changes})
        else:
            _skip(out, report, "unchanged")
    session.flush()
    return out


# --- homes ----------------------------------------------------------------------------------

HOME_COPIES = ("resident", "address", "grid")  # copied from a home onto each of its devices


def copy_from_home(device: Device, home: Home) -> None:
    """Give a device its home's resident, address and grid (the alarm path reads them there)."""
    for name in HOME_COPIES:
        setattr(device, name, getattr(home, name))


def save_home(session: Session, *, home: Home, now: datetime) -> int:
    """Store a home and bring the copies on its devices up to date, in the caller's
    transaction; answer how many devices changed."""
    home.updated_at = now
    session.add(home)
    session.flush()
    return store.copy_home_onto_devices(session, home_id=home.home_id, resident=home.resident,
                                        address=home.address, grid=home.grid, now=now)
