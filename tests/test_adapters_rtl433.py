"""rtl_433 decoding, with payloads as rtl_433 publishes them on ``rtl_433/<host>/events``."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from device_adapters.decoder import MessageDecoder
from device_adapters.events import DecodeError, DeviceEvent, EventKind
from device_adapters.rtl433 import Rtl433Decoder, device_id_for, parse_time
from device_adapters.rtl433_models import (
    KNOWN_RTL433_MODELS,
    Rtl433Profile,
    Rtl433Rule,
    Trigger,
    build_rtl433_table,
)

T0 = datetime(2026, 11, 28, 4, 30, tzinfo=UTC)
TOPIC = "rtl_433/9b13b3f4-rtl433/events"

# Real payloads, as reported by rtl_433 users (MQTT events topic, and rtl_433 -F json).
GOVEE_BUTTON = (
    b'{"time":"2023-02-28 16:55:18","model":"Govee-Water","id":56948,"event":"Button Press",'
    b'"code":"218b05050750","mic":"PARITY"}'
)
GOVEE_LEAK = (
    b'{"time":"2023-02-28 16:56:32","model":"Govee-Water","id":56948,"event":"Water Leak",'
    b'"code":"218b04040750","mic":"PARITY"}'
)
GOVEE_BATTERY = (
    b'{"time" : "2022-05-29 12:43:58.341224", "model" : "Govee-Water", "id" : 6845, "battery_ok" : 0.950, '
    b'"battery_mV" : 2940, "event" : "Battery Report", "code" : "e54203a00350", "mic" : "PARITY", '
    b'"mod" : "ASK", "freq" : 433.917, "rssi" : -0.271, "snr" : 13.974, "noise" : -14.245}'
)
GOVEE_UNKNOWN = (
    b'{"time" : "2024-03-19T21:27:22.583805Z", "protocol" : 192, "model" : "Govee-Water", "id" : 4115, '
    b'"event" : "Unknown", "code" : "efeccfabef9f", "mic" : "PARITY"}'
)
DSC_OPEN = (
    b'{"time":"2023-06-22 19:37:10","model":"DSC-Security","id":3860837,"closed":0,"event":1,"tamper":0,'
    b'"battery_ok":1,"xactivity":1,"xtamper1":0,"xtamper2":0,"exception":0,"esn":"3ae965","status":161,'
    b'"status_hex":"a1","mic":"CRC","mod":"ASK","freq":433.93008,"rssi":-0.13023,"snr":22.19126,"noise":-22.3215}'
)


def js(obj: dict[str, Any]) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


def kinds(events: list[DeviceEvent]) -> list[EventKind]:
    return [e.kind for e in events]


def honeywell(**fields: Any) -> bytes:
    base = {
        "model": "Honeywell-Security",
        "id": 123456,
        "channel": 8,
        "event": 4,
        "state": "closed",
        "contact_open": 0,
        "reed_open": 0,
        "alarm": 0,
        "tamper": 0,
        "battery_ok": 1,
        "heartbeat": 0,
        "mic": "CRC",
    }
    return js({**base, **fields})


@pytest.fixture
def dec() -> Rtl433Decoder:
    return Rtl433Decoder()


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


# --- Govee water leak sensor ------------------------------------------------------------------


def test_govee_leak_repeats_then_button_press_clears(dec: Rtl433Decoder) -> None:
    first = dec.decode(TOPIC, GOVEE_LEAK, T0)
    assert kinds(first) == [EventKind.LEAK]
    ev = first[0]
    assert (ev.device_id, ev.source, ev.model, ev.value, ev.at) == (
        "rtl433/Govee-Water/56948",
        "rtl_433",
        "Govee-Water",
        "leak",
        T0,  # "time" has no zone: the receive time
    )
    assert ev.raw["code"] == "218b04040750"
    # the same packet decoded again within the second: a radio repeat, nothing
    assert dec.decode(TOPIC, GOVEE_LEAK, at(0.4)) == []
    # still wet, reported again later: recorded, no second alarm
    assert kinds(dec.decode(TOPIC, GOVEE_LEAK, at(5))) == [EventKind.TELEMETRY]
    assert kinds(dec.decode(TOPIC, GOVEE_LEAK, at(305))) == [EventKind.TELEMETRY]
    # the button is only sent while dry
    cleared = dec.decode(TOPIC, GOVEE_BUTTON, at(400))
    assert kinds(cleared) == [EventKind.LEAK_CLEARED]
    assert kinds(dec.decode(TOPIC, GOVEE_BUTTON, at(500))) == [EventKind.TELEMETRY]
    assert kinds(dec.decode(TOPIC, GOVEE_LEAK, at(600))) == [EventKind.LEAK]


def test_govee_leak_rearms_after_a_long_silence(dec: Rtl433Decoder) -> None:
    # The sensor says nothing when it dries; 30 min without a wet report, the next one is a new leak.
    assert kinds(dec.decode(TOPIC, GOVEE_LEAK, T0)) == [EventKind.LEAK]
    assert kinds(dec.decode(TOPIC, GOVEE_LEAK, at(29 * 60))) == [EventKind.TELEMETRY]
    assert kinds(dec.decode(TOPIC, GOVEE_LEAK, at(29 * 60 + 31 * 60))) == [EventKind.LEAK]


def test_govee_new_leak_number_is_a_new_leak(dec: Rtl433Decoder) -> None:
    leak = {"model": "Govee-Water", "id": 1080, "event": "Water Leak", "detect_wet": 1, "leak_num": 0, "mic": "CRC"}
    assert kinds(dec.decode(TOPIC, js(leak), T0)) == [EventKind.LEAK]
    assert kinds(dec.decode(TOPIC, js(leak), at(5))) == [EventKind.TELEMETRY]
    assert kinds(dec.decode(TOPIC, js({**leak, "leak_num": 1}), at(60))) == [EventKind.LEAK]


def test_first_dry_report_after_a_restart_clears(dec: Rtl433Decoder) -> None:
    # Unknown before (a restart, or another gateway saw the leak): a clear costs nothing.
    assert kinds(dec.decode(TOPIC, GOVEE_BUTTON, T0)) == [EventKind.LEAK_CLEARED]


def test_govee_battery(dec: Rtl433Decoder) -> None:
    ok = dec.decode(TOPIC, GOVEE_BATTERY, T0)
    assert kinds(ok) == [EventKind.TELEMETRY]
    assert ok[0].raw["battery_ok"] == 0.95 and ok[0].device_id == "rtl433/Govee-Water/6845"
    low = json.loads(GOVEE_BATTERY)
    low.update(battery_ok=0.240, battery_mV=2088, code="e54203d00350")
    events = dec.decode(TOPIC, js(low), at(60))
    assert kinds(events) == [EventKind.BATTERY_LOW]
    assert events[0].value == 24
    assert kinds(dec.decode(TOPIC, js({**low, "battery_ok": 0.01}), at(120))) == [EventKind.TELEMETRY]
    replaced = dec.decode(TOPIC, GOVEE_BATTERY, at(180))
    assert kinds(replaced) == [EventKind.BATTERY_OK]
    assert replaced[0].value == 95


def test_govee_heartbeat_and_unknown(dec: Rtl433Decoder) -> None:
    hb = {"model": "Govee-Water", "id": 6845, "event": "Heartbeat", "code": "e54203f00350", "mic": "PARITY"}
    assert kinds(dec.decode(TOPIC, js(hb), T0)) == [EventKind.HEARTBEAT]
    unknown = dec.decode(TOPIC, GOVEE_UNKNOWN, T0)
    assert kinds(unknown) == [EventKind.TELEMETRY]
    assert unknown[0].at == T0  # its zoned "time" is two years before the receive time: not trusted


def test_govee_contact_open_is_activity(dec: Rtl433Decoder) -> None:
    opened = {"model": "Govee-Contact", "id": 8995, "event": "Open", "code": "2323e7f4fc58", "mic": "PARITY"}
    events = dec.decode(TOPIC, js(opened), T0)
    assert kinds(events) == [EventKind.ACTIVITY] and events[0].value == "door_open"
    assert dec.decode(TOPIC, js(opened), at(1)) == []  # repeat
    assert kinds(dec.decode(TOPIC, js(opened), at(30))) == [EventKind.ACTIVITY]  # opened again


# --- alarm-panel sensors ----------------------------------------------------------------------


def test_dsc_contact_tamper_and_battery(dec: Rtl433Decoder) -> None:
    opened = dec.decode(TOPIC, DSC_OPEN, T0)
    assert kinds(opened) == [EventKind.ACTIVITY]
    assert opened[0].device_id == "rtl433/DSC-Security/3860837"
    reading = json.loads(DSC_OPEN)
    assert kinds(dec.decode(TOPIC, js({**reading, "closed": 1, "status": 163}), at(10))) == [EventKind.TELEMETRY]
    tampered = {**reading, "closed": 1, "tamper": 1, "xtamper1": 1}
    assert kinds(dec.decode(TOPIC, js(tampered), at(20))) == [EventKind.TAMPER]
    assert kinds(dec.decode(TOPIC, js({**tampered, "status": 162}), at(30))) == [EventKind.TELEMETRY]
    back = {**reading, "closed": 1, "tamper": 0}
    assert kinds(dec.decode(TOPIC, js(back), at(40))) == [EventKind.TAMPER_CLEARED]
    low = dec.decode(TOPIC, js({**back, "battery_ok": 0}), at(50))
    assert kinds(low) == [EventKind.BATTERY_LOW] and low[0].value is None  # a flag: no percentage
    assert kinds(dec.decode(TOPIC, js({**back, "battery_ok": 1}), at(60))) == [EventKind.BATTERY_OK]


def test_tamper_zero_before_any_one_is_not_a_restore(dec: Rtl433Decoder) -> None:
    assert kinds(dec.decode(TOPIC, honeywell(), T0)) == [EventKind.TELEMETRY]


def test_honeywell_heartbeat_and_door(dec: Rtl433Decoder) -> None:
    assert kinds(dec.decode(TOPIC, honeywell(heartbeat=1), T0)) == [EventKind.HEARTBEAT]
    events = dec.decode(TOPIC, honeywell(state="open", contact_open=1, event=0x80), at(10))
    assert kinds(events) == [EventKind.ACTIVITY]
    assert events[0].device_id == "rtl433/Honeywell-Security/8/123456"
    many = dec.decode(TOPIC, honeywell(state="open", tamper=1, battery_ok=0, heartbeat=1, event=0xCC), at(20))
    assert kinds(many) == [EventKind.TAMPER, EventKind.BATTERY_LOW, EventKind.HEARTBEAT]


def test_alarm_bit_pages_nobody_without_a_role(dec: Rtl433Decoder) -> None:
    assert kinds(dec.decode(TOPIC, honeywell(alarm=1, event=0x10), T0)) == [EventKind.TELEMETRY]


def test_role_profiles_from_the_device_registry() -> None:
    roles = {"rtl433/Honeywell-Security/8/123456": "rtl433-leak", "rtl433/Honeywell-Security/8/777": "rtl433-sos"}
    dec = Rtl433Decoder(model_lookup=roles.get)
    assert kinds(dec.decode(TOPIC, honeywell(alarm=1), T0)) == [EventKind.LEAK]
    assert kinds(dec.decode(TOPIC, honeywell(alarm=1, heartbeat=1), at(10))) == [EventKind.HEARTBEAT]
    assert kinds(dec.decode(TOPIC, honeywell(alarm=0), at(20))) == [EventKind.LEAK_CLEARED]
    pendant = dec.decode(TOPIC, honeywell(id=777, alarm=1), at(30))
    assert kinds(pendant) == [EventKind.SOS] and pendant[0].model == "Honeywell-Security"
    assert dec.decode(TOPIC, honeywell(id=777, alarm=1), at(30.5)) == []  # same burst
    assert kinds(dec.decode(TOPIC, honeywell(id=777, alarm=1), at(90))) == [EventKind.SOS]  # pressed again
    # a registry model the table does not know: the packet's model decides
    other = Rtl433Decoder(model_lookup=lambda _: "Some free text")
    assert kinds(other.decode(TOPIC, DSC_OPEN, T0)) == [EventKind.ACTIVITY]


def test_unknown_model_is_telemetry_or_generic_fields(dec: Rtl433Decoder) -> None:
    weather = {"model": "Acurite-Tower", "id": 3064, "channel": "A", "battery_ok": 1, "temperature_C": 21.5}
    events = dec.decode(TOPIC, js(weather), T0)
    assert kinds(events) == [EventKind.TELEMETRY]
    assert events[0].device_id == "rtl433/Acurite-Tower/A/3064"
    assert events[0].raw["temperature_C"] == 21.5
    siren = {"model": "Some-Siren", "id": "ab12", "tamper": 1, "battery_ok": 0}
    assert kinds(dec.decode(TOPIC, js(siren), T0)) == [EventKind.TAMPER, EventKind.BATTERY_LOW]


def test_retained_message_is_telemetry_and_leaves_no_memory(dec: Rtl433Decoder) -> None:
    assert kinds(dec.decode(TOPIC, GOVEE_LEAK, T0, retained=True)) == [EventKind.TELEMETRY]
    assert kinds(dec.decode(TOPIC, GOVEE_LEAK, at(0.1))) == [EventKind.LEAK]


def test_forget(dec: Rtl433Decoder) -> None:
    dec.decode(TOPIC, GOVEE_LEAK, T0)
    dec.forget("rtl433/Govee-Water/56948")
    assert kinds(dec.decode(TOPIC, GOVEE_LEAK, at(5))) == [EventKind.LEAK]
    dec.forget()
    assert kinds(dec.decode(TOPIC, GOVEE_LEAK, at(10))) == [EventKind.LEAK]


def test_duplicates_ignore_radio_metadata(dec: Rtl433Decoder) -> None:
    first = json.loads(GOVEE_BATTERY)
    again = {**first, "rssi": -3.2, "snr": 9.1, "noise": -12.0, "freq": 433.95, "time": "2022-05-29 12:43:59"}
    assert kinds(dec.decode(TOPIC, js(first), T0)) == [EventKind.TELEMETRY]
    assert dec.decode(TOPIC, js(again), at(1.5)) == []
    assert kinds(dec.decode(TOPIC, js(again), at(4))) == [EventKind.TELEMETRY]


# --- device ids, time, topics, errors ---------------------------------------------------------


def test_device_id_parts_are_made_topic_safe() -> None:
    assert device_id_for({"model": "Govee-Water", "id": 56948}) == "rtl433/Govee-Water/56948"
    assert device_id_for({"model": "Some Remote/2", "id": "x y"}) == "rtl433/Some_Remote_2/x_y"
    assert device_id_for({"model": "Generic-Remote"}) == "rtl433/Generic-Remote"
    assert device_id_for({"model": "X", "channel": 0, "id": 7}) == "rtl433/X/0/7"


@pytest.mark.parametrize(
    "obj, reason",
    [
        ({"model": 5, "id": 1}, "wrong_type"),
        ({"model": "", "id": 1}, "bad_value"),
        ({"model": "X", "id": 1.5}, "wrong_type"),
        ({"model": "X", "id": True}, "wrong_type"),
        ({"model": "X", "id": {"a": 1}}, "wrong_type"),
        ({"model": "M" * 65, "id": 1}, "bad_device_id"),
    ],
)
def test_bad_readings(dec: Rtl433Decoder, obj: dict[str, Any], reason: str) -> None:
    with pytest.raises(DecodeError) as err:
        dec.decode(TOPIC, js(obj), T0)
    assert err.value.reason == reason


@pytest.mark.parametrize(
    "payload, reason",
    [(b"{not json", "not_json"), (b"\xff\xfe", "not_utf8"), (b"[1, 2]", "wrong_type"), (b'"x"', "wrong_type")],
)
def test_bad_payloads(dec: Rtl433Decoder, payload: bytes, reason: str) -> None:
    with pytest.raises(DecodeError) as err:
        dec.decode(TOPIC, payload, T0)
    assert err.value.reason == reason


def test_topics(dec: Rtl433Decoder) -> None:
    assert dec.subscriptions() == ["rtl_433/+/events"]
    assert dec.decode("rtl_433/host/states", b'{"enabled":7}', T0) == []
    assert dec.decode("rtl_433/host/devices/Govee-Water/56948/event", b"Water Leak", T0) == []
    assert dec.decode(TOPIC, b"", T0) == []  # a retained message being cleared
    for topic in (
        "rtl_433/events",
        "rtl_433//events",
        "rtl_433/host/events/x",
        "rtl_433/host/other",
        "elsewhere/h/events",
    ):
        with pytest.raises(DecodeError) as err:
            dec.decode(topic, GOVEE_LEAK, T0)
        assert err.value.reason == "unknown_topic", topic
    site = Rtl433Decoder("site7/sdr")
    assert site.subscriptions() == ["site7/sdr/+/events"]
    assert kinds(site.decode("site7/sdr/pi/events", GOVEE_LEAK, T0)) == [EventKind.LEAK]
    with pytest.raises(ValueError):
        Rtl433Decoder("rtl_433/+")


@pytest.mark.parametrize(
    "value, expected",
    [
        ("2026-11-28T04:29:50Z", datetime(2026, 11, 28, 4, 29, 50, tzinfo=UTC)),
        ("2026-11-28T12:29:50.5+08:00", datetime(2026, 11, 28, 4, 29, 50, 500000, tzinfo=UTC)),
        ("2026-11-27T23:29:50-0500", datetime(2026, 11, 28, 4, 29, 50, tzinfo=UTC)),
        (str(int(T0.timestamp()) - 10), T0 - timedelta(seconds=10)),
        ("2026-11-28 12:29:50", None),  # rtl_433's default: local time, zone unknown
        ("2026-11-28T04:35:00Z", None),  # too far ahead
        ("2026-11-01T04:30:00Z", None),  # too old
        ("garbage", None),
        (None, None),
    ],
)
def test_time(value: Any, expected: datetime | None) -> None:
    assert parse_time(value, T0) == expected


def test_event_time_comes_from_a_zoned_time_field(dec: Rtl433Decoder) -> None:
    reading = json.loads(GOVEE_LEAK)
    reading["time"] = "2026-11-28T04:29:58.5Z"
    assert dec.decode(TOPIC, js(reading), T0)[0].at == datetime(2026, 11, 28, 4, 29, 58, 500000, tzinfo=UTC)


# --- the model table and MessageDecoder --------------------------------------------------------


def test_model_table_is_data() -> None:
    custom = build_rtl433_table(
        [
            *KNOWN_RTL433_MODELS,
            Rtl433Profile(
                "Pull-Cord",
                "Acme",
                "bathroom pull cord",
                (Rtl433Rule("button", EventKind.SOS, Trigger.MOMENTARY, values=("pull",)),),
            ),
        ]
    )
    dec = Rtl433Decoder(models=custom)
    assert kinds(dec.decode(TOPIC, js({"model": "Pull-Cord", "id": 9, "button": "pull"}), T0)) == [EventKind.SOS]
    with pytest.raises(ValueError, match="twice"):
        build_rtl433_table([*KNOWN_RTL433_MODELS, KNOWN_RTL433_MODELS[0]])
    with pytest.raises(ValueError, match="threshold"):
        Rtl433Rule("battery", EventKind.BATTERY_LOW, Trigger.BELOW)
    dup = Rtl433Profile("D", "", "", (Rtl433Rule("tamper", EventKind.TAMPER), Rtl433Rule("tamper", EventKind.TAMPER)))
    with pytest.raises(ValueError, match="two rules"):
        build_rtl433_table([dup])


def test_message_decoder_routes_rtl433_when_enabled() -> None:
    assert MessageDecoder().subscriptions() == ["zigbee2mqtt/#", "shewu/v1/+/event", "shewu/v1/edge/+/+/event"]
    dec = MessageDecoder(rtl433_base="rtl_433", model_lookup={"rtl433/Honeywell-Security/8/123456": "rtl433-sos"}.get)
    assert dec.subscriptions() == ["zigbee2mqtt/#", "shewu/v1/+/event", "shewu/v1/edge/+/+/event", "rtl_433/+/events"]
    assert [(e.source, e.kind) for e in dec.decode(TOPIC, GOVEE_LEAK, T0)] == [("rtl_433", EventKind.LEAK)]
    assert kinds(dec.decode(TOPIC, honeywell(alarm=1), T0)) == [EventKind.SOS]
    assert dec.decode(TOPIC, bytearray(GOVEE_LEAK), at(0.5)) == []
    with pytest.raises(DecodeError) as err:
        dec.decode(TOPIC, b"{", T0)
    assert err.value.reason == "not_json"
    with pytest.raises(DecodeError) as err:
        MessageDecoder().decode(TOPIC, GOVEE_LEAK, T0)
    assert err.value.reason == "unknown_topic"
    with pytest.raises(ValueError, match="overlap"):
        MessageDecoder(z2m_base="radio", rtl433_base="radio")


def test_a_line_without_model_is_rtl_433s_own_output_and_ignored(dec: Rtl433Decoder) -> None:
    """rtl_433's MQTT output sends objects without ``model`` (statistics) to its states topic; a
    pipe puts them on the events topic. Decoding the reading itself still needs the model."""
    assert dec.decode(TOPIC, js({"id": 1}), T0) == []
    with pytest.raises(DecodeError) as err:
        dec.decode_reading({"id": 1}, T0)
    assert err.value.reason == "missing_field"
