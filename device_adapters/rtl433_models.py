"""rtl_433 device knowledge as data: which field of a decoded radio packet means which event.

The same idea as :mod:`device_adapters.zigbee2mqtt_models` (Zigbee2MQTT): every known model is a
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
from device_adapters.zigbee2mqtt_models import Trigger

__all__ = [
    "ALARM_DEVICE_KINDS",
    "GENERIC_RTL433",
    "KIND_EVENTS",
    "KNOWN_RTL433_MODELS",
    "ROLE_KINDS",
    "RTL433_MODELS",
    "Rtl433Profile",
    "Rtl433Rule",
    "Trigger",
    "bound",
    "build_rtl433_table",
    "rtl433_profile_for",
    "same_value",
]


def same_value(value: Any, candidates: tuple[Any, ...]) -> bool:
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

    Conditions: ``any_value`` matches every value of the field (a fixed-code remote: any press);
    ``device_kinds`` limits the row to devices the registry gives one of these kinds (``sos``,
    ``leak``, ``smoke``, ...); ``when`` to packets whose other fields hold one of the listed values
    (e.g. Interlogix's ``subtype`` ``smoke``). Per packet, the first row (in table order) that
    applies and says something about a field's value takes that field: later rows on the same field
    are not read for that packet.
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
    any_value: bool = False
    device_kinds: tuple[str, ...] = ()
    when: tuple[tuple[str, tuple[Any, ...]], ...] = ()

    def __post_init__(self) -> None:
        if self.trigger is Trigger.BELOW and self.threshold is None:
            raise ValueError(f"rule {self.field}: a BELOW rule needs a threshold")

    @property
    def key(self) -> str:
        """Names the remembered state of this row for one device (and identifies the row)."""
        key = f"{self.field}:{self.kind}:" + ("*" if self.any_value else "|".join(map(str, self.values)))
        if self.device_kinds:
            key += ":" + ",".join(self.device_kinds)
        if self.when:
            key += ":" + ";".join(f"{f}={'|'.join(map(str, v))}" for f, v in self.when)
        return key

    def applies(self, obj: Mapping[str, Any], device_kind: str | None) -> bool:
        """True when the row's conditions (registry kind, other fields) hold for this packet."""
        if self.device_kinds and device_kind not in self.device_kinds:
            return False
        return all(f in obj and same_value(obj[f], vals) for f, vals in self.when)

    def state(self, value: Any) -> bool | None:
        """True (on), False (off) or None (this value says nothing) for a field value."""
        if self.trigger is Trigger.BELOW:
            t = type(value)
            if (t is int or (t is float and math.isfinite(value))) and self.threshold is not None:
                return bool(value < self.threshold)
            return None
        if self.any_value or same_value(value, self.values):
            return True
        if self.trigger is Trigger.LEVEL and same_value(value, self.clear_values):
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
    that the device registry can give a device (see ``model_lookup`` in :mod:`device_adapters.rtl433`).

    ``button_field``: the field that names the button of a fixed-code remote or keyfob (``cmd``):
    the registry may bind one button alone, as ``<device id>/<field>=<value>``.
    ``code_field``: the field that carries the device's code; on a device the registry gives an
    alarm kind, a code that no row takes and that is not in ``quiet_codes`` is an ``unknown_alarm``.
    ``needs_registry``: the rows apply only to devices the registry knows (by kind or model). For
    the x1527 family (a 24-bit fixed code: ``Generic-Remote``, ``Chuango-Security``,
    ``Kerui-Security``) one radio frame decodes under all three models, and an SDR hears every
    neighbour's garage remote: such a frame pages nobody until a device is registered.
    """

    model: str
    vendor: str
    description: str
    rules: tuple[Rtl433Rule, ...]
    aliases: tuple[str, ...] = ()
    button_field: str | None = None
    code_field: str | None = None
    quiet_codes: tuple[Any, ...] = ()
    needs_registry: bool = False


# What the device registry's kind of a device makes of a trigger --------------------------------

@dataclass(frozen=True, slots=True)
class KindEvent:
    """The event a registry kind gives a device's trigger, and its restore for a level sensor."""

    kind: EventKind
    clear_kind: EventKind | None
    value: str
    momentary: bool = False  # a press: every burst is a new event, whatever the field did before


