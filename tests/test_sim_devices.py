"""Simulated devices and their wire formats, checked against the real decoders in device_adapters."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from device_adapters.decoder import MessageDecoder
from device_adapters.events import EventKind
from device_adapters.native import decode_native
from device_adapters.serial_protocol import crc16_ccitt_false, decode_line
from device_adapters.zigbee2mqtt_models import MODELS as DECODER_MODELS
from firmware_sim.devices import FallRadar, LeakDetector, SosButton, UnsupportedEvent, make_device
from firmware_sim.encoding import Message, z2m_availability_message, z2m_state_messages
from firmware_sim.models import MODELS, Format, Role, guess_role, parse_event_name
from firmware_sim.transport import Sender

AT = datetime(2026, 11, 28, 4, 30, 0, tzinfo=UTC)


def capture_sender(
    *, z2m_base: str = "zigbee2mqtt", first_seq: int = 0
) -> tuple[Sender, list[Message], list[bytes]]:
    """A Sender that records instead of sending, with the device clock fixed at ``AT``."""
    published: list[Message] = []
    written: list[bytes] = []
    sender = Sender(
        publish=published.append,
        write=written.append,
        clock=lambda: AT,
        z2m_base=z2m_base,
        first_seq=first_seq,
    )
    return sender, published, written


def test_z2m_sos_is_the_action_then_the_clearing_state() -> None:
    sender, published, _ = capture_sender()
    sender.send(SosButton("elder-101-sos"), "sos", Format.Z2M)
    assert [m.topic for m in published] == ["zigbee2mqtt/elder-101-sos", "zigbee2mqtt/elder-101-sos"]
    first, second = (json.loads(m.payload) for m in published)
    assert first == {
        "battery": 100,
        "battery_low": False,
        "linkquality": 120,
        "voltage": 3000,
        "action": "emergency",
    }
    assert second == {**first, "action": ""}
    assert all(m.qos == 1 and not m.retain for m in published)
    # compact JSON, like Zigbee2MQTT's JSON.stringify
    assert published[0].payload.startswith(b'{"battery":100,"battery_low":false,')


def test_z2m_legacy_action_topic_comes_after_the_clearing_state() -> None:
    messages = z2m_state_messages("zb", "a/b", {"battery": 90}, action="emergency", action_topic=True)
    assert [(m.topic, m.payload) for m in messages] == [
        ("zb/a/b", b'{"battery":90,"action":"emergency"}'),
        ("zb/a/b", b'{"battery":90,"action":""}'),
        ("zb/a/b/action", b"emergency"),
    ]


def test_z2m_availability_is_retained_json() -> None:
    msg = z2m_availability_message("zigbee2mqtt", "elder-101-sos", True)
    assert (msg.topic, msg.payload, msg.retain) == (
        "zigbee2mqtt/elder-101-sos/availability",
        b'{"state":"online"}',
        True,
    )
    legacy = z2m_availability_message("zigbee2mqtt", "x", False, legacy=True)
    assert legacy.payload == b"offline"


def test_z2m_messages_decode_to_the_intended_events() -> None:
    """Each simulated event, through the gateway's own decoder, is exactly that event, once."""
    sender, published, _ = capture_sender(z2m_base="zb")
    decoder = MessageDecoder("zb")
    button, radar, leak = SosButton("b1-sos"), FallRadar("b1-radar"), LeakDetector("b1-leak")
    cases = [
        (button, "online", [EventKind.AVAILABILITY]),
        (button, "heartbeat", [EventKind.TELEMETRY]),
        (button, "sos", [EventKind.SOS]),
        (button, "battery-low", [EventKind.BATTERY_LOW]),
        (radar, "heartbeat", [EventKind.ACTIVITY]),  # presence seen: someone is up (inactivity watch)
        (radar, "fall", [EventKind.FALL]),
        (radar, "heartbeat", [EventKind.TELEMETRY]),  # the fall alarm has reset
        (leak, "heartbeat", [EventKind.LEAK_CLEARED]),  # first sight of a dry sensor clears once
        (leak, "heartbeat", [EventKind.TELEMETRY]),
        (leak, "leak", [EventKind.LEAK]),
        (leak, "heartbeat", [EventKind.TELEMETRY]),  # still wet: cached state, no second leak
        (leak, "leak_cleared", [EventKind.LEAK_CLEARED]),
        (leak, "tamper", [EventKind.TAMPER]),
    ]
    for device, event, expected in cases:
        published.clear()
        sender.send(device, event, Format.Z2M)
        kinds = [e.kind for m in published for e in decoder.decode(m.topic, m.payload, AT, retained=m.retain)]
        alarms = [k for k in kinds if k is not EventKind.TELEMETRY] or kinds[:1]
        assert alarms == expected, (device, event, kinds)


