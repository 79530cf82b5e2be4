"""Decode rtl_433's JSON events as rtl_433 publishes them to MQTT.

rtl_433 (``-F mqtt://host:1883``) publishes every decoded radio packet as one JSON object on
``rtl_433/<hostname>/events`` (the ``events=`` option of its MQTT output; ``<base>`` here is the part
before ``/<hostname>``, ``rtl_433`` by default). Its other topics, ``<base>/<hostname>/states`` (its
own statistics) and ``<base>/<hostname>/devices/...`` (one topic per field), are ignored: the events
topic carries the same data whole.

A payload looks like (rtl_433's MQTT output is compact JSON; ``time`` is local time without a zone
unless rtl_433 runs with ``-M time:iso:utc`` or ``-M time:unix``)::

    {"time":"2023-02-28 16:56:32","model":"Govee-Water","id":56948,"event":"Water Leak",
     "code":"218b04040750","mic":"PARITY"}

What this decoder does about rtl_433's habits:

- **Device id.** ``rtl433/<model>[/<channel>]/<id>``, each part as rtl_433 prints it (numbers in
  decimal, as in rtl_433's own ``devices`` topics), characters outside ``[A-Za-z0-9_.:-]`` replaced
  by ``_``; e.g. ``rtl433/Govee-Water/56948``, ``rtl433/Honeywell-Security/8/123456``. A packet
  without ``id`` names the model (and channel) only.
- **Repeats.** Radio sensors send each packet several times, and rtl_433 publishes each copy it
  decodes. A packet identical to the device's previous one (ignoring ``time``, ``rssi``, ``snr``,
  ``noise``, ``freq*``, ``mod``, ``protocol`` and ``rfi``) within :data:`DUPLICATE_WINDOW` gives no
  events. Kept in memory per device.
- **States.** Per the model table (:mod:`device_adapters.rtl433_models`), level fields fire on their
  rising edge only, with restores (``tamper`` 0 after 1 → ``tamper_cleared``, ``battery_ok`` back up
  → ``battery_ok``, a leak sensor dry after wet → ``leak_cleared``), remembered per device in memory.
  After a restart a still-active condition is raised once more; the gateway's open-alarm key absorbs
  that.
- **Unknown models** get the generic profile (``tamper``, ``battery_ok``, ``heartbeat``); a packet
  that raises nothing is one ``telemetry`` event with the whole reading, so the device is recorded as
  seen. ``model_lookup(device_id)`` (the device registry) may name a profile for a device, e.g. the
  role profile ``rtl433-leak`` for a flood sensor whose ``alarm`` bit is the leak.
- **Retained** messages (``retain=1`` in rtl_433's output) are old packets: telemetry only, and they
  do not touch the remembered states.
- **Time.** ``time`` is used when it carries a zone (ISO 8601 with ``Z`` or an offset) or is Unix
  seconds, and lies within 7 days before / 60 s after the receive time; otherwise the receive time.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from device_adapters.common import as_utc, load_json
from device_adapters.events import DecodeError, DeviceEvent, EventKind
from device_adapters.rtl433_models import (
    ALARM_DEVICE_KINDS,
    ROLE_KINDS,
    RTL433_MODELS,
    Rtl433Profile,
    Rtl433Rule,
    rtl433_profile_for,
    same_value,
)
from device_adapters.zigbee2mqtt_models import Trigger

SOURCE = "rtl_433"
DEVICE_PREFIX = "rtl433"
DUPLICATE_WINDOW = timedelta(seconds=2)
MAX_TRACKED_DEVICES = 100_000
DEVICE_ID_MAX = 128  # what the gateway stores as a device id (as for Zigbee2MQTT names)
PART_MAX = 64

# Radio metadata rtl_433 adds (-M level, -M protocol, -M time): not part of what the sensor said.
META_FIELDS = frozenset({"time", "protocol", "mod", "freq", "freq1", "freq2", "rssi", "snr", "noise", "rfi"})
_IGNORED_LEAVES = frozenset({"states"})
_TIME_FUTURE = timedelta(seconds=60)
_TIME_PAST = timedelta(days=7)
_PART_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.:-")

ModelLookup = Callable[[str], "str | None"]
KindLookup = Callable[[str], "str | None"]


@dataclass(slots=True)
class _Level:
    active: bool
    at: datetime
    episode: Any = None


@dataclass(slots=True)
class _DeviceMemory:
    levels: dict[str, _Level] = field(default_factory=dict)
    last_signature: str | None = None
    last_at: datetime | None = None


def _part(value: Any, name: str) -> str:
    t = type(value)
    if t is int:
        text = str(value)
    elif t is str:
        text = value.strip()
    else:
        raise DecodeError("wrong_type", f"{name} must be a string or an integer, got {t.__name__}")
    if not text:
        raise DecodeError("bad_value", f"{name} is empty")
    if len(text) > PART_MAX:
        raise DecodeError("bad_device_id", f"{name} is {len(text)} characters, limit {PART_MAX}")
    return "".join(c if c in _PART_CHARS else "_" for c in text)


def device_id_for(obj: Mapping[str, Any]) -> str:
    """``rtl433/<model>[/<channel>]/<id>`` for one decoded packet. Raises :class:`DecodeError`."""
    if "model" not in obj:
        raise DecodeError("missing_field", "model is required")
    if type(obj["model"]) is not str:
        raise DecodeError("wrong_type", f"model must be a string, got {type(obj['model']).__name__}")
    parts = [DEVICE_PREFIX, _part(obj["model"], "model")]
    if obj.get("channel") is not None:
        parts.append(_part(obj["channel"], "channel"))
    if obj.get("id") is not None:
        parts.append(_part(obj["id"], "id"))
    device_id = "/".join(parts)
    if len(device_id) > DEVICE_ID_MAX:
        raise DecodeError("bad_device_id", f"device id is {len(device_id)} characters, limit {DEVICE_ID_MAX}")
    return device_id


def parse_time(value: Any, received_at: datetime) -> datetime | None:
    """rtl_433's ``time`` when it can be trusted (zone given, or Unix seconds, and near the receive
    time); None otherwise. The default ``"2023-02-28 16:56:32"`` is local time of unknown zone."""
    t = type(value)
    if t is int or t is float:
        value = str(value)
    elif t is not str or not value:
        return None
    try:
        if value[0].isdigit() and all(c.isdigit() or c == "." for c in value) and value.count(".") <= 1:
            at = datetime.fromtimestamp(float(value), UTC)
        else:
            text = value[:-1] + "+00:00" if value.endswith("Z") else value
            at = datetime.fromisoformat(text)
            if at.tzinfo is None:
                return None
            at = as_utc(at)
    except (ValueError, OverflowError, OSError):
        return None
    if received_at - _TIME_PAST <= at <= received_at + _TIME_FUTURE:
        return at
    return None


def _signature(obj: Mapping[str, Any]) -> str:
    return json.dumps({k: v for k, v in obj.items() if k not in META_FIELDS}, sort_keys=True, default=str)


class Rtl433Decoder:
    """Stateful decoder for one rtl_433 base topic. Thread-safe.

    ``model_lookup(device_id) -> profile name | None`` lets the device registry pick a profile for a
    device (any model name of the table); when it names nothing the table knows, the packet's
    ``model`` picks it, else the generic profile applies. A role name (``rtl433-sos``,
    ``rtl433-leak``, ...) gives the device that kind.

    ``kind_lookup(device_id) -> kind | None`` is the registry's kind of a device (``sos``, ``fall``,
    ``leak``, ``smoke``, ``gas``, ``door``, ``motion``...): the rows of the table bound to a kind
    apply to it. For a model with a ``button_field`` (fixed-code remotes), the registry may also
    know one button alone, as ``<device id>/<field>=<value>`` (``rtl433/Generic-Remote/5069/cmd=48``);
    the events of that button then carry that id and its kind.
    """

    def __init__(
        self,
        base: str = "rtl_433",
        model_lookup: ModelLookup | None = None,
        models: Mapping[str, Rtl433Profile] = RTL433_MODELS,
        *,
        kind_lookup: KindLookup | None = None,
        duplicate_window: timedelta = DUPLICATE_WINDOW,
        max_devices: int = MAX_TRACKED_DEVICES,
    ) -> None:
        base = base.strip("/")
        if not base or "+" in base or "#" in base:
            raise ValueError(f"bad rtl_433 base topic {base!r}")
        self.base = base
        self.prefix = base + "/"
        self._model_lookup = model_lookup
        self._kind_lookup = kind_lookup
        self._models = models
        self._window = duplicate_window
        self._max_devices = max_devices
        self._memory: dict[str, _DeviceMemory] = {}
        self._lock = threading.Lock()

    def subscriptions(self) -> list[str]:
        return [f"{self.base}/+/events"]

    def forget(self, device_id: str | None = None) -> None:
        """Drop the remembered state of one device (or of all)."""
        with self._lock:
            if device_id is None:
                self._memory.clear()
            else:
                self._memory.pop(device_id, None)

    def decode(self, topic: str, payload: bytes, received_at: datetime, *, retained: bool = False) -> list[DeviceEvent]:
        """Events for one message under the base topic (``[]``: nothing to do)."""
        if not topic.startswith(self.prefix):
            raise DecodeError("unknown_topic", f"{topic[:200]!r} is not under {self.prefix}")
        rest = topic[len(self.prefix) :].split("/")
        if len(rest) < 2 or not rest[0]:
            raise DecodeError("unknown_topic", f"{topic[:200]!r} is not {self.prefix}<host>/events")
        if (len(rest) == 2 and rest[1] in _IGNORED_LEAVES) or rest[1] == "devices":
            return []  # rtl_433's statistics and per-field topics: the events topic has it all
        if len(rest) != 2 or rest[1] != "events":
            raise DecodeError("unknown_topic", f"{topic[:200]!r} is not {self.prefix}<host>/events")
        if not payload.strip():
            return []  # a retained message being cleared
        obj = load_json(payload)
        if type(obj) is not dict:
            raise DecodeError("wrong_type", f"payload must be a JSON object, got {type(obj).__name__}")
        if "model" not in obj:
            # rtl_433's own output: the periodic statistics (-M stats), and any other line without a
            # device. rtl_433's MQTT output sends these to its "states" topic; a pipe
            # (rtl_433 -F json | mosquitto_pub -l) puts them here. Not an event, not an error.
            return []
        return self.decode_reading(obj, as_utc(received_at), retained=retained)

    def decode_reading(
        self, obj: dict[str, Any], received_at: datetime, *, retained: bool = False
    ) -> list[DeviceEvent]:
        """Events for one decoded packet (the JSON object rtl_433 printed)."""
        device_id = device_id_for(obj)
        model = obj["model"]
        profile, device_kind, known = self._profile(device_id, model)
        event_id = device_id
        if profile.button_field is not None and obj.get(profile.button_field) is not None:
            try:
                button = f"{device_id}/{profile.button_field}={_part(obj[profile.button_field], profile.button_field)}"
            except DecodeError:
                button = None
            button_kind = self._kind(button) if button is not None and len(button) <= DEVICE_ID_MAX else None
            if button is not None and button_kind is not None:
                event_id, device_kind, known = button, button_kind, True
        at = parse_time(obj.get("time"), received_at) or received_at
        events: list[DeviceEvent] = []
        kinds: set[EventKind] = set()

        def emit(kind: EventKind, value: Any, raw: dict[str, Any] | None = None) -> None:
            if kind not in kinds:
                kinds.add(kind)
                events.append(
                    DeviceEvent(
                        device_id=event_id, kind=kind, at=at, source=SOURCE, raw=raw or obj, value=value, model=model
                    )
                )

        rules = profile.rules if known or not profile.needs_registry else ()
        if not retained:
            signature = _signature(obj)
            with self._lock:
                mem = self._memory_for(device_id)
                if (
                    mem.last_signature == signature
                    and mem.last_at is not None
                    and abs(received_at - mem.last_at) <= self._window
                ):
                    mem.last_at = received_at
                    return []
                mem.last_signature, mem.last_at = signature, received_at
                claimed: set[str] = set()
                for rule in rules:
                    f = rule.field
                    if f in claimed or f not in obj or obj[f] is None or not rule.applies(obj, device_kind):
                        continue
                    if self._apply(rule, obj, mem, received_at, emit):
                        claimed.add(f)
                code_field = profile.code_field
                if (
                    device_kind in ALARM_DEVICE_KINDS
                    and code_field is not None
                    and code_field not in claimed
                    and obj.get(code_field) is not None
                    and not same_value(obj[code_field], profile.quiet_codes)
                ):
                    # Fail open: an alarm device said something this table does not know.
                    reason = f"{model} {code_field} {obj[code_field]!r} is not known for a {device_kind} device"
                    emit(EventKind.UNKNOWN_ALARM, obj[code_field], {**obj, "reason": reason[:200]})
        if not events:
            events.append(
                DeviceEvent(device_id=event_id, kind=EventKind.TELEMETRY, at=at, source=SOURCE, raw=obj, model=model)
            )
        return events

    # -- helpers -----------------------------------------------------------------------------

    def _kind(self, device_id: str) -> str | None:
        if self._kind_lookup is None:
            return None
        return self._kind_lookup(device_id) or None

    def _profile(self, device_id: str, model: str) -> tuple[Rtl433Profile, str | None, bool]:
        """The profile that decodes this device, the registry's kind of it, and whether the
        registry knows it at all (by kind or model)."""
        kind = self._kind(device_id)
        named = self._model_lookup(device_id) if self._model_lookup is not None else None
        known = kind is not None or bool(named)
        if named is not None and kind is None:
            kind = ROLE_KINDS.get(named)
        if named is not None and named in self._models and named not in ROLE_KINDS:
            return self._models[named], kind, known
        return rtl433_profile_for(model, self._models), kind, known

    def _memory_for(self, device_id: str) -> _DeviceMemory:
        mem = self._memory.get(device_id)
        if mem is None:
            if len(self._memory) >= self._max_devices:
                self._memory.pop(next(iter(self._memory)))
            mem = self._memory[device_id] = _DeviceMemory()
        return mem

    @staticmethod
    def _apply(
        rule: Rtl433Rule,
        obj: dict[str, Any],
        mem: _DeviceMemory,
        now: datetime,
        emit: Callable[[EventKind, Any], None],
    ) -> bool:
        """Apply one row; False when the field's value says nothing to it."""
        value = obj[rule.field]
        state = rule.state(value)
        if state is None:
            return False
        if rule.trigger is Trigger.MOMENTARY:
            emit(rule.kind, rule.event_value(value))
            return True
        key = rule.key
        before = mem.levels.get(key)
        if state:
            episode = obj.get(rule.episode_field) if rule.episode_field is not None else None
            fire = (
                before is None
                or not before.active
                or (rule.rearm_after is not None and now - before.at > rule.rearm_after)
                or (episode is not None and before.episode is not None and episode != before.episode)
            )
            mem.levels[key] = _Level(True, now, episode)
            if fire:
                emit(rule.kind, rule.event_value(value))
            return True
        mem.levels[key] = _Level(False, now)
        if rule.clear_kind is not None and (
            (before is not None and before.active) or (before is None and rule.clear_on_first)
        ):
            emit(rule.clear_kind, rule.event_value(value) if rule.value_percent else value)
        return True


__all__ = [
    "DUPLICATE_WINDOW",
    "SOURCE",
    "Rtl433Decoder",
    "device_id_for",
    "parse_time",
]