KIND_EVENTS: Mapping[str, KindEvent] = {
    "sos": KindEvent(EventKind.SOS, None, "sos", momentary=True),
    "fall": KindEvent(EventKind.FALL, None, "fall", momentary=True),
    "leak": KindEvent(EventKind.LEAK, EventKind.LEAK_CLEARED, "leak"),
    "smoke": KindEvent(EventKind.FIRE, EventKind.FIRE_CLEARED, "smoke"),
    "heat": KindEvent(EventKind.FIRE, EventKind.FIRE_CLEARED, "heat"),
    "gas": KindEvent(EventKind.GAS, EventKind.GAS_CLEARED, "gas"),
    "co": KindEvent(EventKind.CO, EventKind.CO_CLEARED, "co"),
    "door": KindEvent(EventKind.ACTIVITY, None, "door_open"),
    "motion": KindEvent(EventKind.ACTIVITY, None, "motion"),
}
"""Registry kind → event. ``smoke`` is a fire-class event (P1)."""

ALARM_DEVICE_KINDS = frozenset({"sos", "fall", "leak", "smoke", "heat", "gas", "co"})
"""Registry kinds of alarm devices: an unknown code from one of them is an ``unknown_alarm``."""

ROLE_KINDS: Mapping[str, str] = {f"rtl433-{k}": k for k in KIND_EVENTS}
"""Role names the registry may give as a device's model (``rtl433-sos``, ``rtl433-leak``, ...): the
same as that kind."""


def bound(
    field: str,
    values: tuple[Any, ...] = (1,),
    clear_values: tuple[Any, ...] = (),
    *,
    any_value: bool = False,
    kinds: Iterable[str] = tuple(KIND_EVENTS),
    when: tuple[tuple[str, tuple[Any, ...]], ...] = (),
) -> tuple[Rtl433Rule, ...]:
    """One row per registry kind: ``field`` in ``values`` (or any value) on a device of that kind is
    that kind's event. With ``clear_values`` a level sensor's restore is its clear event."""
    rows = []
    for name in kinds:
        ev = KIND_EVENTS[name]
        level = bool(clear_values) and not ev.momentary
        rows.append(
            Rtl433Rule(
                field,
                ev.kind,
                Trigger.LEVEL if level else Trigger.MOMENTARY,
                values=values,
                clear_values=clear_values if level else (),
                clear_kind=ev.clear_kind if level else None,
                clear_on_first=level and ev.clear_kind is not None,
                value=ev.value,
                any_value=any_value,
                device_kinds=(name,),
                when=when,
            )
        )
    return tuple(rows)


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

_ALARM_BIT_BOUND = bound("alarm", (1,), (0,))
"""``alarm`` 1/0, whose meaning the registry's kind of the device gives (Honeywell 5800, DSC, ...)."""

GENERIC_RTL433 = Rtl433Profile(
    model="generic",
    vendor="",
    description=(
        "Default for models the table does not know: tamper, battery_ok and heartbeat, whose meaning "
        "rtl_433 keeps the same across decoders. `alarm`, `cmd` and `button` mean what the device "
        "registry's kind of the device says (sos, leak, smoke, ...); without a kind they page nobody, "
        "since a leak, a panic button and an open door look alike. A packet that raises nothing is "
        "telemetry (the device was heard)."
    ),
    rules=(
        *_ALARM_BIT_BOUND,
        *bound("cmd", any_value=True),
        *bound("button", any_value=True),
        _TAMPER,
        _BATTERY_FLAG,
        _HEARTBEAT,
    ),
)

