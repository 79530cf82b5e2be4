"""Device knowledge as data: which field of a device's state means which event.

In the spirit of Zigbee2MQTT's converter tables (zigbee-herdsman-converters): every known model
is a :class:`ModelProfile`, a list of :class:`FieldRule` rows. Adding a model means adding a row to
:data:`KNOWN_MODELS`, not writing code. Fields that no rule mentions are kept untouched in the
event's raw reading.

The field names and values below are the ones Zigbee2MQTT publishes for these models, taken from
the converters in Koenkk/zigbee-herdsman-converters:

- ``fz.command_emergency`` (IAS ACE emergency command) publishes ``{"action": "emergency"}``.
- ``fz.command_status_change_notification_action`` (Heiman HS1EB) maps the IAS zone status
  ``0/1/2/3`` to ``action`` ``off/single/double/hold``; ``off`` is the button being released.
- ``fz.ias_water_leak_alarm_1`` publishes ``{"water_leak", "tamper", "battery_low"}`` booleans
  (zone status bits 0, 2 and 3); ``fz.ias_sos_alarm_2`` publishes ``{"sos", "tamper", "battery_low"}``.
- ``fz.tuya_radar_sensor_fall`` (MIR-HE200-TY, published as MIR-HE200-TY_fall until late 2022)
  publishes ``fall_down_status`` with the values ``none``, ``maybe_fall``, ``fall``.
- ``m.iasZoneAlarm`` (modern extend) publishes ``<zone type>_alarm_1`` / ``_alarm_2`` for the zone
  status bits 0 and 1: ``water_leak_alarm_1`` on BlitzWolf BW-IS9, ADEO 83633206, Pulsar LPC-V1 and
  Sunricher's leak sensors, ``smoke_alarm_1``, ``gas_alarm_1``, ``carbon_monoxide_alarm_1``.
- OWON FDS315 (``fallDetectionOwon`` cluster) publishes ``status``: ``unoccupied``, ``occupied``,
  ``sitting``, ``on_the_bed``, ``low_posture``, ``falling``.
- HEIMAN HS2FD-EF1-3.0 publishes ``fall_status``: ``normal``, ``fall_warning``, ``fall_alarm``.
- Tuya smoke/gas/CO sensors publish ``smoke`` / ``gas`` / ``carbon_monoxide`` booleans, or
  ``smoke_state`` / ``gas_sensor_state`` / ``co_state`` ``alarm`` / ``normal``.

Which models and properties exist is checked against the package itself by
``scripts/z2m_coverage.py`` (docs/wire-formats.md has its latest figure).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from device_adapters.events import EventKind


class Trigger(StrEnum):
    """How a field's value turns into events."""

    MOMENTARY = "momentary"
    """Every message whose field holds one of ``values`` is a new event (a button press: the
    ``action`` property, which Zigbee2MQTT does not keep in its state cache)."""

    LEVEL = "level"
    """A state that stays: the event fires when the field *enters* ``values`` (unknown or off →
    on); ``clear_kind``, if set, fires when it leaves them (on → off). Repeats of the same state,
    e.g. Zigbee2MQTT re-publishing its cached state with every battery report, fire nothing."""

    BELOW = "below"
    """A number dropping below ``threshold`` (rising edge of the condition), e.g. battery %."""


@dataclass(frozen=True, slots=True)
class FieldRule:
    """One row of a model table: ``field`` holding ``values`` means ``kind``."""

    field: str
    kind: EventKind
    trigger: Trigger = Trigger.LEVEL
    values: tuple[Any, ...] = (True,)
    clear_kind: EventKind | None = None
    threshold: float | None = None
    value_field: str | None = None
    """Take the event's value from this field of the same message (e.g. ``battery`` for
    ``battery_low``) instead of the matched field's own value."""

    def matches(self, value: Any) -> bool:
        """Exact match, type included: ``1`` does not match ``True`` and ``"true"`` does not either."""
        vt = type(value)
        return any(type(v) is vt and v == value for v in self.values)

    @property
    def key(self) -> str:
        """Identifies this rule's remembered state for one device."""
        return f"{self.field}:{self.kind}"


