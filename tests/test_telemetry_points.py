"""Device events as line protocol (gateway.telemetry.points): pure, no server."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from influxdb_client import Point, WritePrecision

from device_adapters.decoder import MessageDecoder
from device_adapters.events import DeviceEvent, EventKind
from gateway.telemetry.points import (
    READINGS,
    escape_string,
    escape_tag,
    event_line,
    points_for,
    reading_line,
    timestamp_ms,
)

AT = datetime(2026, 3, 1, 8, 30, 15, 123456, tzinfo=UTC)
AT_MS = 1772353815123


def ev(kind: EventKind = EventKind.TELEMETRY, *, device_id: str = "elder-101-sos", raw: dict[str, Any] | None = None,
       value: Any = None, model: str | None = "SW-SOS-1", source: str = "native", at: datetime = AT) -> DeviceEvent:
    return DeviceEvent(device_id=device_id, kind=kind, at=at, source=source, raw=raw or {}, value=value, model=model)


def test_timestamp_is_whole_milliseconds() -> None:
    assert timestamp_ms(AT) == AT_MS
    assert timestamp_ms(datetime(1970, 1, 1, tzinfo=UTC)) == 0
    # another offset, the same instant
    assert timestamp_ms(AT.astimezone(timezone(timedelta(hours=8)))) == AT_MS
    assert timestamp_ms(AT.replace(tzinfo=None)) == AT_MS  # naive means UTC
    # no float rounding far from the epoch
    assert timestamp_ms(datetime(2100, 1, 1, 0, 0, 0, 999999, tzinfo=UTC)) == 4102444800999


def test_event_line_with_string_value() -> None:
    line = event_line(ev(EventKind.SOS, value="emergency"))
    assert line == (
        'device_event,device_id=elder-101-sos,kind=sos,model=SW-SOS-1,source=native '
        f'count=1i,value_text="emergency" {AT_MS}'
    )


@pytest.mark.parametrize(("value", "field"), [
    (87, ",value=87"),
    (21.5, ",value=21.5"),
    (-3, ",value=-3"),
    (True, ",value=1"),
    (False, ",value=0"),
    (1e20, ",value=1e+20"),
    (None, ""),
    ({"a": 1}, ""),
    ([1, 2], ""),
    (math.nan, ""),
    (math.inf, ""),
])
def test_event_value_fields(value: Any, field: str) -> None:
    line = event_line(ev(EventKind.BATTERY_LOW, value=value, model=None))
    assert line == f"device_event,device_id=elder-101-sos,kind=battery_low,source=native count=1i{field} {AT_MS}"


def test_numbers_and_strings_never_share_a_field_key() -> None:
    """InfluxDB refuses a field whose type changes: numbers go to ``value``, strings to ``value_text``."""
    lines = points_for([ev(value=1), ev(value="1", at=AT + timedelta(seconds=1))])
    assert " count=1i,value=1 " in lines[0]
    assert ' count=1i,value_text="1" ' in lines[1]


def test_reading_line_from_raw() -> None:
    raw = {"battery": 87, "linkquality": 120, "voltage": 3000, "temperature": 21.5, "presence": True,
           "occupancy": False, "water_leak": 1, "fall_down_status": "none", "device": {"model": "x"},
           "last_seen": 1772353815123}
    line = reading_line(ev(raw=raw, model="TS0215A_sos", source="zigbee2mqtt"))
    assert line == (
        "device_reading,device_id=elder-101-sos,model=TS0215A_sos,source=zigbee2mqtt "
        f"battery=87,linkquality=120,occupancy=0,presence=1,temperature=21.5,voltage=3000,water_leak=1 {AT_MS}"
    )


@pytest.mark.parametrize("raw", [
    {},
    {"battery": True},  # a bool is not a battery level
    {"battery": "87"},  # strings are not readings (serial sends numbers as numbers)
    {"battery": None},
    {"battery": math.nan},
    {"temperature": math.inf},
    {"presence": 2},  # a boolean reading takes true/false or 0/1 only
    {"presence": "true"},
    {"action": "emergency", "state": "ON"},
])
def test_no_reading_line_without_readings(raw: dict[str, Any]) -> None:
    assert reading_line(ev(raw=raw)) is None
    assert points_for([ev(raw=raw)]) == [event_line(ev(raw=raw))]


def test_readings_table_is_data() -> None:
    keys = [r.key for r in READINGS]
    assert len(keys) == len(set(keys))
    assert {"battery", "linkquality", "temperature", "humidity", "voltage", "presence", "occupancy"} <= set(keys)
    assert all(r.unit for r in READINGS)


@pytest.mark.parametrize("device_id", [
    "客厅 紧急按钮",  # Chinese with a space (a Zigbee2MQTT friendly name)
    "3号楼,2单元=101",
    "a b,c=d",
    "line\nbreak\tand\rcr",
    "ends with a backslash\\",
    "back\\slash in the middle",
    "引号\"quote",
])
def test_tags_escaped_as_influxdb_client_does(device_id: str) -> None:
    event = ev(EventKind.AVAILABILITY, device_id=device_id, value="offline", model="型号 A,1")
    point = (Point("device_event").tag("device_id", device_id).tag("kind", "availability").tag("model", "型号 A,1")
             .tag("source", "native").field("count", 1).field("value_text", "offline")
             .time(AT, WritePrecision.MS))
    assert event_line(event) == point.to_line_protocol()
    reading = ev(device_id=device_id, raw={"battery": 55, "linkquality": 9.5})
    point = (Point("device_reading").tag("device_id", device_id).tag("model", "SW-SOS-1").tag("source", "native")
             .field("battery", 55.0).field("linkquality", 9.5).time(AT, WritePrecision.MS))
    assert reading_line(reading) == point.to_line_protocol()


def test_escape_details() -> None:
    assert escape_tag("a b,c=d") == r"a\ b\,c\=d"
    assert escape_tag("x\\") == "x\\ "  # cannot escape the separator after it
    assert escape_tag("老人") == "老人"
    assert escape_string('say "hi" \\ \n') == r'"say \"hi\" \\  "'
    assert len(escape_tag("x" * 1000)) == 256
    # no line of ours ever holds a raw line break, whatever the device id
    for line in points_for([ev(device_id="a\nb", value="c\nd", raw={"battery": 1})]):
        assert "\n" not in line


def test_empty_tags_left_out() -> None:
    line = event_line(ev(model="", source=""))
    assert line.startswith("device_event,device_id=elder-101-sos,kind=telemetry count=1i ")


def test_one_message_many_events_one_reading_line() -> None:
    """A Zigbee2MQTT leak message that also reports a low battery: two events, one raw reading."""
    decoder = MessageDecoder(z2m_base="zigbee2mqtt")
    state = {"water_leak": True, "battery_low": True, "battery": 8, "linkquality": 87, "tamper": False,
             "last_seen": "2026-03-01T08:30:15.123Z", "device": {"model": "SNZB-05"}}
    events = decoder.decode("zigbee2mqtt/3号楼 卫生间 漏水", json.dumps(state).encode(), AT + timedelta(seconds=1))
    assert {e.kind for e in events} == {EventKind.LEAK, EventKind.BATTERY_LOW}
    lines = points_for(events)
    dev = r"device_id=3号楼\ 卫生间\ 漏水"
    assert lines == [
        f"device_event,{dev},kind=leak,model=SNZB-05,source=zigbee2mqtt count=1i,value=1 {AT_MS}",
        f"device_reading,{dev},model=SNZB-05,source=zigbee2mqtt "
        f"battery=8,battery_low=1,linkquality=87,tamper=0,water_leak=1 {AT_MS}",
        f"device_event,{dev},kind=battery_low,model=SNZB-05,source=zigbee2mqtt count=1i,value=8 {AT_MS}",
    ]


def test_native_message_readings() -> None:
    decoder = MessageDecoder()
    payload = {"v": 1, "kind": "heartbeat", "ts": "2026-03-01T08:30:15.123Z", "data": {"battery": 93, "rssi": -71}}
    events = decoder.decode("shewu/v1/elder-7-sos/event", json.dumps(payload).encode(), AT)
    assert points_for(events) == [
        f"device_event,device_id=elder-7-sos,kind=heartbeat,source=native count=1i {AT_MS}",
        f"device_reading,device_id=elder-7-sos,source=native battery=93,rssi=-71 {AT_MS}",
    ]


def test_points_keep_order_and_drop_only_identical_lines() -> None:
    a = ev(EventKind.HEARTBEAT, raw={"battery": 90})
    b = ev(EventKind.HEARTBEAT, raw={"battery": 90}, at=AT + timedelta(milliseconds=1))
    lines = points_for([a, a, b])
    assert len(lines) == 4
    assert lines[0].endswith(f" {AT_MS}") and lines[3].endswith(f" {AT_MS + 1}")
    assert points_for([]) == []


def test_rtl433_readings() -> None:
    """rtl_433's own field names: temperature_C, battery_ok (a flag or a fraction), rssi/snr/noise."""
    raw = {"time": "2026-03-01 08:30:15", "model": "Acurite-Tower", "id": 1234, "channel": "A", "battery_ok": 1,
           "temperature_C": 21.3, "humidity": 45, "mic": "CHECKSUM", "freq": 433.92, "rssi": -0.116,
           "snr": 12.3, "noise": -12.4}
    line = reading_line(ev(raw=raw, source="rtl_433", model="Acurite-Tower"))
    assert line == (
        "device_reading,device_id=elder-101-sos,model=Acurite-Tower,source=rtl_433 "
        f"battery_ok=1,humidity=45,noise=-12.4,rssi=-0.116,snr=12.3,temperature_C=21.3 {AT_MS}"
    )
    assert reading_line(ev(raw={"battery_ok": 0.95})) is not None
