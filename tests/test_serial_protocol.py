"""The serial line protocol: CRC, framing, noise, field rules, and the native message it becomes."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from device_adapters.events import DecodeError, EventKind
from device_adapters.native import decode_native
from device_adapters.serial_protocol import MAX_LINE, crc16_ccitt_false, decode_line, encode_line

T0 = datetime(2026, 11, 28, 4, 30, tzinfo=UTC)
TS = int(T0.timestamp())


def frame(body: str, crc: int | None = None) -> bytes:
    """A line with the given body and its real CRC (or ``crc``)."""
    raw = body.encode()
    value = crc16_ccitt_false(raw) if crc is None else crc
    return b"$" + raw + f"*{value:04X}\r\n".encode()


def reason_of(line: bytes) -> str:
    with pytest.raises(DecodeError) as err:
        decode_line(line, T0)
    assert err.value.detail
    return err.value.reason


def test_crc_check_value() -> None:
    # the catalogue check value of CRC-16/CCITT-FALSE
    assert crc16_ccitt_false(b"123456789") == 0x29B1
    assert crc16_ccitt_false(b"") == 0xFFFF


def test_doc_example() -> None:
    line = encode_line(42, "elder-101-sos", "sos", 1795843800, {"battery": 87})
    assert line.startswith(b"$SW1,42,elder-101-sos,sos,1795843800,battery=87*")
    assert line.endswith(b"\r\n")
    assert line == frame("SW1,42,elder-101-sos,sos,1795843800,battery=87")
    f = decode_line(line, T0)
    assert (f.seq, f.device_id, f.kind, f.data) == (42, "elder-101-sos", EventKind.SOS, {"battery": 87})
    assert f.at == datetime(2026, 11, 28, 5, 30, tzinfo=UTC)


def test_roundtrip_values_and_fraction() -> None:
    data: dict[str, str | int | float | bool] = {
        "battery": 12,
        "temp": 21.5,
        "rssi": -71,
        "fw": "1.2.3",
        "zone": "bath_2",
        "flag": True,
    }
    line = encode_line(4294967295, "rx.b3:dev-7", EventKind.BATTERY_LOW, TS + 0.25, data)
    f = decode_line(line, T0)
    assert f.seq == 4294967295
    assert f.at == T0 + timedelta(milliseconds=250)
    assert f.data == {"battery": 12, "temp": 21.5, "rssi": -71, "fw": "1.2.3", "zone": "bath_2", "flag": "true"}
    assert f.value == 12  # battery_low carries the battery reading


def test_no_clock_uses_receive_time() -> None:
    f = decode_line(encode_line(1, "d1", "heartbeat", None), T0)
    assert f.ts is None
    assert f.at == T0
    assert f.data == {}


@pytest.mark.parametrize("ending", [b"\r\n", b"\n", b""])
def test_line_endings(ending: bytes) -> None:
    line = frame("SW1,1,d1,sos,0,").rstrip(b"\r\n") + ending
    assert decode_line(line, T0).kind is EventKind.SOS


def test_noise_before_dollar_is_skipped() -> None:
    good = encode_line(7, "d1", "fall", TS)
    assert decode_line(b"\x00\xff\x13garbage" + good, T0).seq == 7
    assert decode_line(b"$SW1,junk$" + good, T0).seq == 7  # a '$' in the noise too


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (b"no frame here\r\n", "bad_frame"),
        (b"$SW1,1,d1,sos,0,\r\n", "bad_frame"),  # no '*'
        (frame("SW1,1,d1,sos,0,").replace(b"*", b"*x"), "bad_frame"),
        (frame("SW1,1,d1,sos,0,").lower(), "bad_frame"),  # lower-case hex (and body)
        (b"$SW1,1,d\xe9,sos,0,*0000\r\n", "bad_frame"),
        (frame("SW1,1,d1,sos,0,", crc=0x1234), "bad_crc"),
        (frame("SW1,1,d1,sos,0,").replace(b"sos", b"sOs"), "bad_crc"),  # a flipped bit in transit
        (frame("SW1,1,d1,sos,0"), "field_count"),
        (frame("SW1,1,d1,sos,0,,"), "field_count"),
        (frame("SW2,1,d1,sos,0,"), "bad_version"),
        (frame("SW1,-1,d1,sos,0,"), "bad_seq"),
        (frame("SW1,4294967296,d1,sos,0,"), "bad_seq"),
        (frame("SW1,,d1,sos,0,"), "bad_seq"),
        (frame("SW1,1,,sos,0,"), "bad_device_id"),
        (frame("SW1,1,bad/id,sos,0,"), "bad_device_id"),
        (frame("SW1,1," + "d" * 65 + ",sos,0,"), "bad_device_id"),
        (frame("SW1,1,d1,smoke,0,"), "unknown_kind"),
        (frame("SW1,1,d1,SOS,0,"), "unknown_kind"),
        (frame("SW1,1,d1,sos,-5,"), "bad_ts"),
        (frame("SW1,1,d1,sos,1e9,"), "bad_ts"),
        (frame("SW1,1,d1,sos,12.,"), "bad_ts"),
        (frame("SW1,1,d1,sos,99999999999999,"), "bad_ts"),
        (frame("SW1,1,d1,sos,0,battery"), "bad_data"),
        (frame("SW1,1,d1,sos,0,=5"), "bad_data"),
        (frame("SW1,1,d1,sos,0,a=1;a=2"), "bad_data"),
        (frame("SW1,1,d1,sos,0,note=hello world"), "bad_data"),
        (frame("SW1,1,d1,sos,0,bad-key=1"), "bad_data"),
        (frame("SW1,1,d1,sos,0,a=1;;b=2"), "bad_data"),
    ],
)
def test_rejections(line: bytes, reason: str) -> None:
    assert reason_of(line) == reason


def test_length_limit() -> None:
    body_at_limit = "SW1,1,d1,heartbeat,0,x=" + "a" * (MAX_LINE - 1 - 23 - 5 - 2)
    line = frame(body_at_limit)
    assert len(line) == MAX_LINE
    assert str(decode_line(line, T0).data["x"]).startswith("a")
    assert reason_of(frame(body_at_limit + "a")) == "too_long"
    assert reason_of(b"\x00" * 300 + b"\r\n") == "too_long"
    # noise in front does not count against the frame
    assert decode_line(b"~" * 100 + line, T0).kind is EventKind.HEARTBEAT


def test_encode_refuses_bad_input() -> None:
    for args in [
        (-1, "d1", "sos", 0, None),
        (2**32, "d1", "sos", 0, None),
        (1, "bad id", "sos", 0, None),
        (1, "d1", "smoke", 0, None),
        (1, "d1", "sos", -1, None),
        (1, "d1", "sos", 0, {"bad key": 1}),
        (1, "d1", "sos", 0, {"k": "a b"}),
        (1, "d1", "sos", 0, {"k": "x" * 300}),
    ]:
        with pytest.raises(ValueError):
            encode_line(*args)


def test_to_native_event_id_and_payload() -> None:
    f = decode_line(encode_line(42, "elder-101-sos", "sos", TS, {"battery": 87}), T0 + timedelta(seconds=1))
    topic, payload = f.to_native("rx-b3")
    assert topic == "shewu/v1/elder-101-sos/event"
    doc = json.loads(payload)
    assert doc["id"] == f"serial:rx-b3:42:{TS}"
    ev = decode_native(topic, payload, T0 + timedelta(minutes=5))
    assert (ev.kind, ev.at, ev.raw, ev.event_id) == (EventKind.SOS, T0, {"battery": 87}, doc["id"])
    direct = f.to_event("rx-b3")
    assert (direct.source, direct.event_id, direct.at) == ("serial", doc["id"], T0)


def test_without_clock_the_id_uses_the_receive_time() -> None:
    line = encode_line(3, "d1", "availability", None, {"state": "offline"})
    a = decode_line(line, T0)
    b = decode_line(line, T0 + timedelta(hours=2))  # the receiver restarted its sequence
    assert a.event_id("rx") != b.event_id("rx")
    assert a.event_id("rx") == f"serial:rx:3:rx{TS * 1000}"
    assert a.value == "offline"
    _, payload = a.to_native("rx")
    ev = decode_native("shewu/v1/d1/event", payload, T0 + timedelta(hours=1))
    assert ev.at == T0  # the bridge's receive time travels with the message
    assert ev.value == "offline"