@dataclass(frozen=True, slots=True)
class ModelProfile:
    """What one device model's fields mean. ``model`` is Zigbee2MQTT's ``definition.model``."""

    model: str
    vendor: str
    description: str
    rules: tuple[FieldRule, ...]
    aliases: tuple[str, ...] = ()
    quiet_actions: tuple[str, ...] = ()
    """Actions that are no alarm on an SOS-class device (a release after a press): any other action
    no rule knows, from a device the registry calls ``sos``, is an ``unknown_alarm``."""


# Rows shared by many models ------------------------------------------------------------------

_BATTERY_LOW = FieldRule("battery_low", EventKind.BATTERY_LOW, value_field="battery")
_TAMPER = FieldRule("tamper", EventKind.TAMPER)
_WATER_LEAK = FieldRule("water_leak", EventKind.LEAK, clear_kind=EventKind.LEAK_CLEARED)
_BATTERY_BELOW_10 = FieldRule(
    "battery", EventKind.BATTERY_LOW, trigger=Trigger.BELOW, threshold=10, value_field="battery"
)
# Someone up and about (inactivity monitoring): motion detected, presence, a door opened
# (Zigbee2MQTT's ``contact`` is false while the door is open).
_OCCUPANCY = FieldRule("occupancy", EventKind.ACTIVITY)
_PRESENCE = FieldRule("presence", EventKind.ACTIVITY)
_DOOR_OPENED = FieldRule("contact", EventKind.ACTIVITY, values=(False,))

_FIRE = EventKind.FIRE, EventKind.FIRE_CLEARED
_GAS = EventKind.GAS, EventKind.GAS_CLEARED
_CO = EventKind.CO, EventKind.CO_CLEARED


def _alarm(field: str, kinds: tuple[EventKind, EventKind], values: tuple[Any, ...] = (True,)) -> FieldRule:
    return FieldRule(field, kinds[0], values=values, clear_kind=kinds[1])


def _leak(field: str, values: tuple[Any, ...] = (True,)) -> FieldRule:
    return FieldRule(field, EventKind.LEAK, values=values, clear_kind=EventKind.LEAK_CLEARED)


# What the generic profile reads: the alarm properties zigbee-herdsman-converters' converters
# publish under the same name on many models (scripts/z2m_coverage.py lists them).
GENERIC_ALARMS: tuple[FieldRule, ...] = (
    FieldRule("action", EventKind.SOS, Trigger.MOMENTARY, ("emergency", "sos", "panic")),
    FieldRule("sos", EventKind.SOS),
    FieldRule("sos_alarm", EventKind.SOS),
    FieldRule("fall_down_status", EventKind.FALL, values=("fall",)),
    FieldRule("fall_status", EventKind.FALL, values=("fall_alarm",)),
    FieldRule("fall", EventKind.FALL),
    _WATER_LEAK,
    _leak("water_leak_alarm_1"),
    _leak("water_leak_alarm_2"),
    _leak("active_water_leak"),
    _leak("water_leak_zone_1"),
    _leak("water_leak_zone_2"),
    _leak("water_leak_both_zones"),
    *(_leak(f"water_leak_wire_{n}") for n in range(1, 5)),
    _leak("water_leakage_state", ("water_leakage_yes",)),
    _leak("water_warning", ("alarm",)),
    _alarm("smoke", _FIRE),
    _alarm("smoke_alarm_1", _FIRE),
    _alarm("smoke_alarm_2", _FIRE),
    _alarm("smoke_state", _FIRE, ("alarm",)),
    _alarm("gas", _GAS),
    _alarm("gas_alarm_1", _GAS),
    _alarm("gas_alarm_2", _GAS),
    _alarm("gas_sensor_state", _GAS, ("alarm",)),
    _alarm("carbon_monoxide", _CO),
    _alarm("carbon_monoxide_alarm_1", _CO),
    _alarm("carbon_monoxide_alarm_2", _CO),
    _alarm("co_state", _CO, ("alarm",)),
)

