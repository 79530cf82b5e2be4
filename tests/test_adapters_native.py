"""The native topic: strict decoding and the encoder used by the bridge and the simulator."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from device_adapters.events import DecodeError, EventKind
from device_adapters.native import decode_native, encode_native

T0 = datetime(2026, 11, 28, 4, 30, tzinfo=UTC)
TOPIC = "shewu/v1/elder-101-sos/event"


def js(obj: Any) -> bytes:
    return json.dumps(obj).encode()


def test_doc_example_decodes() -> None:
    payload = (
        b'{"v": 1, "id": "elder-101-sos:1a2b3c", "kind": "sos", "ts": "2026-11-28T04:30:00Z",'
        b' "model": "SW-SOS-1", "data": {"battery": 87}}'
    )
    ev = decode_native(TOPIC, payload, T0 + timedelta(seconds=2))
    assert ev.device_id == "elder-101-sos"
    assert ev.kind is EventKind.SOS
    assert ev.at == T0
    assert ev.source == "native"
    assert ev.raw == {"battery": 87}
    assert ev.model == "SW-SOS-1"
    assert ev.event_id == "elder-101-sos:1a2b3c"
    assert ev.value is None


def test_minimal_message_uses_receive_time() -> None:
    ev = decode_native(TOPIC, b'{"v":1,"kind":"heartbeat"}', T0)
    assert (ev.kind, ev.at, ev.raw, ev.event_id, ev.model) == (EventKind.HEARTBEAT, T0, {}, None, None)


def test_availability_value_and_offset_time() -> None:
    ev = decode_native(
        "shewu/v1/gw.floor-3:rx_1/event",
        js({"v": 1, "kind": "availability", "value": "offline", "ts": "2026-11-28T12:30:00.250+08:00"}),
        T0,
    )
    assert ev.device_id == "gw.floor-3:rx_1"
    assert ev.value == "offline"
    assert ev.at == T0 + timedelta(milliseconds=250)
    assert ev.at.tzinfo is UTC


@pytest.mark.parametrize("ts", [1795840200, 1795840200.0])
def test_unix_seconds(ts: float) -> None:
    ev = decode_native(TOPIC, js({"v": 1, "kind": "sos", "ts": ts}), T0 + timedelta(hours=1))
    assert ev.at == T0


def test_zero_ts_means_no_clock() -> None:
    assert decode_native(TOPIC, js({"v": 1, "kind": "sos", "ts": 0}), T0).at == T0


@pytest.mark.parametrize(
    ("obj", "reason"),
    [
        ([1], "wrong_type"),
        ("sos", "wrong_type"),
        ({"kind": "sos"}, "missing_field"),
        ({"v": 1}, "missing_field"),
        ({"v": "1", "kind": "sos"}, "wrong_type"),
        ({"v": True, "kind": "sos"}, "wrong_type"),
        ({"v": 1.0, "kind": "sos"}, "wrong_type"),
        ({"v": 2, "kind": "sos"}, "bad_version"),
        ({"v": 1, "kind": "SOS"}, "unknown_kind"),
        ({"v": 1, "kind": "smoke"}, "unknown_kind"),
        ({"v": 1, "kind": 3}, "wrong_type"),
        ({"v": 1, "kind": "sos", "id": 5}, "wrong_type"),
        ({"v": 1, "kind": "sos", "id": ""}, "bad_id"),
        ({"v": 1, "kind": "sos", "id": "x" * 129}, "bad_id"),
        ({"v": 1, "kind": "sos", "ts": "2026-11-28T04:30:00"}, "bad_ts"),
        ({"v": 1, "kind": "sos", "ts": "2026-11-28"}, "bad_ts"),
        ({"v": 1, "kind": "sos", "ts": "20261128T043000Z"}, "bad_ts"),
        ({"v": 1, "kind": "sos", "ts": "2026-13-28T04:30:00Z"}, "bad_ts"),
        ({"v": 1, "kind": "sos", "ts": "yesterday at noon, roughly"}, "bad_ts"),
        ({"v": 1, "kind": "sos", "ts": -5}, "bad_ts"),
        ({"v": 1, "kind": "sos", "ts": 1e20}, "bad_ts"),
        ({"v": 1, "kind": "sos", "ts": True}, "wrong_type"),
        ({"v": 1, "kind": "sos", "ts": None}, "wrong_type"),
        ({"v": 1, "kind": "sos", "model": 7}, "wrong_type"),
        ({"v": 1, "kind": "sos", "data": [1]}, "wrong_type"),
        ({"v": 1, "kind": "sos", "data": None}, "wrong_type"),
        ({"v": 1, "kind": "sos", "device": "x"}, "unknown_field"),
    ],
)
def test_strict_validation(obj: Any, reason: str) -> None:
    with pytest.raises(DecodeError) as err:
        decode_native(TOPIC, js(obj), T0)
    assert err.value.reason == reason
    assert err.value.detail


@pytest.mark.parametrize(
    ("payload", "reason"),
    [(b"", "not_json"), (b"{", "not_json"), (b'{"v":1,"kind":"sos","ts":NaN}', "not_json"), (b"\xc3(", "not_utf8")],
)
def test_not_json(payload: bytes, reason: str) -> None:
    with pytest.raises(DecodeError) as err:
        decode_native(TOPIC, payload, T0)
    assert err.value.reason == reason


@pytest.mark.parametrize(
    ("topic", "reason"),
    [
        ("shewu/v1/bad id/event", "bad_device_id"),
        ("shewu/v1/" + "a" * 65 + "/event", "bad_device_id"),
        ("shewu/v1/a/b/event", "unknown_topic"),
        ("shewu/v1//event", "unknown_topic"),
        ("shewu/v1/elder-101/status", "unknown_topic"),
        ("shewu/v2/elder-101/event", "unknown_topic"),
    ],
)
def test_topic_checks(topic: str, reason: str) -> None:
    with pytest.raises(DecodeError) as err:
        decode_native(topic, b'{"v":1,"kind":"sos"}', T0)
    assert err.value.reason == reason


def test_encode_roundtrip() -> None:
    at = datetime(2026, 11, 28, 12, 30, 0, 123000, tzinfo=timezone(timedelta(hours=8)))
    topic, payload = encode_native(
        "elder-101-sos", EventKind.BATTERY_LOW, at=at, event_id="e1", model="SW-SOS-1", value=9, data={"battery": 9}
    )
    assert topic == "shewu/v1/elder-101-sos/event"
    assert json.loads(payload)["ts"] == "2026-11-28T04:30:00.123000Z"
    ev = decode_native(topic, payload, T0)
    assert (ev.kind, ev.at, ev.event_id, ev.model, ev.value, ev.raw) == (
        EventKind.BATTERY_LOW,
        T0 + timedelta(milliseconds=123),
        "e1",
        "SW-SOS-1",
        9,
        {"battery": 9},
    )


def test_encode_minimal_and_unix_ts() -> None:
    topic, payload = encode_native("d1", "heartbeat")
    assert json.loads(payload) == {"v": 1, "kind": "heartbeat"}
    _, payload = encode_native("d1", "sos", at=1795840200.5)
    assert decode_native(topic, payload, T0).at == T0 + timedelta(milliseconds=500)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"device_id": "bad id", "kind": "sos"},
        {"device_id": "d1", "kind": "smoke"},
        {"device_id": "d1", "kind": "sos", "event_id": "x" * 129},
        {"device_id": "d1", "kind": "sos", "at": -1},
        {"device_id": "d1", "kind": "sos", "at": "now"},
        {"device_id": "d1", "kind": "sos", "data": {"blob": "x" * 70000}},
    ],
)
def test_encode_refuses_what_decode_would_refuse(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        encode_native(**kwargs)
