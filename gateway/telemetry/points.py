"""Device events as InfluxDB line protocol. Pure: no I/O, no clock, no globals that change.

Two measurements:

``device_event``: one point for every event.
    tags   ``device_id``, ``kind``, ``source``, ``model`` (left out when the event has none)
    fields ``count=1i``; ``value`` (float) when the event's value is a number or a bool (1/0);
           ``value_text`` (string) when it is a string (``"online"``, ``"emergency"``). Numbers and
           strings go to different field keys because InfluxDB refuses a field whose type changes.

``device_reading``: the readings found in the event's ``raw`` (battery, link quality,
temperature, presence ...), one float field per reading, as listed in :data:`READINGS`.
    tags   ``device_id``, ``source``, ``model`` (when known)

Timestamps are the event's ``at`` in **milliseconds** since the Unix epoch (write precision
``ms``): device clocks report seconds or milliseconds, Zigbee2MQTT's ``last_seen`` is in
milliseconds, and VictoriaMetrics stores milliseconds. Two events of one device with the same
kind, source and model in the same millisecond are one point in InfluxDB (the later one wins).

Escaping follows the line protocol (and influxdb_client's ``Point``): in tag values ``,``, ``=``
and space are backslash-escaped, newline/tab/CR become ``\\n``/``\\t``/``\\r``, and a value ending
in a backslash gets a trailing space so it cannot escape the separator after it; in string fields
``"`` and ``\\`` are escaped and control characters become spaces. Empty tag values are left out.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from device_adapters.events import DeviceEvent

EVENT_MEASUREMENT = "device_event"
READING_MEASUREMENT = "device_reading"
TAG_MAX = 256  # characters kept of a tag value
TEXT_MAX = 256  # characters kept of a string field

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)


@dataclass(frozen=True, slots=True)
class Reading:
    """A field of a device's raw reading that is written as a number.

    ``boolean`` readings (presence, contact ...) are written as 1/0; they accept JSON booleans
    and the numbers 0 and 1 (serial receivers send ``presence=1``). The others accept numbers,
    not booleans. The field keeps its raw name; ``unit`` is documentation (Zigbee2MQTT's units).
    """

    key: str
    unit: str
    boolean: bool = False


# Zigbee2MQTT's property names, the native firmware's ``data`` keys and rtl_433's field names.
READINGS: tuple[Reading, ...] = (
    Reading("battery", "%"),
    Reading("battery_low", "bool", boolean=True),
    Reading("battery_ok", "1 ok, 0 low; rtl_433 sends a fraction for some devices"),
    Reading("battery_mV", "mV"),
    Reading("voltage", "mV"),
    Reading("linkquality", "lqi 0-255"),
    Reading("rssi", "dBm (rtl_433: dB)"),
    Reading("snr", "dB"),
    Reading("noise", "dB"),
    Reading("temperature", "°C"),
    Reading("temperature_C", "°C"),
    Reading("humidity", "%"),
    Reading("pressure", "hPa"),
    Reading("illuminance", "lx"),
    Reading("illuminance_lux", "lx"),
    Reading("co2", "ppm"),
    Reading("power", "W"),
    Reading("energy", "kWh"),
    Reading("current", "A"),
    Reading("presence", "bool", boolean=True),
    Reading("occupancy", "bool", boolean=True),
    Reading("motion", "bool", boolean=True),
    Reading("contact", "bool", boolean=True),
    Reading("water_leak", "bool", boolean=True),
    Reading("smoke", "bool", boolean=True),
    Reading("tamper", "bool", boolean=True),
)

_READING_BY_KEY = {r.key: r for r in READINGS}

_TAG_ESCAPES = str.maketrans({
    ",": r"\,",
    "=": r"\=",
    " ": r"\ ",
    "\n": r"\n",
    "\t": r"\t",
    "\r": r"\r",
})
_STRING_ESCAPES = str.maketrans({'"': r"\"", "\\": r"\\", **{chr(c): " " for c in (*range(32), 127)}})


@functools.lru_cache(maxsize=8192)  # device ids, models and kinds repeat
def escape_tag(value: str) -> str:
    """A tag key or value, escaped for line protocol."""
    out = value[:TAG_MAX].translate(_TAG_ESCAPES)
    if out.endswith("\\"):
        out += " "  # as influxdb_client does: "a\" followed by "," would escape the comma
    return out


def escape_string(value: str) -> str:
    """A string field value, quoted and escaped."""
    return '"' + value[:TEXT_MAX].translate(_STRING_ESCAPES) + '"'


def timestamp_ms(at: datetime) -> int:
    """Milliseconds since the epoch, exactly (no float rounding). Naive datetimes are UTC."""
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return (at - _EPOCH) // _MS


def _number(value: Any) -> float | None:
    t = type(value)
    if t is bool:
        return 1.0 if value else 0.0
    if t is int or t is float:
        v = float(value)
        return v if math.isfinite(v) else None
    return None


def _reading(rule: Reading, value: Any) -> float | None:
    t = type(value)
    if rule.boolean:
        if t is bool:
            return 1.0 if value else 0.0
        if (t is int or t is float) and value in (0, 1):
            return float(value)
        return None
    if t is int or t is float:
        v = float(value)
        return v if math.isfinite(v) else None
    return None


def _float(v: float) -> str:
    s = repr(v)
    return s[:-2] if s.endswith(".0") else s  # 87.0 → 87: a number without "i" is a float anyway


def _tags(pairs: Iterable[tuple[str, str | None]]) -> str:
    """``,k=v`` for each pair with a non-empty value; keys are given in sorted order."""
    return "".join(f",{k}={escape_tag(v)}" for k, v in pairs if v)


def event_line(event: DeviceEvent) -> str:
    """The ``device_event`` point of one event."""
    tags = _tags((("device_id", event.device_id), ("kind", str(event.kind)), ("model", event.model),
                  ("source", event.source)))
    fields = "count=1i"
    value = event.value
    if type(value) is str:
        fields += f",value_text={escape_string(value)}"
    else:
        number = _number(value)
        if number is not None:
            fields += f",value={_float(number)}"
    return f"{EVENT_MEASUREMENT}{tags} {fields} {timestamp_ms(event.at)}"


def reading_line(event: DeviceEvent) -> str | None:
    """The ``device_reading`` point of one event's raw reading, or None when it has no readings."""
    raw = event.raw
    if not raw:
        return None
    fields = []
    for key, value in raw.items():
        rule = _READING_BY_KEY.get(key)
        if rule is not None:
            v = _reading(rule, value)
            if v is not None:
                fields.append(f"{key}={_float(v)}")
    if not fields:
        return None
    fields.sort()
    tags = _tags((("device_id", event.device_id), ("model", event.model), ("source", event.source)))
    return f"{READING_MEASUREMENT}{tags} {','.join(fields)} {timestamp_ms(event.at)}"


def points_for(events: Iterable[DeviceEvent]) -> list[str]:
    """Line-protocol lines (precision ms) for ``events``, in order, identical lines once.

    One Zigbee2MQTT message can yield several events (``leak`` and ``battery_low``) that share
    one raw reading: its ``device_reading`` line is written once.
    """
    lines: dict[str, None] = {}
    for event in events:
        lines[event_line(event)] = None
        reading = reading_line(event)
        if reading is not None:
            lines[reading] = None
    return list(lines)
