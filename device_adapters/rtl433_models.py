"""rtl_433 device knowledge as data: which field of a decoded radio packet means which event.

The same idea as :mod:`device_adapters.models` (Zigbee2MQTT): every known model is a
:class:`Rtl433Profile`, a list of :class:`Rtl433Rule` rows, and adding a model means adding a row to
:data:`KNOWN_RTL433_MODELS`, not writing code. Fields no rule mentions stay in the event's raw reading.

rtl_433 differs from Zigbee2MQTT in ways the rows must express, so the rule has a few more columns:

- Values are what rtl_433's JSON printer writes: integers ``0``/``1`` for flags (rtl_433 has no JSON
  booleans), strings such as ``"Water Leak"``, and doubles printed with three decimals.
- A field may hold values that say nothing about a state: a Govee sensor's ``event`` is
  ``"Water Leak"`` (wet), ``"Button Press"`` (dry: the sensor only sends it while dry),
  ``"Battery Report"`` or ``"Heartbeat"`` (neither). So a level rule lists the values that mean
  "on" (``values``) and those that mean "off" (``clear_values``); anything else is no news.
- ``battery_ok`` is ``1``/``0`` for most devices but a fraction (``0.950`` = 95 %) for some
  (Govee): a ``BELOW`` rule with a threshold covers both, and ``value_percent`` turns a fraction
  into the percentage the ``battery_low`` event carries.
- Some sensors never say that a condition ended (a Govee leak sensor stops repeating "Water Leak"
  once dry). ``rearm_after`` forgets an "on" state that has not been re-reported for that long, so
  the next report is a new event; ``episode_field`` names a counter (Govee's ``leak_num``) whose
  change also starts a new episode.

Facts used (read in merbanan/rtl_433, ``src/devices``):

- ``govee.c``: model ``Govee-Water`` (H5054, both decoders) publishes ``event`` = ``Button Press`` /
  ``Water Leak`` / ``Battery Report`` / ``Heartbeat`` (older boards) / ``Unknown``, ``battery_ok``
  (a double, only in battery reports), ``battery_mV``, ``detect_wet`` and ``leak_num`` (newer
  decoder), ``code``, ``mic``. A wet sensor repeats "Water Leak" while wet and sends nothing when it
  dries; "Button Press" is only sent while dry. ``Govee-Contact`` (B5023) sends ``event`` ``Open``
  and nothing on close.
- ``honeywell.c``: ``Honeywell-Security`` (5800 series, 2GIG DW10/DW11) publishes ``id``,
  ``channel``, ``state`` ``open``/``closed``, ``alarm``, ``tamper``, ``battery_ok`` (int) and
  ``heartbeat`` (int). What ``alarm`` means depends on the sensor (flood, panic, door), which the
  model name does not say: give such a device a role profile (``rtl433-leak``, ``rtl433-sos``) in the
  device registry.
- ``dsc.c``: ``DSC-Security`` publishes ``closed``, ``tamper``, ``battery_ok`` (ints), ``xactivity``,
  ``esn``, ``status``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from device_adapters.events import EventKind
from device_adapters.models import Trigger

__all__ = [
    "GENERIC_RTL433",
    "KNOWN_RTL433_MODELS",
    "RTL433_MODELS",
    "Rtl433Profile",
    "Rtl433Rule",
    "Trigger",
    "build_rtl433_table",
    "rtl433_profile_for",
]


def _same(value: Any, candidates: tuple[Any, ...]) -> bool:
    """Exact match, type included (``1`` is not ``True``); an int and a float compare by value,
    since rtl_433 prints some flags as doubles."""
    for c in candidates:
        if type(c) is type(value) and c == value:
            return True
        if type(c) in (int, float) and type(value) in (int, float) and c == value:
            return True
    return False


@dataclass(frozen=True, slots=True)
class Rtl433Rule:
    """One row: ``field`` holding one of ``values`` means ``kind``.

    - ``MOMENTARY``: every (non-duplicate) packet whose field is in ``values`` is a new event.
    - ``LEVEL``: ``values`` mean on, ``clear_values`` mean off, anything else is no news. ``kind``
      fires on entering on; ``clear_kind`` (if set) on on → off, and also on the first "off" this
      process sees of a device when ``clear_on_first`` is set.
    - ``BELOW``: a number below ``threshold`` means on, at or above it off.
    """

    field: str
    kind: EventKind
    trigger: Trigger = Trigger.LEVEL
    values: tuple[Any, ...] = (1,)
    clear_values: tuple[Any, ...] = (0,)
    clear_kind: EventKind | None = None
    clear_on_first: bool = False
    threshold: float | None = None
    value: Any = None
    """A fixed event value (e.g. ``"open"`` for a door); otherwise the field's own value."""
    value_percent: bool = False
    """The event value is the field × 100 when the field is a fraction (a double), else None."""
    rearm_after: timedelta | None = None
    episode_field: str | None = None

    def __post_init__(self) -> None:
        if self.trigger is Trigger.BELOW and self.threshold is None:
            raise ValueError(f"rule {self.field}: a BELOW rule needs a threshold")

    @property
    def key(self) -> str:
        return f"{self.field}:{self.kind}"

    def state(self, value: Any) -> bool | None:
        """True (on), False (off) or None (this value says nothing) for a field value."""
        if self.trigger is Trigger.BELOW:
            t = type(value)
            if (t is int or (t is float and math.isfinite(value))) and self.threshold is not None:
                return bool(value < self.threshold)
            return None
        if _same(value, self.values):
            return True
        if self.trigger is Trigger.LEVEL and _same(value, self.clear_values):
            return False
        return None

    def event_value(self, value: Any) -> Any:
        if self.value is not None:
            return self.value
        if self.value_percent:
            if type(value) is not float:
                return None
            percent = value * 100
            return round(percent) if math.isfinite(percent) else None  # 1e308 × 100 is inf
        return value