GENERIC = ModelProfile(
    model="generic",
    vendor="",
    description="Default profile for unknown models: the common Zigbee2MQTT alarm properties",
    rules=(
        *GENERIC_ALARMS,
        _BATTERY_LOW,
        _BATTERY_BELOW_10,
        _TAMPER,
        _OCCUPANCY,
        _PRESENCE,
        _DOOR_OPENED,
    ),
)

# Fail open: a property named like an alarm (``sos``, ``water_leak*``, ``fall*``, ``smoke*``,
# ``gas*``, ``carbon_monoxide*``) set true that the device's profile does not read is an
# ``unknown_alarm`` for a person to look at, except the settings listed here (properties a
# definition also lets Zigbee2MQTT set; scripts/z2m_coverage.py lists any it finds missing).
ALARM_KEY_PREFIXES: tuple[str, ...] = ("sos", "water_leak", "fall", "smoke", "gas", "carbon_monoxide")
ALARM_KEY_SETTINGS: frozenset[str] = frozenset(
    {
        "fall_detection",
        "smoke_alarm_silenced",
        "water_leak_alarm_control",
        "water_leak_buzzer",
        "gas_valve_state",
    }
)


def looks_like_alarm_key(key: str) -> bool:
    """A property named like an alarm (one of ALARM_KEY_PREFIXES, alone or followed by ``_``: ``sos``,
    ``sos_alarm``, ``fall_status``, not ``fallback_order``) that is not a known setting."""
    if key in ALARM_KEY_SETTINGS:
        return False
    return any(key == p or key.startswith(p + "_") for p in ALARM_KEY_PREFIXES)


