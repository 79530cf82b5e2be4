"""MessageDecoder: dispatch by topic, size first, only DecodeError; the model table; MQTT URLs."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

import pytest

from device_adapters.decoder import MessageDecoder
from device_adapters.events import DecodeError, EventKind
from device_adapters.mqtt_client import parse_mqtt_url
from device_adapters.zigbee2mqtt_models import (
    GENERIC,
    KNOWN_MODELS,
    MODELS,
    FieldRule,
    ModelProfile,
    build_table,
    profile_for,
)

T0 = datetime(2026, 11, 28, 4, 30, tzinfo=UTC)


def test_subscriptions() -> None:
    assert MessageDecoder().subscriptions() == ["zigbee2mqtt/#", "shewu/v1/+/event", "shewu/v1/edge/+/+/event"]
    assert MessageDecoder(z2m_base="site7/z2m").subscriptions() == [
        "site7/z2m/#",
        "shewu/v1/+/event",
        "shewu/v1/edge/+/+/event",
    ]


def test_dispatch_native_and_z2m() -> None:
    dec = MessageDecoder(model_lookup={"elder-101/sos": "TS0215A_sos"}.get)
    native = dec.decode("shewu/v1/elder-101-sos/event", b'{"v":1,"kind":"sos","id":"a"}', T0)
    assert [(e.source, e.kind) for e in native] == [("native", EventKind.SOS)]
    z2m = dec.decode("zigbee2mqtt/elder-101/sos", b'{"action":"emergency","battery":90}', T0)
    assert [(e.source, e.kind, e.model) for e in z2m] == [("zigbee2mqtt", EventKind.SOS, "TS0215A_sos")]
    assert dec.decode("zigbee2mqtt/bridge/state", b'{"state":"online"}', T0) == []


def test_retained_flag_reaches_the_z2m_decoder() -> None:
    dec = MessageDecoder()
    events = dec.decode("zigbee2mqtt/x/sos", b'{"action":"emergency"}', T0, retained=True)
    assert [e.kind for e in events] == [EventKind.TELEMETRY]


@pytest.mark.parametrize("topic", ["homeassistant/sensor/x/config", "shewu/v2/x/event", "rtl_433/events", ""])
def test_unknown_topic(topic: str) -> None:
    with pytest.raises(DecodeError) as err:
        MessageDecoder().decode(topic, b"{}", T0)
    assert err.value.reason == "unknown_topic"


def test_size_is_checked_first() -> None:
    dec = MessageDecoder(max_payload=100)
    # too large AND not UTF-8 AND on an unknown topic: size wins
    with pytest.raises(DecodeError) as err:
        dec.decode("nowhere", b"\xff" * 101, T0)
    assert err.value.reason == "too_large"
    assert dec.decode("shewu/v1/d/event", json.dumps({"v": 1, "kind": "sos"}).encode().ljust(100), T0)


def test_default_limit_is_64_kib() -> None:
    dec = MessageDecoder()
    big = b'{"v":1,"kind":"sos","data":{"x":"' + b"a" * 65536 + b'"}}'
    with pytest.raises(DecodeError) as err:
        dec.decode("shewu/v1/d/event", big, T0)
    assert err.value.reason == "too_large"


@pytest.mark.parametrize(
    ("topic", "payload", "reason"),
    [
        ("shewu/v1/d/event", b"\xff", "not_utf8"),
        ("shewu/v1/d/event", b"hello", "not_json"),
        ("shewu/v1/d/event", b'{"v":1,"kind":["sos"]}', "wrong_type"),
        ("shewu/v1/d/event", b'{"v":1,"kind":"explosion"}', "unknown_kind"),
        ("zigbee2mqtt/d", b"[]", "wrong_type"),
        ("zigbee2mqtt/d", b'{"a":' + b"[" * 100000 + b"]" * 100000 + b"}", "too_large"),
    ],
)
def test_bad_input_reasons(topic: str, payload: bytes, reason: str) -> None:
    with pytest.raises(DecodeError) as err:
        MessageDecoder(max_payload=1 << 20 if reason != "too_large" else 65536).decode(topic, payload, T0)
    assert err.value.reason == reason


def test_deep_nesting_is_not_json_not_a_crash() -> None:
    payload = b'{"a":' + b"[" * 100000 + b"]" * 100000 + b"}"
    with pytest.raises(DecodeError) as err:
        MessageDecoder(max_payload=1 << 20).decode("zigbee2mqtt/d", payload, T0)
    assert err.value.reason == "not_json"


def test_unexpected_exceptions_become_internal() -> None:
    def broken_lookup(name: str) -> str | None:
        raise KeyError(name)

    dec = MessageDecoder(model_lookup=broken_lookup)
    with pytest.raises(DecodeError) as err:
        dec.decode("zigbee2mqtt/d", b'{"battery":1}', T0)
    assert err.value.reason == "internal"
    assert "KeyError" in err.value.detail
    assert isinstance(err.value.__cause__, KeyError)


def test_bytearray_payload_is_accepted() -> None:
    events = MessageDecoder().decode("shewu/v1/d/event", bytearray(b'{"v":1,"kind":"fall"}'), T0)
    assert [e.kind for e in events] == [EventKind.FALL]


def test_throughput_is_well_above_10k_per_second() -> None:
    dec = MessageDecoder(model_lookup={"elder-101/bathroom/leak": "SJCGQ11LM"}.get)
    z2m = b'{"battery":100,"device_temperature":25,"linkquality":120,"voltage":3055,"water_leak":false}'
    native = b'{"v":1,"id":"d:1","kind":"heartbeat","ts":"2026-11-28T04:30:00Z","data":{"battery":87}}'
    n = 10000
    best = 0.0
    for _ in range(3):  # CPU time of this process: other load on the machine does not count
        start = time.process_time()
        for i in range(n):
            if i & 1:
                dec.decode("zigbee2mqtt/elder-101/bathroom/leak", z2m, T0)
            else:
                dec.decode("shewu/v1/elder-101-sos/event", native, T0)
        best = max(best, n / max(time.process_time() - start, 1e-9))
    assert best > 15000, f"{best:.0f} msg/s"


# --- the model table --------------------------------------------------------------------------


def test_known_models_and_aliases() -> None:
    for name in ("TS0215A_sos", "HS1EB/HS1EB-E", "HS1EB", "HS1EB-E", "SJCGQ11LM", "SNZB-05", "SNZB-05P"):
        assert MODELS[name].rules
    assert MODELS["HS1EB"] is MODELS["HS1EB/HS1EB-E"]
    assert profile_for(None) is GENERIC
    assert profile_for("no-such-model") is GENERIC
    assert profile_for("MIR-HE200-TY_fall").rules[0].kind is EventKind.FALL
    assert len({p.model for p in KNOWN_MODELS}) == len(KNOWN_MODELS)


def test_duplicate_model_names_are_refused() -> None:
    p = ModelProfile("X", "v", "d", ())
    with pytest.raises(ValueError):
        build_table([p, ModelProfile("Y", "v", "d", (), aliases=("X",))])


def test_rule_matching_is_type_exact() -> None:
    rule = FieldRule("water_leak", EventKind.LEAK)
    assert rule.matches(True)
    assert not rule.matches(1)
    assert not rule.matches("true")
    assert not FieldRule("n", EventKind.SOS, values=(1,)).matches(True)


def test_adding_a_model_is_data() -> None:
    from device_adapters.zigbee2mqtt_models import Trigger

    custom = build_table(
        [
            *KNOWN_MODELS,
            ModelProfile(
                "SW-PULL-1",
                "Shewu",
                "bathroom pull cord",
                (FieldRule("pulled", EventKind.SOS, Trigger.MOMENTARY, (True,)),),
            ),
        ]
    )
    dec = MessageDecoder(model_lookup=lambda name: "SW-PULL-1", models=custom)
    events = dec.decode("zigbee2mqtt/elder-105/bathroom/cord", b'{"pulled":true,"linkquality":40}', T0)
    assert [(e.kind, e.model) for e in events] == [(EventKind.SOS, "SW-PULL-1")]


# --- MQTT URLs --------------------------------------------------------------------------------


def test_parse_mqtt_url() -> None:
    u = parse_mqtt_url("mqtt://127.0.0.1:1883")
    assert (u.host, u.port, u.username, u.password, u.tls) == ("127.0.0.1", 1883, None, None, False)
    u = parse_mqtt_url("mqtt://bridge:s%3Acret@broker.local")
    assert (u.host, u.port, u.username, u.password) == ("broker.local", 1883, "bridge", "s:cret")
    assert "s:cret" not in str(u) and "s:cret" not in repr(u)
    u = parse_mqtt_url("mqtts://[::1]:8884")
    assert (u.host, u.port, u.tls) == ("::1", 8884, True)
    assert parse_mqtt_url("mqtts://h").port == 8883


@pytest.mark.parametrize(
    "url", ["http://h:1883", "mqtt://", "mqtt://h:0", "mqtt://h:99999", "mqtt://h:1883/topic", "h:1883"]
)
def test_bad_mqtt_urls(url: str) -> None:
    with pytest.raises(ValueError):
        parse_mqtt_url(url)
