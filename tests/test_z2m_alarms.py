"""Zigbee2MQTT alarm devices (issue 9): payloads that zigbee-herdsman-converters' own converters
produce (tests/data/z2m/payloads.json, made by scripts/z2m_payloads.cjs from ZCL messages), the
renamed Tuya radar, and failing open for what looks like an alarm but is not classified."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from device_adapters.events import DeviceEvent, EventKind
from device_adapters.zigbee2mqtt import Zigbee2MqttDecoder
from device_adapters.zigbee2mqtt_models import ModelProfile, build_table

T0 = datetime(2026, 11, 28, 4, 30, tzinfo=UTC)
PAYLOADS = json.loads((Path(__file__).parent / "data" / "z2m" / "payloads.json").read_text())["payloads"]


def payload(name: str) -> dict[str, Any]:
    p: dict[str, Any] = PAYLOADS[name]["payload"]
    return p


def model_of(name: str) -> str:
    m: str = PAYLOADS[name]["model"]
    return m


def decoder(models: dict[str, str], kinds: dict[str, str] | None = None, **kw: Any) -> Zigbee2MqttDecoder:
    return Zigbee2MqttDecoder(model_lookup=models.get, kind_lookup=(kinds or {}).get, **kw)


def state(dec: Zigbee2MqttDecoder, name: str, obj: dict[str, Any], at: datetime = T0) -> list[DeviceEvent]:
    return dec.decode(f"zigbee2mqtt/{name}", json.dumps(obj).encode(), at)


def kinds(events: list[DeviceEvent]) -> list[tuple[EventKind, Any]]:
    return [(e.kind, e.value) for e in events]


@pytest.mark.parametrize("wet", ["bw_is9_wet", "adeo_83633206_wet", "pulsar_lpc_v1_wet"])
def test_leak_sensors_publishing_water_leak_alarm_1(wet: str) -> None:
    dec = decoder({"bath": model_of(wet)})
    events = state(dec, "bath", payload(wet) | {"battery": 90, "linkquality": 120})
    assert (EventKind.LEAK, True) in kinds(events)
    assert EventKind.UNKNOWN_ALARM not in [e.kind for e in events]


def test_leak_sensor_clears_when_dry_and_an_unknown_model_is_read_the_same() -> None:
    for models in ({"bath": "BW-IS9"}, {}):  # by its row, and by the generic profile
        dec = decoder(models)
        assert kinds(state(dec, "bath", payload("bw_is9_wet")))[0] == (EventKind.LEAK, True)
        dry = state(dec, "bath", payload("bw_is9_dry"), T0 + timedelta(minutes=3))
        assert [e.kind for e in dry] == [EventKind.LEAK_CLEARED]


def test_owon_fds315_fall() -> None:
    dec = decoder({"bedroom radar": "FDS315"})
    assert kinds(state(dec, "bedroom radar", payload("fds315_occupied"))) == [(EventKind.ACTIVITY, "occupied")]
    falling = state(dec, "bedroom radar", payload("fds315_falling"), T0 + timedelta(seconds=20))
    assert kinds(falling) == [(EventKind.FALL, "falling")]
    # The cached state re-published: no second fall; a new fall after getting up again: a new one.
    assert [e.kind for e in state(dec, "bedroom radar", payload("fds315_falling"), T0 + timedelta(seconds=30))] == [
        EventKind.TELEMETRY
    ]
    state(dec, "bedroom radar", payload("fds315_occupied"), T0 + timedelta(minutes=5))
    assert [e.kind for e in state(dec, "bedroom radar", payload("fds315_falling"), T0 + timedelta(minutes=9))] == [
        EventKind.FALL
    ]


@pytest.mark.parametrize("model", ["MIR-HE200-TY", "MIR-HE200-TY_fall"])
def test_tuya_radar_under_both_names(model: str) -> None:
    # fz.tuya_radar_sensor_fall: fall_down_status none / maybe_fall / fall (the model's exposes).
    dec = decoder({"radar": model})
    events = state(dec, "radar", {"presence": True, "fall_down_status": "fall", "device": {"model": model}})
    assert kinds(events) == [(EventKind.FALL, "fall")]


# --- fail open ---------------------------------------------------------------------------------


def test_unknown_action_on_a_registered_sos_button_is_an_unknown_alarm() -> None:
    dec = decoder({"sos 101": "HS1EB/HS1EB-E"}, {"sos 101": "sos"})
    assert kinds(state(dec, "sos 101", payload("heiman_hs1eb_single"))) == [(EventKind.SOS, "single")]
    # "off" is the release after a press (fz.command_status_change_notification_action): nothing.
    release = state(dec, "sos 101", payload("heiman_hs1eb_release"), T0 + timedelta(seconds=1))
    assert [e.kind for e in release] == [EventKind.TELEMETRY]
    strange = state(dec, "sos 101", {"action": "quadruple"}, T0 + timedelta(seconds=9))
    assert kinds(strange) == [(EventKind.UNKNOWN_ALARM, "quadruple")]
    assert "not known for an SOS device" in strange[0].raw["reason"]


def test_plain_button_registered_as_sos_fails_open_on_any_press() -> None:
    dec = decoder({}, {"pendant": "sos"})
    assert kinds(state(dec, "pendant", {"action": "single", "battery": 80})) == [(EventKind.UNKNOWN_ALARM, "single")]
    # The same press echoed on the legacy action topic is not a second alarm.
    assert dec.decode("zigbee2mqtt/pendant/action", b"single", T0 + timedelta(seconds=1)) == []
    # Without the registry's kind an ordinary button pages nobody.
    plain = decoder({})
    assert [e.kind for e in state(plain, "remote", {"action": "single"})] == [EventKind.TELEMETRY]


def test_legacy_action_topic_fails_open_too() -> None:
    dec = decoder({}, {"pendant": "sos"})
    assert kinds(dec.decode("zigbee2mqtt/pendant/action", b"double", T0)) == [(EventKind.UNKNOWN_ALARM, "double")]


@pytest.mark.parametrize("key", ["sos", "water_leak_alarm_1", "fall", "smoke", "gas"])
def test_alarm_named_property_a_profile_does_not_read_is_an_unknown_alarm(key: str) -> None:
    """A model whose row reads none of these (an incomplete row, or a new device)."""
    bare = ModelProfile(model="New-Model", vendor="", description="", rules=())
    dec = Zigbee2MqttDecoder(model_lookup={"hall": "New-Model"}.get, models=build_table([bare]))
    assert kinds(state(dec, "hall", {key: True, "battery": 70})) == [(EventKind.UNKNOWN_ALARM, key)]
    # A level: the cached state repeated raises nothing more; false then true again does.
    assert [e.kind for e in state(dec, "hall", {key: True}, T0 + timedelta(minutes=1))] == [EventKind.TELEMETRY]
    state(dec, "hall", {key: False}, T0 + timedelta(minutes=2))
    assert [e.kind for e in state(dec, "hall", {key: True}, T0 + timedelta(minutes=3))] == [EventKind.UNKNOWN_ALARM]


def test_settings_named_like_alarms_are_not_alarms() -> None:
    dec = decoder({})
    assert [e.kind for e in state(dec, "p100", {"fall_detection": True, "contact": True})] == [EventKind.TELEMETRY]


def test_smoke_gas_and_co_from_the_generic_rows() -> None:
    dec = decoder({})
    assert kinds(state(dec, "kitchen", {"smoke": True}))[0] == (EventKind.FIRE, True)
    assert kinds(state(dec, "boiler", {"gas_sensor_state": "alarm"}))[0] == (EventKind.GAS, "alarm")
    assert kinds(state(dec, "stove", {"carbon_monoxide": True}))[0] == (EventKind.CO, True)
    assert [e.kind for e in state(dec, "kitchen", {"smoke": False}, T0 + timedelta(minutes=5))] == [
        EventKind.FIRE_CLEARED
    ]