_LEAK_ALARM_BIT = Rtl433Rule(
    "alarm", EventKind.LEAK, clear_kind=EventKind.LEAK_CLEARED, clear_on_first=True, value="leak"
)
"""A water sensor's ``alarm`` 1 (wet) / 0 (dry)."""

# Chuango (chuango.c): cmd is a string; the codes a sensor sends when triggered.
_CHUANGO_TRIGGERS = ("Alarm", "24H Zone", "Normal Zone", "Single Delay Zone", "Home Mode Zone", "On")
# Kerui (kerui.c): state is a string; a trigger of each sensor type.
_KERUI_TRIGGERS = ("motion", "open", "water")
# X10 (x10_sec.c): event strings.
_X10_PANIC = ("KR18 PANIC", "KR15 PANIC", "KR15 PANIC-3SECOND")
_X10_QUIET = (
    "KEY-FOB ARM", "KEY-FOB DISARM", "SH624 SEC-REMOTE DISARM", "MOTION READY",
    "KEY-FOB LIGHTS A ON", "KEY-FOB LIGHTS A OFF", "KEY-FOB LIGHTS B ON", "KEY-FOB LIGHTS B OFF",
)
# Interlogix (interlogix.c): switchN "OPEN" / "CLOSED" by subtype.
_OPEN, _CLOSED = ("OPEN",), ("CLOSED",)


