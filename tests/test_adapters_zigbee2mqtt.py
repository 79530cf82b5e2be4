"""Zigbee2MQTT decoding, with payloads as the bridge publishes them."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from device_adapters.events import DecodeError, DeviceEvent, EventKind
from device_adapters.zigbee2mqtt import Zigbee2MqttDecoder

T0 = datetime(2026, 11, 28, 4, 30, tzinfo=UTC)

MODELS = {
    "elder-101/sos": "TS0215A_sos",
    "elder-102/sos": "HS1EB/HS1EB-E",
    "elder-101/bathroom/leak": "SJCGQ11LM",
    "elder-103/kitchen/leak": "SNZB-05",
    "elder-101/bedroom/radar": "MIR-HE200-TY_fall",
}


def lookup(name: str) -> str | None:
    return MODELS.get(name)


def js(obj: dict[str, Any]) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


def kinds(events: list[DeviceEvent]) -> list[EventKind]:
    return [e.kind for e in events]


@pytest.fixture
def dec() -> Zigbee2MqttDecoder:
    return Zigbee2MqttDecoder("zigbee2mqtt", lookup)


# --- SOS buttons and the action quirks --------------------------------------------------------

SOS_STATE = {"battery": 100, "linkquality": 87, "voltage": 3000}


def test_tuya_sos_press_then_cleared_action_raises_one_sos(dec: Zigbee2MqttDecoder) -> None:
    topic = "zigbee2mqtt/elder-101/sos"
    pressed = dec.decode(topic, js({**SOS_STATE, "action": "emergency"}), T0)
    assert kinds(pressed) == [EventKind.SOS]
    ev = pressed[0]
    assert ev.device_id == "elder-101/sos"
    assert ev.value == "emergency"
    assert ev.model == "TS0215A_sos"
    assert ev.source == "zigbee2mqtt"
    assert ev.at == T0
    assert ev.raw["battery"] == 100
    # homeassistant.legacy_action_sensor: the same state with "action": "" right after
    cleared = dec.decode(topic, js({**SOS_STATE, "action": ""}), T0 + timedelta(milliseconds=5))
    assert kinds(cleared) == [EventKind.TELEMETRY]
    # later battery report re-publishes the cached state, which never holds `action`
    later = dec.decode(topic, js({**SOS_STATE, "battery": 99}), T0 + timedelta(hours=1))
    assert kinds(later) == [EventKind.TELEMETRY]
    assert later[0].raw["battery"] == 99


def test_action_null_is_not_an_sos(dec: Zigbee2MqttDecoder) -> None:
    events = dec.decode("zigbee2mqtt/elder-101/sos", js({**SOS_STATE, "action": None}), T0)
    assert kinds(events) == [EventKind.TELEMETRY]


def test_action_topic_echo_of_state_action_is_dropped(dec: Zigbee2MqttDecoder) -> None:
    # Order Zigbee2MQTT publishes in: state with action, cleared state, then <name>/action.
    topic = "zigbee2mqtt/elder-101/sos"
    first = dec.decode(topic, js({**SOS_STATE, "action": "emergency"}), T0)
    cleared = dec.decode(topic, js({**SOS_STATE, "action": ""}), T0 + timedelta(milliseconds=3))
    echo = dec.decode(topic + "/action", b"emergency", T0 + timedelta(milliseconds=6))
    assert kinds(first) == [EventKind.SOS]
    assert kinds(cleared) == [EventKind.TELEMETRY]
    assert echo == []


def test_state_echo_of_action_topic_is_dropped(dec: Zigbee2MqttDecoder) -> None:
    topic = "zigbee2mqtt/elder-101/sos"
    first = dec.decode(topic + "/action", b"emergency", T0)
    echo = dec.decode(topic, js({**SOS_STATE, "action": "emergency"}), T0 + timedelta(milliseconds=4))
    assert kinds(first) == [EventKind.SOS]
    assert first[0].raw == {"action": "emergency"}
    assert kinds(echo) == [EventKind.TELEMETRY]


def test_second_press_after_the_echo_window_is_a_new_sos(dec: Zigbee2MqttDecoder) -> None:
    topic = "zigbee2mqtt/elder-101/sos"
    assert kinds(dec.decode(topic, js({**SOS_STATE, "action": "emergency"}), T0)) == [EventKind.SOS]
    assert dec.decode(topic + "/action", b"emergency", T0 + timedelta(milliseconds=2)) == []
    again = dec.decode(topic, js({**SOS_STATE, "action": "emergency"}), T0 + timedelta(seconds=30))
    assert kinds(again) == [EventKind.SOS]
    assert dec.decode(topic + "/action", b"emergency", T0 + timedelta(seconds=30, milliseconds=2)) == []


def test_two_presses_in_the_state_topic_are_two_sos(dec: Zigbee2MqttDecoder) -> None:
    topic = "zigbee2mqtt/elder-101/sos"
    a = dec.decode(topic, js({**SOS_STATE, "action": "emergency"}), T0)
    b = dec.decode(topic, js({**SOS_STATE, "action": "emergency"}), T0 + timedelta(seconds=1))
    assert kinds(a) == kinds(b) == [EventKind.SOS]


def test_legacy_action_topic_alone(dec: Zigbee2MqttDecoder) -> None:
    events = dec.decode("zigbee2mqtt/elder-101/sos/action", b"emergency\n", T0)
    assert kinds(events) == [EventKind.SOS]
    assert events[0].value == "emergency"
    assert dec.decode("zigbee2mqtt/elder-101/sos/action", b"", T0) == []
    # an action that is not an alarm for this model
    assert dec.decode("zigbee2mqtt/elder-101/sos/action", b"arm_day_zones", T0) == []


def test_retained_state_with_an_old_action_raises_nothing(dec: Zigbee2MqttDecoder) -> None:
    events = dec.decode("zigbee2mqtt/elder-101/sos", js({**SOS_STATE, "action": "emergency"}), T0, retained=True)
    assert kinds(events) == [EventKind.TELEMETRY]
    assert dec.decode("zigbee2mqtt/elder-101/sos/action", b"emergency", T0, retained=True) == []


def test_heiman_hs1eb_press_and_release(dec: Zigbee2MqttDecoder) -> None:
    topic = "zigbee2mqtt/elder-102/sos"
    for i, action in enumerate(("single", "double", "hold")):
        events = dec.decode(topic, js({"action": action, "battery": 97, "linkquality": 60}), T0 + timedelta(i))
        assert kinds(events) == [EventKind.SOS]
        assert events[0].model == "HS1EB/HS1EB-E"
    release = dec.decode(topic, js({"action": "off", "battery": 97, "linkquality": 60}), T0 + timedelta(5))
    assert kinds(release) == [EventKind.TELEMETRY]


def test_generic_profile_does_not_page_on_ordinary_button_actions() -> None:
    dec = Zigbee2MqttDecoder()
    assert kinds(dec.decode("zigbee2mqtt/hall/switch", js({"action": "single"}), T0)) == [EventKind.TELEMETRY]
    assert kinds(dec.decode("zigbee2mqtt/hall/sos", js({"action": "emergency"}), T0)) == [EventKind.SOS]


def test_device_information_model_wins_over_lookup() -> None:
    dec = Zigbee2MqttDecoder(model_lookup=lambda name: "SJCGQ11LM")
    payload = {
        "action": "single",
        "battery": 90,
        "device": {
            "friendlyName": "elder-104/sos",
            "model": "HS1EB/HS1EB-E",
            "ieeeAddr": "0x00124b0022a1b2c3",
            "manufacturerName": "HEIMAN",
            "powerSource": "Battery",
            "type": "EndDevice",
        },
    }
    events = dec.decode("zigbee2mqtt/elder-104/sos", js(payload), T0)
    assert kinds(events) == [EventKind.SOS]
    assert events[0].model == "HS1EB/HS1EB-E"


# --- leak sensors: cached-state repeats -----------------------------------------------------


def aqara(water_leak: bool, battery: int = 100) -> bytes:
    return js(
        {
            "battery": battery,
            "device_temperature": 25,
            "linkquality": 120,
            "power_outage_count": 3,
            "voltage": 3055,
            "water_leak": water_leak,
        }
    )


def test_aqara_leak_edges_with_cached_state_repeats(dec: Zigbee2MqttDecoder) -> None:
    topic = "zigbee2mqtt/elder-101/bathroom/leak"
    # first sight of a dry sensor: one clear (see test_first_dry_state_is_a_clear_once)
    assert kinds(dec.decode(topic, aqara(False), T0)) == [EventKind.LEAK_CLEARED]
    wet = dec.decode(topic, aqara(True), T0 + timedelta(minutes=1))
    assert kinds(wet) == [EventKind.LEAK]
    assert wet[0].value is True
    assert wet[0].device_id == "elder-101/bathroom/leak"
    # every later report re-publishes the cached "water_leak": true
    for minute in (2, 3, 4):
        repeat = dec.decode(topic, aqara(True, battery=99), T0 + timedelta(minutes=minute))
        assert kinds(repeat) == [EventKind.TELEMETRY]
    dry = dec.decode(topic, aqara(False), T0 + timedelta(minutes=10))
    assert kinds(dry) == [EventKind.LEAK_CLEARED]
    assert kinds(dec.decode(topic, aqara(False), T0 + timedelta(minutes=11))) == [EventKind.TELEMETRY]
    assert kinds(dec.decode(topic, aqara(True), T0 + timedelta(minutes=12))) == [EventKind.LEAK]


def test_first_message_already_wet_is_a_leak(dec: Zigbee2MqttDecoder) -> None:
    events = dec.decode("zigbee2mqtt/elder-101/bathroom/leak", aqara(True), T0)
    assert kinds(events) == [EventKind.LEAK]


def test_first_dry_state_is_a_clear_once(dec: Zigbee2MqttDecoder) -> None:
    """This process may not have seen the leak (a restart, another instance): the first dry
    state clears once, later ones are telemetry."""
    topic = "zigbee2mqtt/elder-101/bathroom/leak"
    assert kinds(dec.decode(topic, aqara(False), T0)) == [EventKind.LEAK_CLEARED]
    assert kinds(dec.decode(topic, aqara(False), T0 + timedelta(minutes=1))) == [EventKind.TELEMETRY]


def test_state_is_per_device(dec: Zigbee2MqttDecoder) -> None:
    a = dec.decode("zigbee2mqtt/elder-101/bathroom/leak", aqara(True), T0)
    b = dec.decode("zigbee2mqtt/elder-103/kitchen/leak", js({"water_leak": True, "battery": 80}), T0)
    assert kinds(a) == kinds(b) == [EventKind.LEAK]


def test_forget_resets_memory(dec: Zigbee2MqttDecoder) -> None:
    topic = "zigbee2mqtt/elder-101/bathroom/leak"
    assert kinds(dec.decode(topic, aqara(True), T0)) == [EventKind.LEAK]
    dec.forget("elder-101/bathroom/leak")
    assert kinds(dec.decode(topic, aqara(True), T0)) == [EventKind.LEAK]
    dec.forget()
    assert kinds(dec.decode(topic, aqara(True), T0)) == [EventKind.LEAK]


def sonoff(**kw: Any) -> bytes:
    state: dict[str, Any] = {"battery": 100, "battery_low": False, "linkquality": 92, "tamper": False}
    state.update(kw)
    return js(state)


def test_sonoff_battery_low_and_tamper_rising_edges(dec: Zigbee2MqttDecoder) -> None:
    topic = "zigbee2mqtt/elder-103/kitchen/leak"
    assert kinds(dec.decode(topic, sonoff(water_leak=False), T0)) == [EventKind.LEAK_CLEARED]  # first sight
    low = dec.decode(topic, sonoff(water_leak=False, battery_low=True, battery=12), T0)
    assert kinds(low) == [EventKind.BATTERY_LOW]
    assert low[0].value == 12  # battery % when known
    assert kinds(dec.decode(topic, sonoff(water_leak=False, battery_low=True, battery=11), T0)) == [EventKind.TELEMETRY]
    tamper = dec.decode(topic, sonoff(water_leak=False, battery_low=True, tamper=True, battery=11), T0)
    assert kinds(tamper) == [EventKind.TAMPER]
    both = dec.decode(topic, sonoff(water_leak=True, battery_low=True, tamper=True, battery=11), T0)
    assert kinds(both) == [EventKind.LEAK]
    # tamper goes away and comes back: a new tamper event; leak stays: nothing new
    dec.decode(topic, sonoff(water_leak=True, battery_low=True, tamper=False, battery=11), T0)
    again = dec.decode(topic, sonoff(water_leak=True, battery_low=True, tamper=True, battery=11), T0)
    assert kinds(again) == [EventKind.TAMPER]


def test_leak_and_tamper_in_one_message_give_both_events(dec: Zigbee2MqttDecoder) -> None:
    events = dec.decode("zigbee2mqtt/elder-103/kitchen/leak", sonoff(water_leak=True, tamper=True), T0)
    assert kinds(events) == [EventKind.LEAK, EventKind.TAMPER]
    assert all(e.raw["water_leak"] is True for e in events)


def test_battery_percentage_threshold_in_generic_profile() -> None:
    dec = Zigbee2MqttDecoder()
    topic = "zigbee2mqtt/some/unknown/leak"
    first = dec.decode(topic, js({"battery": 40, "water_leak": False}), T0)
    assert kinds(first) == [EventKind.LEAK_CLEARED]  # first sight of a dry sensor
    low = dec.decode(topic, js({"battery": 8, "water_leak": False}), T0)
    assert kinds(low) == [EventKind.BATTERY_LOW]
    assert low[0].value == 8
    assert kinds(dec.decode(topic, js({"battery": 7, "water_leak": False}), T0)) == [EventKind.TELEMETRY]


def test_water_leak_must_be_a_real_boolean(dec: Zigbee2MqttDecoder) -> None:
    events = dec.decode("zigbee2mqtt/elder-101/bathroom/leak", js({"water_leak": "true"}), T0)
    assert kinds(events) == [EventKind.TELEMETRY]


# --- fall radar -----------------------------------------------------------------------------


def radar(status: str) -> bytes:
    return js(
        {
            "fall_down_status": status,
            "fall_sensitivity": 5,
            "illuminance_lux": 120,
            "linkquality": 156,
            "motion_speed": 0,
            "occupancy": True,
            "presence": True,
            "radar_scene": "bedroom",
            "radar_sensitivity": 7,
            "static_dwell_alarm": "",
            "tumble_alarm_time": 1,
            "tumble_switch": "ON",
        }
    )


def test_fall_radar_edges(dec: Zigbee2MqttDecoder) -> None:
    topic = "zigbee2mqtt/elder-101/bedroom/radar"
    assert kinds(dec.decode(topic, radar("none"), T0)) == [EventKind.TELEMETRY]
    assert kinds(dec.decode(topic, radar("maybe_fall"), T0)) == [EventKind.TELEMETRY]
    fall = dec.decode(topic, radar("fall"), T0)
    assert kinds(fall) == [EventKind.FALL]
    assert fall[0].value == "fall"
    assert fall[0].raw["radar_scene"] == "bedroom"  # unknown fields stay in the raw reading
    assert kinds(dec.decode(topic, radar("fall"), T0)) == [EventKind.TELEMETRY]
    assert kinds(dec.decode(topic, radar("none"), T0)) == [EventKind.TELEMETRY]
    assert kinds(dec.decode(topic, radar("fall"), T0)) == [EventKind.FALL]


# --- availability ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("payload", "state"),
    [
        (b'{"state":"online"}', "online"),
        (b'{"state":"offline"}', "offline"),
        (b"online", "online"),
        (b"offline", "offline"),
    ],
)
def test_availability_both_forms(dec: Zigbee2MqttDecoder, payload: bytes, state: str) -> None:
    events = dec.decode("zigbee2mqtt/elder-101/bathroom/leak/availability", payload, T0)
    assert len(events) == 1
    ev = events[0]
    assert ev.kind is EventKind.AVAILABILITY
    assert ev.value == state
    assert ev.device_id == "elder-101/bathroom/leak"
    assert ev.model == "SJCGQ11LM"


@pytest.mark.parametrize("payload", [b'{"state":"sleeping"}', b"maybe", b'{"status":"online"}'])
def test_availability_bad_values(dec: Zigbee2MqttDecoder, payload: bytes) -> None:
    with pytest.raises(DecodeError) as err:
        dec.decode("zigbee2mqtt/elder-101/sos/availability", payload, T0)
    assert err.value.reason == "bad_value"


def test_availability_not_json_object(dec: Zigbee2MqttDecoder) -> None:
    with pytest.raises(DecodeError) as err:
        dec.decode("zigbee2mqtt/elder-101/sos/availability", b'{"state":', T0)
    assert err.value.reason == "not_json"


# --- topics that are ignored or refused ------------------------------------------------------


@pytest.mark.parametrize(
    "topic",
    [
        "zigbee2mqtt/bridge/state",
        "zigbee2mqtt/bridge/devices",
        "zigbee2mqtt/bridge/event",
        "zigbee2mqtt/bridge/response/device/rename",
        "zigbee2mqtt/bridge",
        "zigbee2mqtt/elder-101/sos/set",
        "zigbee2mqtt/elder-101/sos/get",
        "zigbee2mqtt/elder-101/sos/set/brightness",
        "zigbee2mqtt/lamp/l1/set",
    ],
)
def test_bridge_and_command_topics_are_ignored(dec: Zigbee2MqttDecoder, topic: str) -> None:
    assert dec.decode(topic, b'{"state":"ON"}', T0) == []


def test_empty_payload_clears_retained_state(dec: Zigbee2MqttDecoder) -> None:
    assert dec.decode("zigbee2mqtt/elder-101/sos", b"", T0) == []
    assert dec.decode("zigbee2mqtt/elder-101/sos/availability", b"", T0) == []


@pytest.mark.parametrize("topic", ["zigbee2mqtt/", "zigbee2mqtt//x", "zigbee2mqtt/x/", "other/x"])
def test_topics_without_a_friendly_name(dec: Zigbee2MqttDecoder, topic: str) -> None:
    with pytest.raises(DecodeError) as err:
        dec.decode(topic, b"{}", T0)
    assert err.value.reason == "unknown_topic"


def test_friendly_name_ending_in_action_with_json_state(dec: Zigbee2MqttDecoder) -> None:
    events = dec.decode("zigbee2mqtt/hall/action", js({"battery": 50}), T0)
    assert kinds(events) == [EventKind.TELEMETRY]
    assert events[0].device_id == "hall/action"


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"not json", "not_json"),
        (b'{"battery":', "not_json"),
        (b'{"battery": NaN}', "not_json"),
        (b"\xff\xfe{}", "not_utf8"),
        (b"[1,2]", "wrong_type"),
        (b"87", "wrong_type"),
        (b'"ON"', "wrong_type"),
    ],
)
def test_bad_state_payloads(dec: Zigbee2MqttDecoder, payload: bytes, reason: str) -> None:
    with pytest.raises(DecodeError) as err:
        dec.decode("zigbee2mqtt/elder-101/sos", payload, T0)
    assert err.value.reason == reason


def test_custom_base_topic() -> None:
    dec = Zigbee2MqttDecoder("home/z2m/", lookup)
    assert dec.subscriptions() == ["home/z2m/#"]
    events = dec.decode("home/z2m/elder-101/sos", js({"action": "emergency"}), T0)
    assert kinds(events) == [EventKind.SOS]
    assert dec.decode("home/z2m/bridge/state", b'{"state":"online"}', T0) == []


# --- time -----------------------------------------------------------------------------------


def test_last_seen_iso_is_the_event_time(dec: Zigbee2MqttDecoder) -> None:
    seen = "2026-11-28T12:29:58.500+08:00"  # ISO_8601_local
    events = dec.decode("zigbee2mqtt/elder-101/sos", js({"action": "emergency", "last_seen": seen}), T0)
    assert events[0].at == datetime(2026, 11, 28, 4, 29, 58, 500000, tzinfo=UTC)


def test_last_seen_epoch_ms_is_the_event_time(dec: Zigbee2MqttDecoder) -> None:
    ms = int((T0 - timedelta(seconds=3)).timestamp() * 1000)
    events = dec.decode("zigbee2mqtt/elder-101/sos", js({"battery": 50, "last_seen": ms}), T0)
    assert events[0].at == T0 - timedelta(seconds=3)


@pytest.mark.parametrize("seen", ["2026-11-28T04:30:00", "yesterday", "2030-01-01T00:00:00Z", True])
def test_unusable_last_seen_falls_back_to_receive_time(dec: Zigbee2MqttDecoder, seen: Any) -> None:
    events = dec.decode("zigbee2mqtt/elder-101/sos", js({"battery": 50, "last_seen": seen}), T0)
    assert events[0].at == T0


def test_naive_receive_time_is_taken_as_utc(dec: Zigbee2MqttDecoder) -> None:
    events = dec.decode("zigbee2mqtt/elder-101/sos", js({"battery": 50}), datetime(2026, 11, 28, 4, 30))
    assert events[0].at == T0
    assert events[0].at.tzinfo is UTC


def test_memory_is_bounded() -> None:
    dec = Zigbee2MqttDecoder(max_devices=3)
    for i in range(10):
        dec.decode(f"zigbee2mqtt/dev{i}", js({"water_leak": True}), T0)
    assert len(dec._memory) == 3
    assert "dev9" in dec._memory


def test_friendly_name_longer_than_a_device_id_is_refused(dec: Zigbee2MqttDecoder) -> None:
    name = "x" * 129
    for topic in (f"zigbee2mqtt/{name}", f"zigbee2mqtt/{name}/availability"):
        with pytest.raises(DecodeError) as err:
            dec.decode(topic, b'{"action":"emergency","state":"online"}', T0)
        assert err.value.reason == "bad_device_id"
    assert dec.decode(f"zigbee2mqtt/{'y' * 128}", b'{"action":"emergency"}', T0)[0].kind is EventKind.SOS