KNOWN_MODELS: tuple[ModelProfile, ...] = (
    # Activity sensors (inactivity monitoring) -------------------------------------------------
    ModelProfile(
        model="RTCGQ11LM",
        vendor="Aqara",
        description="Aqara human body movement and illuminance sensor",
        rules=(_OCCUPANCY, _BATTERY_LOW, _BATTERY_BELOW_10),
    ),
    ModelProfile(
        model="MCCGQ11LM",
        vendor="Aqara",
        description="Aqara door and window contact sensor",
        rules=(_DOOR_OPENED, _BATTERY_LOW, _BATTERY_BELOW_10),
    ),
    # SOS buttons ---------------------------------------------------------------------------
    ModelProfile(
        model="TS0215A_sos",
        vendor="Tuya",
        description="SOS button (IAS ACE emergency command)",
        rules=(
            FieldRule("action", EventKind.SOS, Trigger.MOMENTARY, ("emergency",)),
            _BATTERY_LOW,
            _BATTERY_BELOW_10,
        ),
    ),
    ModelProfile(
        model="HS1EB/HS1EB-E",
        vendor="HEIMAN",
        description="Smart emergency button (IAS zone status → single/double/hold)",
        # "off" is the release after a press: not an event. ``click`` is the legacy property
        # (device_options.legacy: true) carrying the same values.
        rules=(
            FieldRule("action", EventKind.SOS, Trigger.MOMENTARY, ("single", "double", "hold")),
            FieldRule("click", EventKind.SOS, Trigger.MOMENTARY, ("single", "double", "hold")),
            _BATTERY_LOW,
            _BATTERY_BELOW_10,
        ),
        aliases=("HS1EB", "HS1EB-E"),
        quiet_actions=("off",),
    ),
    # Water leak sensors ---------------------------------------------------------------------
    ModelProfile(
        model="SJCGQ11LM",
        vendor="Aqara",
        description="Aqara water leak sensor",
        rules=(_WATER_LEAK, _BATTERY_LOW, _BATTERY_BELOW_10),
    ),
    ModelProfile(
        model="SNZB-05",
        vendor="SONOFF",
        description="Zigbee water leak sensor (fz.ias_water_leak_alarm_1)",
        rules=(_WATER_LEAK, _TAMPER, _BATTERY_LOW, _BATTERY_BELOW_10),
        aliases=("SNZB-05P",),
    ),
    ModelProfile(
        model="BW-IS9",
        vendor="BlitzWolf",
        description="Water leak sensor (m.iasZoneAlarm: water_leak_alarm_1)",
        rules=(_leak("water_leak_alarm_1"), _leak("water_leak_alarm_2"), _TAMPER, _BATTERY_LOW, _BATTERY_BELOW_10),
    ),
    ModelProfile(
        model="83633206",
        vendor="ADEO",
        description="Lexman water leak sensor (m.iasZoneAlarm: water_leak_alarm_1)",
        rules=(_leak("water_leak_alarm_1"), _leak("water_leak_alarm_2"), _TAMPER, _BATTERY_LOW, _BATTERY_BELOW_10),
    ),
    ModelProfile(
        model="LPC-V1",
        vendor="Pulsar",
        description="Water leak sensor (m.iasZoneAlarm: water_leak_alarm_1)",
        rules=(_leak("water_leak_alarm_1"), _leak("water_leak_alarm_2"), _TAMPER, _BATTERY_LOW, _BATTERY_BELOW_10),
    ),
    ModelProfile(
        model="Ensystec-Leak-Protect-Zigbee",
        vendor="Ensystec",
        description="Leak protection controller: wired inputs and wireless channels, 'Leak' / 'Dry' each",
        rules=(
            _WATER_LEAK,
            *(_leak(f"input_{n}_leak_detect_{n + 6}", ("Leak",)) for n in range(1, 11)),
            *(_leak(f"channel_{n}_leak_detect_{n + 16}", ("Leak",)) for n in range(1, 11)),
        ),
    ),
    ModelProfile(
        model="DCR-CO",
        vendor="Tuya",
        description="Smart air box (carbon monoxide): carbon_monoxide 'ON' / 'OFF'",
        rules=(_alarm("carbon_monoxide", _CO, ("ON",)),),
    ),
    # Fall sensors ---------------------------------------------------------------------------
    ModelProfile(
        model="MIR-HE200-TY",
        vendor="Tuya",
        description="mmWave human presence radar with fall detection (TS0601 _TZE200_lu01t0zl)",
        # ``maybe_fall`` is deliberately not an alarm here; add it to ``values`` to page on it.
        # Published as ``MIR-HE200-TY_fall`` until late 2022: both names.
        rules=(FieldRule("fall_down_status", EventKind.FALL, values=("fall",)),),
        aliases=("MIR-HE200-TY_fall",),
    ),
    ModelProfile(
        model="FDS315",
        vendor="OWON",
        description="Fall detection radar (status: unoccupied, occupied, sitting, on_the_bed, low_posture, falling)",
        rules=(
            FieldRule("status", EventKind.FALL, values=("falling",)),
            FieldRule("status", EventKind.ACTIVITY, values=("occupied", "sitting", "low_posture")),
        ),
    ),
    ModelProfile(
        model="HS2FD-EF1-3.0",
        vendor="HEIMAN",
        description="Fall detection radar (fall_status: normal, fall_warning, fall_alarm)",
        rules=(FieldRule("fall_status", EventKind.FALL, values=("fall_alarm",)), _OCCUPANCY),
    ),
)


def build_table(profiles: Iterable[ModelProfile]) -> dict[str, ModelProfile]:
    """Index profiles by model name and by each alias."""
    table: dict[str, ModelProfile] = {}
    for p in profiles:
        for name in (p.model, *p.aliases):
            if name in table:
                raise ValueError(f"model {name!r} listed twice")
            table[name] = p
    return table


MODELS: Mapping[str, ModelProfile] = build_table(KNOWN_MODELS)


def profile_for(model: str | None, table: Mapping[str, ModelProfile] = MODELS) -> ModelProfile:
    """The profile of ``model``, or :data:`GENERIC` when the model is unknown or not given."""
    if model is None:
        return GENERIC
    return table.get(model, GENERIC)