def test_native_messages_decode_with_every_field() -> None:
    sender, published, _ = capture_sender()
    sender.send(SosButton("elder-101-sos"), "sos", Format.NATIVE)
    (msg,) = published
    assert msg.topic == "shewu/v1/elder-101-sos/event" and msg.qos == 1
    doc = json.loads(msg.payload)
    assert set(doc) == {"v", "id", "kind", "ts", "model", "data"}
    assert doc["v"] == 1 and doc["kind"] == "sos" and doc["model"] == "SW-SOS-1"
    assert doc["id"].startswith("elder-101-sos:")
    assert doc["ts"].startswith("2026-11-28T04:30:00") and doc["ts"].endswith("Z")
    assert doc["data"] == {"battery": 100, "battery_low": False, "linkquality": 120}
    event = decode_native(msg.topic, msg.payload, AT)
    assert (event.device_id, event.kind, event.at, event.event_id) == (
        "elder-101-sos",
        EventKind.SOS,
        AT,
        doc["id"],
    )


def test_native_ids_are_unique_and_values_are_set() -> None:
    sender, published, _ = capture_sender()
    leak = LeakDetector("elder-302-leak")
    for event in ("leak", "leak", "battery_low", "offline", "online"):
        sender.send(leak, event, Format.NATIVE)
    docs = [json.loads(m.payload) for m in published]
    assert len({d["id"] for d in docs}) == 5
    assert [d["kind"] for d in docs] == ["leak", "leak", "battery_low", "availability", "availability"]
    assert docs[2]["value"] == 9 and docs[2]["data"]["battery_low"] is True
    assert [d.get("value") for d in docs[3:]] == ["offline", "online"]
    events = [decode_native(m.topic, m.payload, AT) for m in published]
    assert [e.value for e in events[2:]] == [9, "offline", "online"]


def test_serial_lines_have_the_right_crc_and_sequence() -> None:
    sender, _, written = capture_sender(first_seq=41)
    sender.send(SosButton("elder-101-sos"), "sos", Format.SERIAL)
    sender.send(LeakDetector("elder-302-leak"), "offline", Format.SERIAL)
    first, second = written
    assert first.startswith(b"$SW1,41,elder-101-sos,sos,1795840200,") and first.endswith(b"\r\n")
    assert second.startswith(b"$SW1,42,elder-302-leak,availability,1795840200,")
    body, _, crc = first[1:-2].rpartition(b"*")
    assert crc == f"{crc16_ccitt_false(body):04X}".encode()
    frames = [decode_line(line, AT) for line in written]
    assert [(f.seq, f.kind) for f in frames] == [(41, EventKind.SOS), (42, EventKind.AVAILABILITY)]
    assert frames[0].data == {"battery": 100, "battery_low": "false", "linkquality": 120}
    assert frames[0].ts == AT
    assert frames[1].value == "offline"


def test_device_state_persists_and_transients_reset() -> None:
    radar = FallRadar("r")
    fall = radar.reading(EventKind.FALL, overrides={"illuminance_lux": 0})
    assert fall.state["fall_down_status"] == "fall" and fall.state["illuminance_lux"] == 0
    after = radar.reading(EventKind.HEARTBEAT)
    assert after.state["fall_down_status"] == "none" and after.state["illuminance_lux"] == 0
    leak = LeakDetector("l")
    leak.reading(EventKind.LEAK)
    assert leak.reading(EventKind.HEARTBEAT).data["water_leak"] is True
    assert leak.reading(EventKind.LEAK_CLEARED).data["water_leak"] is False


def test_devices_refuse_events_they_cannot_raise() -> None:
    with pytest.raises(UnsupportedEvent):
        LeakDetector("l").reading(EventKind.SOS)
    with pytest.raises(UnsupportedEvent):
        SosButton("s").reading(EventKind.FALL)
    assert FallRadar("r").supports(EventKind.AVAILABILITY)


def test_event_names_and_role_guessing() -> None:
    assert parse_event_name("battery-low").kind is EventKind.BATTERY_LOW
    assert parse_event_name("offline").value == "offline"
    with pytest.raises(ValueError, match="unknown event"):
        parse_event_name("explode")
    assert guess_role("elder-101-sos") is Role.SOS_BUTTON
    assert guess_role("b3-u2-101-radar") is Role.FALL_RADAR
    assert guess_role("kitchen-water") is Role.LEAK_DETECTOR
    assert guess_role("dev-7", EventKind.LEAK) is Role.LEAK_DETECTOR
    assert isinstance(make_device("fall_radar", "x"), FallRadar)


def test_simulated_z2m_models_are_known_to_the_decoder() -> None:
    """The gateway picks each simulated model's own profile, not the generic fallback."""
    for spec in MODELS.values():
        assert spec.z2m_model in DECODER_MODELS, spec.z2m_model