def _subtype(*names: str) -> tuple[tuple[str, tuple[Any, ...]], ...]:
    return (("subtype", names),)


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
        description="5800-series sensors, 2GIG DW10/DW11, RE208 repeater (345 MHz); `alarm` by registry kind",
        rules=(
            *_ALARM_BIT_BOUND,
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
    # Fixed-code remotes and sensors (PT2262, SC2260, EV1527): a 16-bit house code and a command
    # byte, nothing that says what the device is. What a press means comes from the registry: the
    # remote (`rtl433/Generic-Remote/<id>`, every button) or one button (`.../cmd=<n>`).
    Rtl433Profile(
        model="Generic-Remote",
        vendor="(PT2262 / SC2260 / EV1527 chips)",
        description="Fixed-code keyfobs, SOS pendants, door, PIR and water sensors: meaning by registry kind",
        rules=bound("cmd", any_value=True),
        button_field="cmd",
        needs_registry=True,
    ),
    Rtl433Profile(
        model="Chuango-Security",
        vendor="Chuango",
        description=(
            "RC-80 remote and KP-700 keypad ('Alarm' is the panic button), DWC-100/102 doors, PIR-900, "
            "SMK-500 smoke and WI-200 water sensors ('24H Zone': smoke, water or panic by registry kind)"
        ),
        rules=(
            *bound("cmd", _CHUANGO_TRIGGERS),
            Rtl433Rule("cmd", EventKind.SOS, Trigger.MOMENTARY, values=("Alarm",), value="panic"),
            # A 24-hour zone is always armed: a smoke, water or panic sensor. Which one only the
            # registry knows; without a kind a person looks at it.
            Rtl433Rule("cmd", EventKind.UNKNOWN_ALARM, Trigger.MOMENTARY, values=("24H Zone",)),
            Rtl433Rule(
                "cmd",
                EventKind.ACTIVITY,
                Trigger.MOMENTARY,
                values=("Normal Zone", "Single Delay Zone", "Home Mode Zone"),
                value="zone",
            ),
            Rtl433Rule("cmd", EventKind.TAMPER, Trigger.MOMENTARY, values=("Tamper",)),
            Rtl433Rule("cmd", EventKind.BATTERY_LOW, Trigger.MOMENTARY, values=("Low Battery",), value=None),
            Rtl433Rule("cmd", EventKind.HEARTBEAT, Trigger.MOMENTARY, values=("Test",)),
        ),
        button_field="cmd",
        code_field="cmd",
        quiet_codes=("Arm", "Disarm", "Home Mode", "Closing"),
        needs_registry=True,
    ),
    Rtl433Profile(
        model="Kerui-Security",
        vendor="Kerui",
        description="PIR (P831), door/window (D026) and water leak (WD51) sensors",
        rules=(
            *bound("state", _KERUI_TRIGGERS),
            Rtl433Rule("water", EventKind.LEAK, Trigger.MOMENTARY, value="leak"),
            Rtl433Rule("motion", EventKind.ACTIVITY, Trigger.MOMENTARY, value="motion"),
            Rtl433Rule("opened", EventKind.ACTIVITY, values=(1,), clear_values=(0,), value="door_open"),
            Rtl433Rule("tamper", EventKind.TAMPER, Trigger.MOMENTARY),
            _BATTERY_FLAG,
        ),
        code_field="state",
        quiet_codes=("close", "tamper", "battery"),
        needs_registry=True,
    ),
    Rtl433Profile(
        model="Interlogix-Security",
        vendor="GE / Interlogix / UTC",
        description=(
            "319.5 MHz sensors: smoke (ESL TX-6010: switch2 OPEN is the alarm), heat, panic, door "
            "contacts (switch1), PIRs; `subtype` says which"
        ),
        rules=(
            # A contact whose external input has a flood probe, a panic pendant, ...: registry kind.
            *bound("switch1", _OPEN, _CLOSED, when=_subtype("contact", "keyfob", "panic")),
            Rtl433Rule(
                "switch2",
                EventKind.FIRE,
                values=_OPEN,
                clear_values=_CLOSED,
                clear_kind=EventKind.FIRE_CLEARED,
                value="smoke",
                when=_subtype("smoke"),
            ),
            Rtl433Rule(
                "switch2",
                EventKind.FIRE,
                values=_OPEN,
                clear_values=_CLOSED,
                clear_kind=EventKind.FIRE_CLEARED,
                value="heat",
                when=_subtype("heat"),
            ),
            Rtl433Rule(
                "switch1", EventKind.SOS, Trigger.MOMENTARY, values=_OPEN, value="panic", when=_subtype("panic")
            ),
            Rtl433Rule(
                "switch1",
                EventKind.ACTIVITY,
                values=_OPEN,
                clear_values=_CLOSED,
                value="door_open",
                when=_subtype("contact"),
            ),
            Rtl433Rule(
                "switch1",
                EventKind.ACTIVITY,
                values=_OPEN,
                clear_values=_CLOSED,
                value="motion",
                when=_subtype("motion"),
            ),
            _BATTERY_FLAG,
        ),
    ),
    Rtl433Profile(
        model="Cavius-Security",
        vendor="Cavius",
        description="Cavius smoke, heat and water detectors (869 MHz)",
        rules=(
            Rtl433Rule("text", EventKind.FIRE, Trigger.MOMENTARY, values=("Fire alarm",), value="smoke"),
            # rtl_433 cannot tell a water detector's alarm from another unit's warning.
            *bound("text", ("Warning/Water detected",), kinds=("leak", "smoke", "heat")),
            Rtl433Rule("text", EventKind.UNKNOWN_ALARM, Trigger.MOMENTARY, values=("Warning/Water detected",)),
            Rtl433Rule("text", EventKind.HEARTBEAT, Trigger.MOMENTARY, values=("Test alarm",)),
            _BATTERY_FLAG,
        ),
        code_field="text",
        quiet_codes=("Alarm muted", "Pairing", "Battery low"),
    ),
    Rtl433Profile(
        model="X10-Security",
        vendor="X10",
        description="KR15/KR18 keyfobs (PANIC), DS10/DS18 door sensors (external input: a water probe), MS10/MS18 PIRs",
        rules=(
            *bound("event", ("DOOR/WINDOW OPEN",), ("DOOR/WINDOW CLOSED",), kinds=("leak", "smoke", "heat", "sos")),
            Rtl433Rule("event", EventKind.SOS, Trigger.MOMENTARY, values=_X10_PANIC, value="panic"),
            Rtl433Rule(
                "event",
                EventKind.ACTIVITY,
                values=("DOOR/WINDOW OPEN",),
                clear_values=("DOOR/WINDOW CLOSED",),
                value="door_open",
            ),
            Rtl433Rule("event", EventKind.ACTIVITY, Trigger.MOMENTARY, values=("MOTION TRIPPED",), value="motion"),
            _TAMPER,
            _BATTERY_FLAG,
        ),
        button_field="code",
        code_field="event",
        quiet_codes=_X10_QUIET,
    ),
    Rtl433Profile(
        model="Fineoffset-WH55",
        vendor="Fine Offset / Ecowitt",
        description="WH55 water leak sensor",
        rules=(
            _LEAK_ALARM_BIT,
            # battery_ok is 0.2 per bar (5 bars): one bar is low.
            Rtl433Rule(
                "battery_ok",
                EventKind.BATTERY_LOW,
                Trigger.BELOW,
                threshold=0.3,
                clear_kind=EventKind.BATTERY_OK,
                value_percent=True,
            ),
        ),
    ),
    Rtl433Profile(
        model="Bresser-Leakage",
        vendor="Bresser",
        description="Water leakage sensor PN 7009975",
        rules=(_LEAK_ALARM_BIT, _BATTERY_FLAG),
    ),
    Rtl433Profile(
        model="SimpliSafe-Sensor",
        vendor="SimpliSafe",
        description=(
            "Gen 1/2 sensors: entry sensors, and the keychain remote whose panic press is sent as "
            "state 1 ('Contact Open'), so a panic key is bound by its registry kind"
        ),
        rules=(
            *bound("state", (1,), (2,), kinds=("sos", "leak", "smoke", "heat", "fall")),
            Rtl433Rule("state", EventKind.ACTIVITY, values=(1,), clear_values=(2,), value="door_open"),
        ),
        code_field="state",
        quiet_codes=(3,),
    ),
    Rtl433Profile(
        model="SimpliSafe-Keypad",
        vendor="SimpliSafe",
        description="Gen 1/2 keypad: the panic button",
        rules=(
            Rtl433Rule(
                "extradata", EventKind.SOS, Trigger.MOMENTARY, values=("Keypad Panic Button",), value="panic"
            ),
        ),
    ),
    Rtl433Profile(
        model="Smoke-GS558",
        vendor="Ningbo Siterwell / VisorTech",
        description="GS 558 smoke and heat detector (RWM-460.f): sends only when alarming or pairing",
        rules=(Rtl433Rule("learn", EventKind.FIRE, Trigger.MOMENTARY, values=(0,), value="smoke"),),
    ),
    # Role profiles: not rtl_433 model names. A registry model naming one gives the device that
    # kind (ROLE_KINDS); kept as profiles so that a device of an unknown model can be given one.
    Rtl433Profile(
        model="rtl433-leak",
        vendor="",
        description="Role: a leak sensor whose `alarm` bit is the leak (1 wet, 0 dry)",
        rules=GENERIC_RTL433.rules,
    ),
    Rtl433Profile(
        model="rtl433-sos",
        vendor="",
        description="Role: a panic/SOS device: `alarm` 1, any `cmd` or `button` is a press",
        rules=GENERIC_RTL433.rules,
    ),
)


def build_rtl433_table(profiles: Iterable[Rtl433Profile]) -> dict[str, Rtl433Profile]:
    """Index profiles by model name and by each alias."""
    table: dict[str, Rtl433Profile] = {}
    for p in profiles:
        keys = [r.key for r in p.rules]
        if len(keys) != len(set(keys)):
            raise ValueError(f"model {p.model!r} has two rules for the same field, values, kind and conditions")
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
