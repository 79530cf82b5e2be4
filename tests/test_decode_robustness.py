"""Poison messages: each decoder answers a DecodeError with a reason, never another exception, and
what it returns fits the store. Each test here is one exact input, found by hand (issue 10) or by
the fuzzing in tests/test_fuzz_ingest.py and bench/fuzz.py."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select

from device_adapters.common import JSON_MAX_DEPTH, from_unix, load_json, parse_rfc3339
from device_adapters.decoder import MessageDecoder
from device_adapters.events import DecodeError, DeviceEvent, EventKind
from device_adapters.native import decode_native
from device_adapters.rtl433 import Rtl433Decoder
from device_adapters.serial_protocol import decode_line, encode_line
from device_adapters.zigbee2mqtt import Zigbee2MqttDecoder
from gateway.ingest_batch import BatchProcessor
from gateway.services.events import apply_events
from gateway.storage.db import session
from gateway.storage.models import DeadLetter, DeviceStatus, Order

T0 = datetime(2026, 11, 28, 4, 0, tzinfo=UTC)
HUGE_BATTERY = b'{"action":"emergency","battery":1' + b"0" * 400 + b"}"  # issue 10, finding 3


def reason(call: object, *args: object) -> str:
    with pytest.raises(DecodeError) as err:
        call(*args)  # type: ignore[operator]
    return err.value.reason


# --- numbers ------------------------------------------------------------------------------------


def test_a_huge_integer_battery_still_raises_the_sos() -> None:
    [event] = Zigbee2MqttDecoder().decode("zigbee2mqtt/elder-101/sos", HUGE_BATTERY, T0)
    assert event.kind is EventKind.SOS
    assert event.raw["battery"] == 10**400  # the raw reading keeps it as it came


def test_a_huge_integer_battery_is_stored_as_absent(engine: Engine) -> None:
    processor = BatchProcessor.for_gateway(engine=engine, z2m_base="zigbee2mqtt", max_payload=65536,
                                           clock=lambda: T0)
    result = processor.process([("zigbee2mqtt/elder-101/sos", HUGE_BATTERY, False)])
    assert result.opened == {"sos": 1} and result.deadletters == {}
    with session(engine) as s:
        [status] = s.exec(select(DeviceStatus)).all()
        assert status.device_id == "elder-101/sos" and status.battery is None


@pytest.mark.parametrize(
    ("battery", "stored"),
    [(10**400, None), (float("nan"), None), (float("inf"), None), (-float("inf"), None), (1e300, None),
     (True, None), ("87", None), (87, 87.0), (87.5, 87.5), (-3, -3.0)],
)
def test_status_readings_out_of_range_are_absent(engine: Engine, battery: object, stored: float | None) -> None:
    event = DeviceEvent(device_id="d1", kind=EventKind.TELEMETRY, at=T0, source="native",
                        raw={"battery": battery, "linkquality": battery})
    with session(engine) as s:
        apply_events(s, [event], now=T0)
        s.commit()
        [status] = s.exec(select(DeviceStatus)).all()
        assert (status.battery, status.linkquality) == (stored, stored)


def test_an_availability_value_other_than_online_offline_is_not_stored(engine: Engine) -> None:
    events = [DeviceEvent(device_id="d1", kind=EventKind.AVAILABILITY, at=T0, source="native", value=value)
              for value in ("x" * 200, {"state": "offline"})]
    with session(engine) as s:
        apply_events(s, events, now=T0)
        s.commit()
        assert s.exec(select(DeviceStatus)).one().availability == "online"  # it spoke


@pytest.mark.parametrize("payload", [b"[1e400]", b'{"battery":-1e309}', b'{"a":1' + b"0" * 400 + b'.5}'])
def test_a_float_beyond_a_double_is_refused(payload: bytes) -> None:
    assert reason(load_json, payload) == "bad_value"


def test_rtl433_battery_beyond_a_double_is_refused() -> None:  # issue 10, finding 3
    payload = b'{"model":"Govee-Water","id":56948,"battery_ok":1e3080}'
    assert reason(Rtl433Decoder().decode, "rtl_433/host/events", payload, T0) == "bad_value"


@pytest.mark.parametrize("battery", [1e308, -1e308, float("inf"), float("nan")])
def test_rtl433_battery_percent_of_an_extreme_float(battery: float) -> None:
    dec = Rtl433Decoder()
    low = {"model": "Govee-Water", "id": 1, "battery_ok": 0.01}
    dec.decode_reading(low, T0)
    events = dec.decode_reading({**low, "battery_ok": battery}, T0 + timedelta(seconds=5))
    assert all(e.value is None or isinstance(e.value, int) for e in events)


def test_native_ts_beyond_a_float_is_bad_ts() -> None:
    payload = b'{"v":1,"kind":"sos","ts":1' + b"0" * 400 + b"}"
    assert reason(decode_native, "shewu/v1/d1/event", payload, T0) == "bad_ts"
    assert reason(from_unix, 10**400) == "bad_ts"


@pytest.mark.parametrize("text", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"])
def test_rfc3339_out_of_range_in_utc_is_bad_ts(text: str) -> None:
    assert reason(parse_rfc3339, text) == "bad_ts"
    payload = f'{{"v":1,"kind":"sos","ts":"{text}"}}'.encode()
    assert reason(decode_native, "shewu/v1/d1/event", payload, T0) == "bad_ts"


# --- structure and text ---------------------------------------------------------------------------


def test_nesting_deeper_than_the_limit_is_not_json() -> None:
    ok = b'{"a":' + b"[" * (JSON_MAX_DEPTH - 1) + b"]" * (JSON_MAX_DEPTH - 1) + b"}"
    assert load_json(ok)
    deep = b'{"a":' + b"[" * JSON_MAX_DEPTH + b"]" * JSON_MAX_DEPTH + b"}"
    assert reason(load_json, deep) == "not_json"
    # deep enough to be stored, but not to be serialized again from deeper in the stack
    deeper = b'{"action":"emergency","x":' + b"[" * 900 + b"]" * 900 + b"}"
    assert reason(Zigbee2MqttDecoder().decode, "zigbee2mqtt/d", deeper, T0) == "not_json"


@pytest.mark.parametrize("payload", [b'{"action":"emergency","x":"\\ud800"}', b'{"\\udc00":1}',
                                     b'{"a":["\\uDBFF"]}'])
def test_a_lone_surrogate_escape_is_not_utf8(payload: bytes) -> None:
    assert reason(Zigbee2MqttDecoder().decode, "zigbee2mqtt/d", payload, T0) == "not_utf8"


def test_a_surrogate_pair_escape_is_text() -> None:
    assert load_json(b'{"a":"\\ud83d\\ude00"}') == {"a": "\U0001f600"}


@pytest.mark.parametrize("name", ["a\x00b", "a\tb", "sos\ud800", "a+b", "a#b"])
def test_friendly_names_the_registry_refuses_are_bad_device_ids(name: str) -> None:
    dec = Zigbee2MqttDecoder()
    for topic in (f"zigbee2mqtt/{name}", f"zigbee2mqtt/{name}/availability", f"zigbee2mqtt/{name}/action"):
        assert reason(dec.decode, topic, b'{"action":"emergency"}', T0) == "bad_device_id"


def test_a_chinese_friendly_name_is_fine() -> None:
    [event] = Zigbee2MqttDecoder().decode("zigbee2mqtt/3栋/101/紧急按钮", b'{"action":"emergency"}', T0)
    assert event.device_id == "3栋/101/紧急按钮"


@pytest.mark.parametrize("event_id", ["a\x00b", "a\nb", "a\u2028b"])
def test_native_ids_must_be_printable(event_id: str) -> None:
    payload = json.dumps({"v": 1, "kind": "sos", "id": event_id}).encode()
    assert reason(decode_native, "shewu/v1/d1/event", payload, T0) == "bad_id"


@pytest.mark.parametrize("value", ["x" * 40, 1, True, {"state": "online"}])
def test_native_availability_is_online_or_offline(value: object) -> None:
    payload = json.dumps({"v": 1, "kind": "availability", "value": value}).encode()
    assert reason(decode_native, "shewu/v1/d1/event", payload, T0) == "bad_value"
    for good in ("online", "offline", None):
        payload = json.dumps({"v": 1, "kind": "availability", "value": good}).encode()
        assert decode_native("shewu/v1/d1/event", payload, T0).value == good


def test_serial_availability_is_online_or_offline() -> None:
    assert decode_line(encode_line(1, "d1", "availability", None, {"state": "offline"}), T0).value == "offline"
    line = encode_line(1, "d1", "availability", None, {"state": "x" * 40})
    assert reason(decode_line, line, T0) == "bad_data"


# --- through the batch: every message accounted for --------------------------------------------


def test_poison_messages_are_dead_lettered_and_the_alarm_beside_them_opens(engine: Engine) -> None:
    processor = BatchProcessor.for_gateway(engine=engine, z2m_base="zigbee2mqtt", max_payload=65536,
                                           clock=lambda: T0, rtl433_base="rtl_433")
    items = [
        ("rtl_433/host/events", b'{"model":"Govee-Water","id":56948,"battery_ok":1e3080}', False),
        ("zigbee2mqtt/d", b'{"x":"\\ud800"}', False),
        ("shewu/v1/d1/event", b'{"v":1,"kind":"sos","ts":"0001-01-01T00:00:00+01:00"}', False),
        ("zigbee2mqtt/elder-9/sos", b'{"action":"emergency","battery":1e400}', False),
        ("zigbee2mqtt/elder-10/sos", HUGE_BATTERY, False),
    ]
    result = processor.process(items)
    assert result.decoded == 1 and sum(result.deadletters.values()) == 4
    with session(engine) as s:
        # the two undecodable SOS messages still open an order each, minimally (device_adapters/alarm_hint.py)
        assert sorted(o.device_id for o in s.exec(select(Order))) == ["d1", "elder-10/sos", "elder-9/sos"]
        assert len(s.exec(select(DeadLetter)).all()) == 4
    assert result.minimal == 2


def test_the_decoder_never_reports_internal_for_these() -> None:
    dec = MessageDecoder(rtl433_base="rtl_433")
    for topic, payload in [
        ("zigbee2mqtt/d", b'{"last_seen":"9999-12-31T23:59:59-23:59"}'),
        ("zigbee2mqtt/d", b'{"last_seen":1' + b"0" * 400 + b"}"),
        ("rtl_433/h/events", b'{"model":"m","time":"' + b"1" * 400 + b'"}'),
    ]:
        events = dec.decode(topic, payload, T0)
        assert [e.at for e in events] == [T0]


def test_a_friendly_name_of_128_characters_opens_a_full_order(engine: Engine) -> None:
    """The registry and the decoder take device ids of up to 128 characters; the timeline's actor,
    ``device:<id>``, did not fit in VARCHAR(128) on PostgreSQL (found by tests/fuzzing.py); it is 160
    since migration 0002."""
    processor = BatchProcessor.for_gateway(engine=engine, z2m_base="zigbee2mqtt", max_payload=65536,
                                           clock=lambda: T0)
    result = processor.process([("zigbee2mqtt/" + "x" * 128, b'{"action":"emergency"}', False)])
    assert result.opened == {"sos": 1} and result.deadletters == {} and result.minimal == 0