@dataclass(frozen=True, slots=True)
class Rtl433Profile:
    """What one rtl_433 model's fields mean. ``model`` is rtl_433's ``model`` field, or a role name
    that the device registry can give a device (see ``model_lookup`` in :mod:`device_adapters.rtl433`)."""

    model: str
    vendor: str
    description: str
    rules: tuple[Rtl433Rule, ...]
    aliases: tuple[str, ...] = ()


# Rows shared by many models -----------------------------------------------------------------

_TAMPER = Rtl433Rule("tamper", EventKind.TAMPER, clear_kind=EventKind.TAMPER_CLEARED)
_BATTERY_FLAG = Rtl433Rule(
    "battery_ok",
    EventKind.BATTERY_LOW,
    Trigger.BELOW,
    threshold=0.5,
    clear_kind=EventKind.BATTERY_OK,
    value_percent=True,
)
"""``battery_ok`` as a flag (1 ok, 0 low). A fraction below 0.5 also counts as low."""
_HEARTBEAT = Rtl433Rule("heartbeat", EventKind.HEARTBEAT, Trigger.MOMENTARY)

GENERIC_RTL433 = Rtl433Profile(
    model="generic",
    vendor="",
    description=(
        "Default for models the table does not know: tamper, battery_ok and heartbeat, whose meaning "
        "rtl_433 keeps the same across decoders. `alarm` is not mapped: whether it means a leak, a "
        "panic button or an open door depends on the sensor, so it pages nobody until the device is "
        "given a role profile. A packet that raises nothing is telemetry (the device was heard)."
    ),
    rules=(_TAMPER, _BATTERY_FLAG, _HEARTBEAT),
)

