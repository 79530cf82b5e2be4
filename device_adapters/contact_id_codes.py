"""The Ademco Contact ID (SIA DC-05) event table, as data: every code of the standard's table, what it
means when new (qualifier 1 or 6) and when restored (3), and whether its three-digit number is a zone
or a user.

The codes and their meanings are the public SIA DC-05 table (also listed by pysiaalarm's
``adm_mapping.json`` and dc09_spt's ``dc05_msg.py``, which confirm which codes carry a user number);
the kinds are our decisions for a community that looks after elderly residents:

- life and safety (medical, panic, duress, fire, heat, gas, CO) raise P1 emergencies (``sos``,
  ``fire``, ``gas``, ``co``);
- intrusions and alarms of no more specific kind (general, 24-hour, loss of heat, low temperature)
  raise P2 alarms for a person to check (``intrusion``, ``alarm``);
- a missed check-in (102, 641, 642, 654) asks someone to look in (``inactivity``: a wellbeing check);
- troubles, supervision, AC and batteries, tamper raise maintenance tickets;
- tests are heartbeats; openings and closings by a person are activity; the rest is telemetry (kept,
  not raised).

A code that is not here is never dropped: the decoder turns it into ``unknown_alarm`` (a P2 order
"unknown alarm from panel X") and the receiver keeps the frame as a dead letter.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from device_adapters.events import EventKind

__all__ = ["CONTACT_ID_CODES", "KNOWN_CODES", "Address", "CidCode", "build_table"]


class Address(StrEnum):
    """What the three-digit number after the group is."""

    ZONE = "zone"
    USER = "user"


@dataclass(frozen=True, slots=True)
class CidCode:
    """One row: what an event code means when new (qualifier 1 or 6) and when restored (3).

    ``restore_kind`` None: a restore of this code raises nothing (it becomes telemetry, so it is still
    recorded): e.g. a medical alarm being reset at the panel. For openings and closings (4xx) the
    qualifier 1 is an opening (disarm) and 3 a closing (arm).
    """

    code: str
    name: str
    kind: EventKind
    restore_kind: EventKind | None = None
    value: Any = None
    restore_value: Any = None
    address: Address = Address.ZONE

    def __post_init__(self) -> None:
        if len(self.code) != 3 or not self.code.isdigit():
            raise ValueError(f"Contact ID code {self.code!r} must be three digits")


K = EventKind
USER = Address.USER


def _sos(code: str, name: str, value: str, address: Address = Address.ZONE) -> CidCode:
    return CidCode(code, name, K.SOS, None, value, None, address)


def _fire(code: str, name: str, value: str) -> CidCode:
    return CidCode(code, name, K.FIRE, K.FIRE_CLEARED, value)


def _intrusion(code: str, name: str, value: str) -> CidCode:
    return CidCode(code, name, K.INTRUSION, None, value)


def _alarm(code: str, name: str, value: str) -> CidCode:
    return CidCode(code, name, K.ALARM, None, value)


def _trouble(code: str, name: str, address: Address = Address.ZONE) -> CidCode:
    return CidCode(code, name, K.TROUBLE, K.TROUBLE_CLEARED, name, None, address)


def _telemetry(code: str, name: str, address: Address = Address.ZONE) -> CidCode:
    return CidCode(code, name, K.TELEMETRY, K.TELEMETRY, None, None, address)


def _open_close(code: str, name: str) -> CidCode:
    """A person opened (1: disarmed) or closed (3: armed): someone is up and about."""
    return CidCode(code, name, K.ACTIVITY, K.ACTIVITY, "opening", "closing", USER)


def _test(code: str, name: str) -> CidCode:
    return CidCode(code, name, K.HEARTBEAT, K.HEARTBEAT)


def _offline(code: str, name: str) -> CidCode:
    return CidCode(code, name, K.AVAILABILITY, K.AVAILABILITY, "offline", "online")


def _battery(code: str, name: str) -> CidCode:
    return CidCode(code, name, K.BATTERY_LOW, K.BATTERY_OK)


def _tamper(code: str, name: str) -> CidCode:
    return CidCode(code, name, K.TAMPER, K.TAMPER_CLEARED)


def _inactivity(code: str, name: str, address: Address = Address.ZONE) -> CidCode:
    return CidCode(code, name, K.INACTIVITY, K.ACTIVITY_RESUMED, name, None, address)


KNOWN_CODES: tuple[CidCode, ...] = (
    # 10x medical: page someone. There is no "SOS over" kind; a restore is telemetry.
    _sos("100", "medical", "medical"),
    _sos("101", "personal_emergency", "personal_emergency"),
    _inactivity("102", "fail_to_report_in"),  # a resident's check-in missed: someone looks in
    # 11x fire: P1
    _fire("110", "fire", "fire"),
    _fire("111", "smoke", "smoke"),
    _fire("112", "combustion", "combustion"),
    _fire("113", "water_flow", "water_flow"),  # a sprinkler is running
    _fire("114", "heat", "heat"),
    _fire("115", "pull_station", "pull_station"),
    _fire("116", "duct", "duct"),
    _fire("117", "flame", "flame"),
    _fire("118", "near_alarm", "near_alarm"),
    # 12x panic: P1
    _sos("120", "panic", "panic"),
    _sos("121", "duress", "duress", USER),
    _sos("122", "silent_panic", "silent_panic"),
    _sos("123", "audible_panic", "audible_panic"),
    _sos("124", "duress_access_granted", "duress", USER),
    _sos("125", "duress_egress_granted", "duress", USER),
    # 13x burglary: P2
    _intrusion("130", "burglary", "burglary"),
    _intrusion("131", "perimeter", "perimeter"),
    _intrusion("132", "interior", "interior"),
    _intrusion("133", "24_hour_safe", "24_hour_safe"),
    _intrusion("134", "entry_exit", "entry_exit"),
    _intrusion("135", "day_night", "day_night"),
    _intrusion("136", "outdoor", "outdoor"),
    _tamper("137", "tamper"),
    _intrusion("138", "near_alarm", "near_alarm"),
    _intrusion("139", "intrusion_verifier", "verified"),
    # 14x general alarm
    _alarm("140", "general_alarm", "general"),
    _trouble("141", "polling_loop_open"),
    _trouble("142", "polling_loop_short"),
    _trouble("143", "expansion_module_failure"),
    _tamper("144", "sensor_tamper"),
    _tamper("145", "expansion_module_tamper"),
    _intrusion("146", "silent_burglary", "silent_burglary"),
    _offline("147", "sensor_supervision_failure"),
    # 15x-16x 24-hour non-burglary
    _alarm("150", "24_hour_non_burglary", "24_hour"),
    CidCode("151", "gas_detected", K.GAS, K.GAS_CLEARED, "gas"),
    _trouble("152", "refrigeration"),
    _alarm("153", "loss_of_heat", "loss_of_heat"),  # an elderly resident in a cold home
    CidCode("154", "water_leakage", K.LEAK, K.LEAK_CLEARED),
    _intrusion("155", "foil_break", "foil_break"),
    _trouble("156", "day_trouble"),
    _trouble("157", "low_bottled_gas_level"),
    _fire("158", "high_temperature", "high_temperature"),
    _alarm("159", "low_temperature", "low_temperature"),
    _trouble("161", "loss_of_air_flow"),
    CidCode("162", "carbon_monoxide", K.CO, K.CO_CLEARED, "co"),
    _trouble("163", "tank_level"),
    # 20x fire supervisory: the fire protection needs a technician
    _trouble("200", "fire_supervisory"),
    _trouble("201", "low_water_pressure"),
    _trouble("202", "low_co2"),
    _trouble("203", "gate_valve_sensor"),
    _trouble("204", "low_water_level"),
    _trouble("205", "pump_activated"),
    _trouble("206", "pump_failure"),
    # 30x system trouble
    _trouble("300", "system_trouble"),
    CidCode("301", "ac_loss", K.POWER_LOST, K.POWER_RESTORED),
    _battery("302", "low_system_battery"),
    _trouble("303", "ram_checksum_bad"),
    _trouble("304", "rom_checksum_bad"),
    _telemetry("305", "system_reset"),
    _telemetry("306", "panel_program_changed"),
    _trouble("307", "self_test_failure"),
    _trouble("308", "system_shutdown"),
    _battery("309", "battery_test_failure"),
    _trouble("310", "ground_fault"),
    _battery("311", "battery_missing"),
    _trouble("312", "power_supply_overcurrent"),
    _telemetry("313", "engineer_reset", USER),
    # 32x sounder and relay trouble
    _trouble("320", "sounder_relay"),
    _trouble("321", "bell_1"),
    _trouble("322", "bell_2"),
    _trouble("323", "alarm_relay"),
    _trouble("324", "trouble_relay"),
    _trouble("325", "reversing_relay"),
    _trouble("326", "notification_appliance_3"),
    _trouble("327", "notification_appliance_4"),
    # 33x-34x system peripheral trouble
    _trouble("330", "system_peripheral"),
    _trouble("331", "peripheral_polling_loop_open"),
    _trouble("332", "peripheral_polling_loop_short"),
    _trouble("333", "peripheral_expansion_module_failure"),
    _trouble("334", "repeater_failure"),
    _trouble("335", "local_printer_paper_out"),
    _trouble("336", "local_printer_failure"),
    _trouble("337", "expansion_module_dc_loss"),
    _battery("338", "expansion_module_low_battery"),
    _telemetry("339", "expansion_module_reset"),
    _tamper("341", "expansion_module_tamper_peripheral"),
    CidCode("342", "expansion_module_ac_loss", K.POWER_LOST, K.POWER_RESTORED),
    _trouble("343", "expansion_module_self_test_fail"),
    _trouble("344", "rf_receiver_jam"),
    # 35x communication trouble
    _trouble("350", "communication_trouble"),
    _trouble("351", "telco_1_fault"),
    _trouble("352", "telco_2_fault"),
    _trouble("353", "long_range_radio_fault"),
    _trouble("354", "failure_to_communicate"),
    _offline("355", "loss_of_radio_supervision"),
    _trouble("356", "loss_of_central_polling"),
    _trouble("357", "long_range_radio_vswr"),
    # 37x protection loop
    _trouble("370", "protection_loop"),
    _trouble("371", "protection_loop_open"),
    _trouble("372", "protection_loop_short"),
    _trouble("373", "fire_trouble"),
    _alarm("374", "exit_error_alarm", "exit_error"),
    _trouble("375", "panic_zone_trouble"),
    _trouble("376", "holdup_zone_trouble"),
    _trouble("377", "swinger_trouble"),
    _trouble("378", "cross_zone_trouble"),
    # 38x-39x sensor trouble
    _trouble("380", "sensor_trouble"),
    _offline("381", "loss_of_supervision_rf"),
    _offline("382", "loss_of_supervision_rpm"),
    _tamper("383", "sensor_tamper_rf"),
    _battery("384", "rf_low_battery"),
    _trouble("385", "smoke_detector_high_sensitivity"),
    _trouble("386", "smoke_detector_low_sensitivity"),
    _trouble("387", "intrusion_detector_high_sensitivity"),
    _trouble("388", "intrusion_detector_low_sensitivity"),
    _trouble("389", "sensor_self_test_failure"),
    _trouble("391", "sensor_watch_trouble"),
    _trouble("392", "drift_compensation_error"),
    _trouble("393", "maintenance_alert"),
    # 40x open/close (1: opening, 3: closing), by user
    _open_close("400", "open_close"),
    _open_close("401", "open_close_by_user"),
    _open_close("402", "group_open_close"),
    _telemetry("403", "automatic_open_close", USER),
    _telemetry("404", "late_open_close", USER),
    _telemetry("405", "deferred_open_close", USER),
    _telemetry("406", "cancel", USER),
    _telemetry("407", "remote_arm_disarm", USER),
    _open_close("408", "quick_arm"),
    _open_close("409", "keyswitch_open_close"),
    # 41x remote access
    _telemetry("411", "callback_request_made", USER),
    _telemetry("412", "successful_download_access", USER),
    _telemetry("413", "unsuccessful_access", USER),
    _telemetry("414", "system_shutdown_command", USER),
    _telemetry("415", "dialer_shutdown_command", USER),
    _telemetry("416", "successful_upload"),
    # 42x-43x access control
    _telemetry("421", "access_denied", USER),
    CidCode("422", "access_report_by_user", K.ACTIVITY, K.ACTIVITY, "access", "access", USER),
    _intrusion("423", "forced_access", "forced_access"),
    _telemetry("424", "egress_denied", USER),
    CidCode("425", "egress_granted", K.ACTIVITY, K.ACTIVITY, "egress", "egress", USER),
    _telemetry("426", "door_propped_open"),
    _trouble("427", "access_point_door_status_monitor_trouble"),
    _trouble("428", "access_point_request_to_exit_trouble"),
    _telemetry("429", "access_program_mode_entry", USER),
    _telemetry("430", "access_program_mode_exit", USER),
    _telemetry("431", "access_threat_level_change", USER),
    _trouble("432", "access_relay_trigger_fail"),
    _telemetry("433", "access_rte_shunt"),
    _telemetry("434", "access_dsm_shunt"),
    # 44x-46x special arming and disarming
    CidCode("441", "armed_stay", K.ACTIVITY, K.ACTIVITY, "armed_stay", "disarmed", USER),
    CidCode("442", "keyswitch_armed_stay", K.ACTIVITY, K.ACTIVITY, "armed_stay", "disarmed", USER),
    _telemetry("450", "exception_open_close", USER),
    _telemetry("451", "early_open_close", USER),
    _telemetry("452", "late_open_close_special", USER),
    _telemetry("453", "failed_to_open", USER),
    _telemetry("454", "failed_to_close", USER),
    _telemetry("455", "auto_arm_failed", USER),
    _telemetry("456", "partial_arm", USER),
    _telemetry("457", "exit_error_by_user", USER),
    CidCode("458", "user_on_premises", K.ACTIVITY, K.ACTIVITY, "on_premises", "on_premises", USER),
    _telemetry("459", "recent_close", USER),
    _telemetry("461", "wrong_code_entry"),
    _telemetry("462", "legal_code_entry", USER),
    _telemetry("463", "rearm_after_alarm", USER),
    _telemetry("464", "auto_arm_time_extended", USER),
    _telemetry("465", "panic_alarm_reset"),
    _telemetry("466", "service_on_off_premises", USER),
    # 5xx disables and bypasses
    _telemetry("501", "access_reader_disable"),
    _telemetry("520", "sounder_relay_disable"),
    _telemetry("521", "bell_1_disable"),
    _telemetry("522", "bell_2_disable"),
    _telemetry("523", "alarm_relay_disable"),
    _telemetry("524", "trouble_relay_disable"),
    _telemetry("525", "reversing_relay_disable"),
    _telemetry("526", "notification_appliance_3_disable"),
    _telemetry("527", "notification_appliance_4_disable"),
    _telemetry("531", "module_added"),
    _telemetry("532", "module_removed"),
    _trouble("551", "dialer_disabled"),  # the panel can no longer call for help
    _trouble("552", "radio_transmitter_disabled"),
    _telemetry("553", "remote_upload_download_disabled"),
    _telemetry("570", "zone_bypass"),
    _trouble("571", "fire_bypass"),  # a bypassed fire zone protects nobody
    _telemetry("572", "24_hour_zone_bypass"),
    _telemetry("573", "burglary_bypass"),
    _telemetry("574", "group_bypass", USER),
    _telemetry("575", "swinger_bypass"),
    _telemetry("576", "access_zone_shunt"),
    _telemetry("577", "access_point_bypass"),
    # 6xx tests and miscellaneous
    _test("601", "manual_trigger_test_report"),
    _test("602", "periodic_test_report"),
    _test("603", "periodic_rf_transmission"),
    _telemetry("604", "fire_test", USER),
    _telemetry("605", "status_report_to_follow"),
    _telemetry("606", "listen_in_to_follow"),
    _telemetry("607", "walk_test_mode", USER),
    _test("608", "periodic_test_trouble_present"),
    _telemetry("609", "video_transmitter_active"),
    _telemetry("611", "point_tested_ok"),
    _telemetry("612", "point_not_tested"),
    _telemetry("613", "intrusion_zone_walk_tested"),
    _telemetry("614", "fire_zone_walk_tested"),
    _telemetry("615", "panic_zone_walk_tested"),
    _trouble("616", "service_request"),
    _telemetry("621", "event_log_reset"),
    _telemetry("622", "event_log_50_percent_full"),
    _telemetry("623", "event_log_90_percent_full"),
    _telemetry("624", "event_log_overflow"),
    _telemetry("625", "time_date_reset", USER),
    _telemetry("626", "time_date_inaccurate"),
    _telemetry("627", "program_mode_entry"),
    _telemetry("628", "program_mode_exit"),
    _telemetry("629", "32_hour_event_log_marker"),
    _telemetry("630", "schedule_change"),
    _telemetry("631", "exception_schedule_change"),
    _telemetry("632", "access_schedule_change"),
    # 64x-65x personnel monitoring: a resident not heard from
    _inactivity("641", "senior_watch_trouble"),
    _inactivity("642", "latch_key_supervision", USER),
    _inactivity("654", "system_inactivity"),
)


def build_table(codes: Iterable[CidCode]) -> dict[str, CidCode]:
    table: dict[str, CidCode] = {}
    for c in codes:
        if c.code in table:
            raise ValueError(f"Contact ID code {c.code} listed twice")
        table[c.code] = c
    return table


CONTACT_ID_CODES: Mapping[str, CidCode] = build_table(KNOWN_CODES)
