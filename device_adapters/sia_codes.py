"""The SIA event codes (SIA DC-03, "SIA format", carried by DC-09 ``SIA-DCS`` messages), as data: each
two-letter code, the event kind it raises and whether the number after it is a zone or a user.

Unlike Contact ID, a SIA code says by itself whether it is an alarm or its restore: ``WA`` water alarm,
``WH`` water alarm restore, ``WR`` water restoral, ``WT`` water trouble, ``WJ`` trouble restore,
``WB`` / ``WU`` bypass and unbypass, ``WS`` supervisory, ``WX`` test. The codes are the public SIA DC-03
table (also carried by pysiaalarm's ``sia_codes.json``); the kinds follow the Contact ID table's
decisions (:mod:`device_adapters.contact_id_codes`): SIA has no carbon-monoxide code, panels report CO
as ``GA`` (gas), which is P1 like CO.

A code that is not here becomes ``unknown_alarm`` (a P2 order for a person) and a dead letter.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from device_adapters.contact_id_codes import Address
from device_adapters.events import EventKind

__all__ = ["KNOWN_SIA_CODES", "SIA_CODES", "SiaCode", "build_sia_table"]


@dataclass(frozen=True, slots=True)
class SiaCode:
    code: str
    name: str
    kind: EventKind
    value: Any = None
    address: Address = Address.ZONE

    def __post_init__(self) -> None:
        if len(self.code) != 2 or not self.code.isalpha() or not self.code.isupper():
            raise ValueError(f"SIA code {self.code!r} must be two upper-case letters")


K = EventKind
USER = Address.USER


def _family(
    letter: str,
    what: str,
    alarm: EventKind,
    value: str | None,
    cleared: EventKind,
    *,
    trouble: bool = True,
) -> tuple[SiaCode, ...]:
    """The usual rows of one family: alarm, alarm restore, restoral, trouble, trouble restore,
    supervisory, bypass, unbypass, test."""
    rows = [
        SiaCode(f"{letter}A", f"{what}_alarm", alarm, value),
        SiaCode(f"{letter}H", f"{what}_alarm_restore", cleared),
        SiaCode(f"{letter}R", f"{what}_restoral", cleared),
        SiaCode(f"{letter}B", f"{what}_bypass", K.TELEMETRY),
        SiaCode(f"{letter}U", f"{what}_unbypass", K.TELEMETRY),
    ]
    if trouble:
        rows += [
            SiaCode(f"{letter}T", f"{what}_trouble", K.TROUBLE, f"{what}_trouble"),
            SiaCode(f"{letter}J", f"{what}_trouble_restore", K.TROUBLE_CLEARED),
            SiaCode(f"{letter}S", f"{what}_supervisory", K.TROUBLE, f"{what}_supervisory"),
        ]
    return tuple(rows)


def _user(code: str, name: str, kind: EventKind = K.TELEMETRY, value: Any = None) -> SiaCode:
    return SiaCode(code, name, kind, value, USER)


KNOWN_SIA_CODES: tuple[SiaCode, ...] = (
    # Life and safety
    *_family("M", "medical", K.SOS, "medical", K.TELEMETRY),
    *_family("P", "panic", K.SOS, "panic", K.TELEMETRY),
    *_family("H", "holdup", K.SOS, "holdup", K.TELEMETRY),
    *_family("Q", "emergency", K.SOS, "emergency", K.TELEMETRY),
    *_family("F", "fire", K.FIRE, "fire", K.FIRE_CLEARED),
    SiaCode("FC", "fire_cancel", K.TELEMETRY),
    SiaCode("FI", "fire_test_begin", K.TELEMETRY),
    SiaCode("FK", "fire_test_end", K.TELEMETRY),
    SiaCode("FX", "fire_test", K.TELEMETRY),
    SiaCode("FY", "missing_fire_trouble", K.TROUBLE, "missing_fire_trouble"),
    *_family("K", "heat", K.FIRE, "heat", K.FIRE_CLEARED),
    *_family("S", "sprinkler", K.FIRE, "sprinkler", K.FIRE_CLEARED),
    *_family("G", "gas", K.GAS, "gas", K.GAS_CLEARED),
    SiaCode("GX", "gas_test", K.TELEMETRY),
    *_family("W", "water", K.LEAK, None, K.LEAK_CLEARED),
    *_family("Z", "freeze", K.ALARM, "freeze", K.TELEMETRY),
    # Intrusion
    *_family("B", "burglary", K.INTRUSION, "burglary", K.TELEMETRY),
    SiaCode("BC", "burglary_cancel", K.TELEMETRY),
    SiaCode("BV", "burglary_verified", K.INTRUSION, "verified"),
    SiaCode("BX", "burglary_test", K.TELEMETRY),
    SiaCode("DF", "door_forced", K.INTRUSION, "forced_access"),
    SiaCode("EA", "exit_alarm", K.ALARM, "exit_error"),
    *_family("U", "untyped", K.ALARM, "untyped", K.TELEMETRY),
    SiaCode("UX", "undefined", K.ALARM, "undefined"),
    # Tamper
    SiaCode("TA", "tamper_alarm", K.TAMPER),
    SiaCode("TR", "tamper_restoral", K.TAMPER_CLEARED),
    SiaCode("TB", "tamper_bypass", K.TELEMETRY),
    SiaCode("TU", "tamper_unbypass", K.TELEMETRY),
    _user("JA", "user_code_tamper", K.TAMPER, "user_code"),
    # Power, batteries, supervision
    SiaCode("AT", "ac_trouble", K.POWER_LOST),
    SiaCode("AR", "ac_restoral", K.POWER_RESTORED),
    SiaCode("YT", "system_battery_trouble", K.BATTERY_LOW),
    SiaCode("YR", "system_battery_restoral", K.BATTERY_OK),
    SiaCode("YM", "system_battery_missing", K.BATTERY_LOW, "missing"),
    SiaCode("XT", "transmitter_battery_trouble", K.BATTERY_LOW),
    SiaCode("XR", "transmitter_battery_restoral", K.BATTERY_OK),
    SiaCode("UY", "untyped_missing_trouble", K.AVAILABILITY, "offline"),
    SiaCode("UZ", "untyped_missing_alarm", K.AVAILABILITY, "offline"),
    # System trouble
    SiaCode("YA", "bell_fault", K.TROUBLE, "bell_fault"),
    SiaCode("YH", "bell_restored", K.TROUBLE_CLEARED),
    SiaCode("YC", "communications_fail", K.TROUBLE, "communications_fail"),
    SiaCode("YK", "communications_restoral", K.TROUBLE_CLEARED),
    SiaCode("YS", "communications_trouble", K.TROUBLE, "communications_trouble"),
    SiaCode("YF", "parameter_checksum_fail", K.TROUBLE, "parameter_checksum_fail"),
    SiaCode("YI", "overcurrent_trouble", K.TROUBLE, "overcurrent_trouble"),
    SiaCode("YJ", "overcurrent_restore", K.TROUBLE_CLEARED),
    SiaCode("YP", "power_supply_trouble", K.TROUBLE, "power_supply_trouble"),
    SiaCode("YQ", "power_supply_restored", K.TROUBLE_CLEARED),
    SiaCode("YX", "service_required", K.TROUBLE, "service_required"),
    SiaCode("YZ", "service_completed", K.TROUBLE_CLEARED),
    SiaCode("YG", "parameter_changed", K.TELEMETRY),
    SiaCode("YW", "watchdog_reset", K.TELEMETRY),
    SiaCode("YB", "busy_seconds", K.TELEMETRY),
    SiaCode("LT", "phone_line_trouble", K.TROUBLE, "phone_line_trouble"),
    SiaCode("LR", "phone_line_restoral", K.TROUBLE_CLEARED),
    SiaCode("ET", "expansion_trouble", K.TROUBLE, "expansion_trouble"),
    SiaCode("ER", "expansion_restoral", K.TROUBLE_CLEARED),
    # Tests: the panel is alive
    SiaCode("RP", "automatic_test", K.HEARTBEAT),
    SiaCode("RX", "manual_test", K.HEARTBEAT),
    SiaCode("RY", "test_off_normal", K.HEARTBEAT),
    SiaCode("TX", "test_report", K.HEARTBEAT),
    SiaCode("RR", "power_up", K.HEARTBEAT),
    SiaCode("TS", "test_start", K.TELEMETRY),
    SiaCode("TE", "test_end", K.TELEMETRY),
    SiaCode("RN", "remote_reset", K.TELEMETRY),
    SiaCode("RS", "remote_program_success", K.TELEMETRY),
    SiaCode("RB", "remote_program_begin", K.TELEMETRY),
    # Openings and closings by a person: someone is up and about
    _user("OP", "opening_report", K.ACTIVITY, "opening"),
    _user("CL", "closing_report", K.ACTIVITY, "closing"),
    _user("OR", "disarm_from_alarm", K.ACTIVITY, "opening"),
    _user("OS", "opening_keyswitch", K.ACTIVITY, "opening"),
    _user("CS", "closing_keyswitch", K.ACTIVITY, "closing"),
    _user("OG", "open_area", K.ACTIVITY, "opening"),
    _user("CG", "close_area", K.ACTIVITY, "closing"),
    _user("NL", "perimeter_armed", K.ACTIVITY, "armed_stay"),
    _user("DG", "access_granted", K.ACTIVITY, "access"),
    _user("OA", "automatic_opening"),
    _user("CA", "automatic_closing"),
    _user("CP", "automatic_arm"),
    _user("OK", "early_open"),
    _user("CK", "early_close"),
    _user("OJ", "late_open"),
    _user("CJ", "late_close"),
    _user("OI", "fail_to_open"),
    _user("CI", "fail_to_close"),
    _user("OT", "late_to_close"),
    _user("CR", "recent_closing"),
    _user("CE", "closing_extend"),
    _user("CF", "forced_closing"),
    _user("OC", "cancel_report"),
    _user("DD", "access_denied"),
    # A resident not heard from
    SiaCode("NA", "no_activity", K.INACTIVITY, "no_activity"),
)


def build_sia_table(codes: Iterable[SiaCode]) -> dict[str, SiaCode]:
    table: dict[str, SiaCode] = {}
    for c in codes:
        if c.code in table:
            raise ValueError(f"SIA code {c.code} listed twice")
        table[c.code] = c
    return table


SIA_CODES: Mapping[str, SiaCode] = build_sia_table(KNOWN_SIA_CODES)