KNOWN_RTL433_MODELS: tuple[Rtl433Profile, ...] = (
    Rtl433Profile(
        model="Govee-Water",
        vendor="Govee",
        description="Water leak detector H5054 (both rtl_433 decoders: 'govee' and 'govee_h5054')",
        rules=(
            # Wet is reported again and again while wet; dry is never reported except that the
            # button only sends while dry. 30 min without a wet report: the next one is a new leak.
            Rtl433Rule(
                "event",
                EventKind.LEAK,
                values=("Water Leak",),
                clear_values=("Button Press",),
                clear_kind=EventKind.LEAK_CLEARED,
                clear_on_first=True,
                value="leak",
                rearm_after=timedelta(minutes=30),
                episode_field="leak_num",
            ),
            Rtl433Rule("event", EventKind.HEARTBEAT, Trigger.MOMENTARY, values=("Heartbeat",)),
            # battery_ok is a fraction here (1.000, 0.950, 0.590, 0.260, 0.240, 0.010 = 5..1 bars):
            # two bars or fewer is low.
            Rtl433Rule(
                "battery_ok",
                EventKind.BATTERY_LOW,
                Trigger.BELOW,
                threshold=0.25,
                clear_kind=EventKind.BATTERY_OK,
                value_percent=True,
            ),
        ),
    ),
    Rtl433Profile(
        model="Govee-Contact",
        vendor="Govee",
        description="Door contact sensor B5023: sends 'Open' only (nothing on close)",
        rules=(
            Rtl433Rule("event", EventKind.ACTIVITY, Trigger.MOMENTARY, values=("Open",), value="door_open"),
            _BATTERY_FLAG,
        ),
    ),
    Rtl433Profile(
        model="Honeywell-Security",
        vendor="Honeywell / 2GIG",
        description="5800-series door/window sensors, 2GIG DW10/DW11, RE208 repeater (345 MHz)",
        rules=(
            Rtl433Rule("state", EventKind.ACTIVITY, values=("open",), clear_values=("closed",), value="door_open"),
            _TAMPER,
            _BATTERY_FLAG,
            _HEARTBEAT,
        ),
    ),
    Rtl433Profile(
        model="DSC-Security",
        vendor="DSC",
        description="DSC wireless contact sensors (433 MHz)",
        rules=(
            Rtl433Rule("closed", EventKind.ACTIVITY, values=(0,), clear_values=(1,), value="door_open"),
            _TAMPER,
            _BATTERY_FLAG,
        ),
        aliases=("DSC-Security-WS4945",),
    ),
    # Role profiles: not rtl_433 model names. The device registry gives one to a device whose
    # rtl_433 model does not say what its `alarm` bit means (e.g. a Honeywell 5800 flood sensor).
    Rtl433Profile(
        model="rtl433-leak",
        vendor="",
        description="Role: a leak sensor whose `alarm` bit is the leak (1 wet, 0 dry)",
        rules=(
            Rtl433Rule(
                "alarm",
                EventKind.LEAK,
                clear_kind=EventKind.LEAK_CLEARED,
                clear_on_first=True,
                value="leak",
            ),
            _TAMPER,
            _BATTERY_FLAG,
            _HEARTBEAT,
        ),
    ),
    Rtl433Profile(
        model="rtl433-sos",
        vendor="",
        description="Role: a panic/SOS pendant whose `alarm` bit is a press (each burst is one SOS)",
        rules=(
            Rtl433Rule("alarm", EventKind.SOS, Trigger.MOMENTARY, value="alarm"),
            _TAMPER,
            _BATTERY_FLAG,
            _HEARTBEAT,
        ),
    ),
)


def build_rtl433_table(profiles: Iterable[Rtl433Profile]) -> dict[str, Rtl433Profile]:
    """Index profiles by model name and by each alias."""
    table: dict[str, Rtl433Profile] = {}
    for p in profiles:
        keys = [r.key for r in p.rules]
        if len(keys) != len(set(keys)):
            raise ValueError(f"model {p.model!r} has two rules for the same field and kind")
        for name in (p.model, *p.aliases):
            if name in table:
                raise ValueError(f"model {name!r} listed twice")
            table[name] = p
    return table


RTL433_MODELS: Mapping[str, Rtl433Profile] = build_rtl433_table(KNOWN_RTL433_MODELS)


def rtl433_profile_for(model: str | None, table: Mapping[str, Rtl433Profile] = RTL433_MODELS) -> Rtl433Profile:
    """The profile of ``model``, or :data:`GENERIC_RTL433`."""
    if model is None:
        return GENERIC_RTL433
    return table.get(model, GENERIC_RTL433)
