"""Fuzzing the decode → route → apply path: Hypothesis strategies that mutate real-looking messages
of each wire format, and the properties they must keep. Used by tests/test_fuzz_ingest.py (a short,
deterministic run in CI) and by bench/fuzz.py (a long run that counts its executions).

Properties:

- **decoders**: each decoder either returns events or raises :class:`DecodeError` with a reason other
  than ``internal`` (``internal`` is the dispatcher's catch-all for a bug). What it returns fits the
  store (:func:`check_storable`). What an edge publishes (the serial bridge's and the DC-09
  receiver's native messages) the gateway decodes.
- **ingest**: a batch of such messages through ``BatchProcessor.for_gateway(...)`` on a real database
  accounts for every message (decoded or dead-lettered, and the dead letters are in the table) and
  raises nothing: on a healthy database not even ``StoreFailed``, since a store failure caused by a
  message would hold its whole batch back.

The shapes come from the adapters' tests (tests/test_adapters_*.py, tests/test_dc09.py,
tests/test_serial_protocol.py); the mutations are what the brief for issue 10 lists: huge numbers,
NaN and Infinity, deep nesting, bytes that are not UTF-8, escaped surrogates, wrong types in every
field, long strings, empty topics and topics with odd characters.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import strategies as st

from device_adapters.common import AVAILABILITY_STATES, KINDS, is_text
from device_adapters.contact_id import CONTACT_ID_CODES, parse_contact_id
from device_adapters.dc09 import build_ack, build_duh, check_timestamp, crc16_arc, decode_events, parse_frame
from device_adapters.decoder import MessageDecoder
from device_adapters.events import DecodeError, DeviceEvent, EventKind
from device_adapters.native import decode_native
from device_adapters.rtl433 import Rtl433Decoder
from device_adapters.rtl433_models import RTL433_MODELS
from device_adapters.serial_protocol import crc16_ccitt_false, decode_line
from device_adapters.zigbee2mqtt import Zigbee2MqttDecoder
from device_adapters.zigbee2mqtt_models import MODELS

T0 = datetime(2026, 11, 28, 4, 30, tzinfo=UTC)
DEVICE_ID_COLUMN = 128  # device_status.device_id, orders.device_id (gateway/storage/models.py)
EVENT_ID_COLUMN = 160  # seen_events.event_id

Message = tuple[str, bytes, bool]  # topic, payload, retained: what ingest hands the batch processor

# --- values -------------------------------------------------------------------------------------


def weighted(draw: st.DrawFn, *choices: tuple[int, st.SearchStrategy[Any]]) -> Any:
    """Draw from one of ``choices``, picked in proportion to its weight: the realistic shapes most
    of the time, so that decoding gets past the first check, and the odd ones often enough."""
    total = sum(w for w, _ in choices)
    n = draw(st.integers(0, total - 1))
    for w, strategy in choices:
        if n < w:
            return draw(strategy)
        n -= w
    raise AssertionError("unreachable")


def chance(draw: st.DrawFn, percent: int) -> bool:
    return draw(st.integers(0, 99)) < percent


_NUMBERS = st.sampled_from([
    0, 1, -1, 10, 87, 100, 255, 256, 2**31, 2**53 + 1, 2**63, -(2**63), 10**20, 10**308, 10**309, 10**400,
    -(10**400), 1795843800, 1795843800000, 0.0, -0.0, 0.5, 0.01, 0.25, 0.95, 1.5, 21.5, 1e-300, 5e-324,
    1e300, 1.7976931348623157e308, -1.7976931348623157e308,
])
_TEXTS = st.sampled_from([
    "", " ", "\x00", "\t", "\u2028", "\ud800", "\udc00x", "\U0001f600", "online", "offline", "sleeping",
    "emergency", "single", "sos", "panic", "fall", "maybe_fall", "Water Leak", "Button Press", "Heartbeat",
    "Open", "open", "closed", "true", "null", "NaN", "Infinity", "2026-11-28T04:30:00Z",
    "2026-11-28T12:30:00+08:00", "2026-11-28 04:30:00", "0001-01-01T00:00:00+01:00",
    "9999-12-31T23:59:59-23:59", "1795843800", "1" * 400, "1.5.5", "x" * 200, "王秀英", "3栋101",
])
_ODD_CHARS = st.characters(codec=None, categories=["Cc", "Cs", "Zs", "Zl", "Lo", "So", "Nd", "P"])
_MODEL_NAMES = st.sampled_from(sorted(MODELS) + sorted(RTL433_MODELS))  # device.model, rtl_433's model
texts = st.one_of(_TEXTS, _MODEL_NAMES, st.text(max_size=24), st.text(alphabet=_ODD_CHARS, max_size=12))
scalars = st.one_of(
    st.none(), st.booleans(), _NUMBERS, st.integers(), st.floats(allow_nan=True, allow_infinity=True), texts
)
json_values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(texts, children, max_size=4),
    max_leaves=12,
)


@st.composite
def deep_values(draw: st.DrawFn) -> Any:
    """Lists or objects nested around the decoders' limit (32) and far beyond it."""
    depth = draw(st.sampled_from([30, 31, 32, 33, 40, 200, 900]))
    value: Any = draw(scalars)
    for _ in range(depth):
        value = [value] if draw(st.booleans()) else {"a": value}
    return value


_RAW = "\ue000"  # marks a string that _to_json writes as a bare literal: numbers json.dumps cannot make


def raw_literal(text: str) -> str:
    return f"{_RAW}{text}{_RAW}"


_RAW_IN_JSON = re.compile(r'"(?:\ue000|\\ue000)([^"\\\ue000]*)(?:\ue000|\\ue000)"')

# Values that broke, or could break, a decoder or the store: numbers beyond a double or a float
# column, NaN and Infinity, escaped surrogates, NUL, long strings, odd containers.
poison = st.sampled_from([
    10**400, -(10**400), 10**309, 2**1023 * 2, 1.7976931348623157e308, -1.7976931348623157e308, 1e300, 5e-324,
    float("nan"), float("inf"), -float("inf"), raw_literal("1e400"), raw_literal("-1e999"), raw_literal("1E+309"),
    raw_literal("1" + "0" * 400 + ".5"), raw_literal("-0"), raw_literal("1e-400"), raw_literal("NaN"),
    "\ud800", "\udfff", "\x00", "a\x00b", "x" * 300, "", [], {}, [[]], {"": None}, True, False, None,
])
field_values = st.one_of(poison, _NUMBERS, texts, json_values, deep_values())


@st.composite
def mutated_object(
    draw: st.DrawFn, bases: list[dict[str, Any]], keys: list[str], *, new_keys: int = 10, not_object: int = 5
) -> Any:
    """One of ``bases`` with a few fields set to odd values (poison, wrong types), removed, or new
    fields added (``new_keys`` percent of the changes); ``not_object`` percent of the time not an
    object at all."""
    if chance(draw, not_object):
        return draw(field_values)
    obj = dict(draw(st.sampled_from(bases)))
    for _ in range(draw(st.integers(0, 3))):
        op = draw(st.integers(0, 99))
        key = draw(texts) if op < new_keys else draw(st.sampled_from(keys))
        if op >= 85:
            obj.pop(key, None)
        else:
            obj[key] = draw(poison if op % 2 else field_values)
    return obj


def _to_json(obj: Any, ascii_only: bool) -> bytes:
    # allow_nan: NaN and Infinity literals; surrogatepass: a lone surrogate as (invalid) UTF-8 bytes
    text = json.dumps(obj, ensure_ascii=ascii_only, allow_nan=True)
    if "ue000" in text or _RAW in text:
        text = _RAW_IN_JSON.sub(lambda m: m.group(1), text)
    return text.encode("utf-8", "surrogatepass")


@st.composite
def mutated_bytes(draw: st.DrawFn, base: bytes) -> bytes:
    """``base`` with a few byte-level changes: bytes flipped, inserted, deleted, cut short, a number
    swapped for a huge literal, an escaped surrogate or invalid UTF-8 spliced in."""
    data = bytearray(base)
    for _ in range(draw(st.integers(1, 3))):
        op = draw(st.integers(0, 5))
        at = draw(st.integers(0, len(data)))
        if op == 0 and data:
            at = min(at, len(data) - 1)
            data[at] = draw(st.integers(0, 255))
        elif op == 1:
            data[at:at] = draw(st.binary(max_size=8))
        elif op == 2:
            data[at : at + draw(st.integers(1, 8))] = b""
        elif op == 3:
            del data[at:]
        else:
            data[at:at] = draw(st.sampled_from([
                b"1" + b"0" * 400, b"1e400", b"-1e999", b"NaN", b"Infinity", b'"\\ud800"', b"\xff", b"\xed\xa0\x80",
                b"\xc3", b"\x00", b"[" * 40, b"{}", b'"' + b"x" * 300 + b'"', b"\\", b",", b":",
            ]))
    return bytes(data)


@st.composite
def json_payload(draw: st.DrawFn, objects: st.SearchStrategy[Any]) -> bytes:
    payload = _to_json(draw(objects), draw(st.booleans()))
    if chance(draw, 10):
        payload = draw(mutated_bytes(payload))
    return payload


# --- topics -------------------------------------------------------------------------------------

_ID_ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.:"
_GOOD_NAMES = st.one_of(
    st.sampled_from(["elder-101/sos", "elder-101/bathroom/leak", "elder-101/bedroom/radar", "3栋/101/紧急按钮",
                     "elder-102/sos", "d", "x" * 121, "x" * 128]),
    st.text(alphabet=_ID_ALPHABET + "/ 栋", min_size=1, max_size=40).filter(
        lambda n: not n.startswith("/") and not n.endswith("/") and "//" not in n
    ),
)
_ODD_NAMES = st.one_of(
    st.sampled_from(["bridge", "bridge/state", "x" * 129, "a/", "/a", "a//b", "a+b", "a#b", "a\x00b", "sos\ud800",
                     "sos\udcff", "", " ", "set", "a/set", "a/get/x"]),
    st.text(max_size=40),
    st.text(alphabet=_ODD_CHARS, max_size=8),
)
_NAMES = st.one_of(_GOOD_NAMES, _GOOD_NAMES, _GOOD_NAMES, _ODD_NAMES)
_Z2M_SUFFIXES = st.sampled_from(["", "", "", "", "", "", "/availability", "/action", "/set", "/get",
                                 "/set/brightness", "/"])
_GOOD_IDS = st.one_of(st.sampled_from(["elder-101-sos", "rx.b3:dev-7", "d1", "x" * 64]),
                      st.text(alphabet=_ID_ALPHABET, min_size=1, max_size=64))
_NATIVE_IDS = st.one_of(
    _GOOD_IDS, _GOOD_IDS, _GOOD_IDS,
    st.sampled_from(["x" * 65, "", "a/b", "a b", "é", "a\x00", "\ud800"]),
    st.text(max_size=70),
)

# --- Zigbee2MQTT ----------------------------------------------------------------------------------

Z2M_STATES: list[dict[str, Any]] = [
    {"action": "emergency", "battery": 90},
    {"action": "emergency", "state": "online"},
    {"action": "", "battery": 90, "linkquality": 120},
    {"action": "single", "click": "single", "battery": 55},
    {"battery": 100, "device_temperature": 25, "linkquality": 120, "voltage": 3055, "water_leak": False},
    {"water_leak": True, "tamper": False, "battery_low": False, "battery": 8},
    {"sos": True, "tamper": False, "battery_low": True},
    {"fall_down_status": "fall", "presence": True},
    {"occupancy": True, "illuminance": 12, "battery": 100},
    {"contact": False, "battery": 91, "last_seen": "2026-11-28T12:29:59+08:00"},
    {"action": "emergency", "last_seen": 1795843799000, "device": {"model": "TS0215A_sos", "ieeeAddr": "0x1"}},
    {"action": "hold", "device": {"model": "HS1EB", "friendlyName": "elder-102/sos"}},
]
Z2M_KEYS = sorted({k for s in Z2M_STATES for k in s} | {"fall", "presence", "model", "update"})


@st.composite
def z2m_messages(draw: st.DrawFn, base: str = "zigbee2mqtt") -> Message:
    suffix = draw(_Z2M_SUFFIXES)
    topic = f"{base}/{draw(_NAMES)}{suffix}"
    if chance(draw, 3):
        topic = draw(st.sampled_from([base, f"{base}/", "", f"{base}//x", f"{base}/bridge/devices"]))
    if suffix == "/availability":
        payload = weighted(
            draw,
            (6, st.sampled_from([b'{"state":"online"}', b'{"state":"offline"}', b"online", b"offline", b"", b" "])),
            (3, json_payload(mutated_object([{"state": "online"}], ["state"]))),
            (1, st.binary(max_size=20)),
        )
    elif suffix == "/action":
        payload = weighted(
            draw,
            (6, st.sampled_from([b"emergency", b"single", b"hold", b"sos", b"", b"\xff", b"sos "])),
            (2, texts.map(lambda t: t.encode("utf-8", "surrogatepass"))),
            (2, json_payload(mutated_object(Z2M_STATES, Z2M_KEYS))),
        )
    else:
        payload = draw(json_payload(mutated_object(Z2M_STATES, Z2M_KEYS)))
    return topic, payload, chance(draw, 10)


# --- native -----------------------------------------------------------------------------------

NATIVE_EVENTS: list[dict[str, Any]] = [
    {"v": 1, "id": "elder-101-sos:1a2b3c", "kind": "sos", "ts": "2026-11-28T04:30:00Z", "model": "SW-SOS-1",
     "data": {"battery": 87}},
    {"v": 1, "id": "d:1", "kind": "heartbeat", "ts": "2026-11-28T04:30:00Z", "data": {"battery": 87}},
    {"v": 1, "kind": "availability", "value": "offline"},
    {"v": 1, "kind": "battery_low", "value": 7, "ts": 1795843800},
    {"v": 1, "kind": "fall", "ts": 0},
    {"v": 1, "id": "serial:rx-1:42:1795843800", "kind": "leak", "ts": 1795843800.25, "data": {"zone": "kitchen"}},
    {"v": 1, "kind": "telemetry", "data": {"battery": 87, "linkquality": 120, "temperature": 21.5}},
]
NATIVE_KEYS = ["v", "id", "kind", "ts", "model", "value", "data", "data", "value", "ts"]


@st.composite
def native_messages(draw: st.DrawFn) -> Message:
    device = draw(_NATIVE_IDS)
    edge = weighted(draw, (8, st.sampled_from(["rx-1", "dc09-a", "home.7"])),
                    (2, st.sampled_from(["", "x" * 33, "a b"])))
    topic = weighted(
        draw,
        (6, st.just(f"shewu/v1/{device}/event")),
        (3, st.just(f"shewu/v1/edge/{edge}/{device}/event")),
        (1, st.sampled_from(["shewu/v1/", "shewu/v1//event", f"shewu/v1/{device}/event/x", f"shewu/v1/a/{device}/event",
                             "shewu/v1/d", f"shewu/v1/edge/{edge}/confirm", f"shewu/v1/edge/{edge}//event"])),
    )
    payload = draw(json_payload(mutated_object(NATIVE_EVENTS, NATIVE_KEYS, new_keys=3)))
    return topic, payload, False


# --- rtl_433 ----------------------------------------------------------------------------------

RTL433_PACKETS: list[dict[str, Any]] = [  # tests/test_adapters_rtl433.py (Govee, DSC from rtl_433's tests)
    {"time": "2023-02-28 16:56:32", "model": "Govee-Water", "id": 56948, "event": "Water Leak",
     "code": "218b04040750", "mic": "PARITY"},
    {"time": "2023-02-28 16:55:18", "model": "Govee-Water", "id": 56948, "event": "Button Press",
     "code": "218b04040750", "mic": "PARITY"},
    {"time": "2022-05-29 12:43:58.341224", "model": "Govee-Water", "id": 6845, "battery_ok": 0.95,
     "battery_mV": 2900, "event": "Battery Report", "code": "1abd7d0f5e1e", "mic": "PARITY"},
    {"model": "Govee-Water", "id": 1080, "event": "Water Leak", "detect_wet": 1, "leak_num": 0, "mic": "CRC"},
    {"model": "Govee-Contact", "id": 8995, "event": "Open", "code": "2323e7f4fc58", "mic": "PARITY"},
    {"time": "2023-06-22 19:37:10", "model": "DSC-Security", "id": 3860837, "closed": 0, "event": 1, "tamper": 0,
     "battery_ok": 1, "xactivity": 0, "xtamper1": 0, "xtamper2": 0, "exception": 0, "esn": "3ae965",
     "status": 161, "status_hex": "a1", "mic": "CRC"},
    {"model": "Honeywell-Security", "id": 123456, "channel": 8, "event": 4, "state": "open", "alarm": 1,
     "tamper": 0, "battery_ok": 1, "heartbeat": 0, "mic": "CRC"},
    {"time": "2024-03-19T21:27:22.583805Z", "protocol": 192, "model": "Govee-Water", "id": 4115,
     "event": "Unknown", "rssi": -71.2, "freq": 433.92},
]
RTL433_KEYS = sorted({k for p in RTL433_PACKETS for k in p})


@st.composite
def rtl433_messages(draw: st.DrawFn, base: str = "rtl_433") -> Message:
    host = weighted(draw, (8, st.sampled_from(["host", "9b13b3f4-rtl433"])), (2, st.text(max_size=10)))
    topic = weighted(
        draw,
        (9, st.just(f"{base}/{host}/events")),
        (1, st.sampled_from([f"{base}/{host}/states", f"{base}/{host}/devices/Govee-Water/56948/event",
                             f"{base}/events", f"{base}/{host}/events/x", f"{base}/{host}/other", f"{base}//events"])),
    )
    payload = draw(json_payload(mutated_object(RTL433_PACKETS, RTL433_KEYS)))
    return topic, payload, chance(draw, 10)


def mqtt_messages(z2m_base: str = "zigbee2mqtt", rtl433_base: str = "rtl_433") -> st.SearchStrategy[Message]:
    """Any message the gateway's subscriptions may bring, and some they may not."""
    return st.one_of(
        z2m_messages(z2m_base),
        native_messages(),
        rtl433_messages(rtl433_base),
        st.tuples(st.text(max_size=30), st.binary(max_size=40), st.booleans()),
    )


# --- serial line protocol -----------------------------------------------------------------------

_SERIAL_DATA = st.one_of(
    st.sampled_from(["", "battery=87", "state=offline", "state=online", "value=x", "battery=-71;rssi=-3",
                     "temp=21.5", "battery=" + "9" * 200, "a=1;a=2", "k", "=1", "v=1.5.5", "bad key=1"]),
    st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789_=;.:+-", max_size=60),
)


@st.composite
def serial_lines(draw: st.DrawFn) -> bytes:
    """``$SW1,<seq>,<device_id>,<kind>,<ts>,<data>*<crc>``: each field right most of the time and odd
    now and then, a CRC right for the body most of the time (so parsing gets past it), then now and
    then byte-level damage."""
    seq = weighted(draw, (9, st.integers(0, 4294967295).map(str)),
                   (1, st.sampled_from(["", "-1", "0x1", "1" * 11, "4294967296"])))
    device = weighted(draw, (8, _GOOD_IDS), (2, _NATIVE_IDS))
    kind = weighted(draw, (9, st.sampled_from(sorted(KINDS))), (1, texts))
    ts = weighted(
        draw,
        (8, st.sampled_from(["0", "1795843800", "1795843800.25", "1795840000"])),
        (2, st.one_of(st.sampled_from(["1" * 40, "9" * 200, "1.", ".5", "1e9", "-1", "", "253402300800"]),
                      st.integers(0, 2**40).map(str))),
    )
    proto = weighted(draw, (19, st.just("SW1")), (1, st.sampled_from(["SW2", "", "sw1"])))
    fields = [proto, seq, device, kind, ts, draw(_SERIAL_DATA)]
    if chance(draw, 5):
        fields = [*fields[: draw(st.integers(0, 6))], draw(texts)]
    body = ",".join(fields).encode("utf-8", "surrogatepass")
    crc = crc16_ccitt_false(body)
    if chance(draw, 5):
        crc ^= draw(st.integers(1, 0xFFFF))
    crc_text = weighted(draw, (19, st.just(f"{crc:04X}")), (1, st.sampled_from([f"{crc:04x}", f"{crc:X}", ""])))
    noise = weighted(draw, (9, st.just(b"")), (1, st.sampled_from([b"noise", b"$$", b"\xff", b"$SW1,1"])))
    line = noise + b"$" + body + b"*" + crc_text.encode()
    line += draw(st.sampled_from([b"\r\n", b"\n", b"", b"\r"]))
    if chance(draw, 10):
        line = draw(mutated_bytes(line))
    return line


# --- SIA DC-09 / Contact ID -----------------------------------------------------------------------

_HEXES = st.text(alphabet="0123456789ABCDEFabcdef", min_size=0, max_size=18)
_CID_CODES = st.one_of(
    st.sampled_from(sorted(CONTACT_ID_CODES)), st.sampled_from(sorted(CONTACT_ID_CODES)),
    st.text(alphabet="0123456789", max_size=4),
)


@st.composite
def contact_id_payloads(draw: st.DrawFn) -> str:
    account = weighted(draw, (8, st.sampled_from(["1234", "7099", "080027E62A64"])), (2, _HEXES))
    q = weighted(draw, (9, st.sampled_from(["1", "3", "6"])), (1, st.sampled_from(["0", "9", "x", ""])))
    group = weighted(draw, (9, st.sampled_from(["01", "00", "0A"])), (1, _HEXES))
    zone = weighted(draw, (9, st.sampled_from(["000", "003", "007", "0ff"])), (1, _HEXES))
    body = f"{q}{draw(_CID_CODES)} {group} {zone}"
    payload = weighted(draw, (7, st.just(f"#{account}|{body}")), (2, st.just(body)),
                       (1, st.sampled_from([f"{account}|{body}", f"#{account}|", f"#{account}|{body}|x"])))
    if chance(draw, 5):
        payload = draw(st.one_of(texts, st.text(alphabet=" #|0123456789ABCDEF", max_size=24)))
    return payload


def _dc09_timestamp(at: datetime) -> str:
    return at.strftime("_%H:%M:%S,%m-%d-%Y")


@st.composite
def dc09_frames(draw: st.DrawFn) -> bytes:
    """A DC-09 frame from parts (token, header, Contact ID data, extended data, timestamp), each
    right most of the time, with a right CRC and length most of the time; then now and then
    byte-level damage."""
    token = weighted(draw, (7, st.sampled_from(['"ADM-CID"', '"NULL"'])),
                     (1, st.sampled_from(['"SIA-DCS"', '"*ADM-CID"', '"ACK"', '"NAK"', '"adm-cid"', '""',
                                          '"ADM-CID', "ADM-CID", '"*NULL"'])))
    seq = weighted(draw, (9, st.integers(0, 9999).map(lambda n: f"{n:04d}")),
                   (1, st.sampled_from(["", "12", "12345", "abcd"])))
    receiver = weighted(draw, (8, st.sampled_from(["", "R0", "R5", "RC0FFD"])),
                        (1, st.sampled_from(["R", "R1234567", "Rxyz"])))
    line = weighted(draw, (9, st.sampled_from(["L0", "L2", "L1234"])), (1, st.sampled_from(["L", "L1234567", ""])))
    account = weighted(draw, (8, st.sampled_from(["#1234", "#7099", "#080027E62A64"])),
                       (2, st.one_of(st.sampled_from(["#12", "#", "1234"]), _HEXES.map(lambda h: "#" + h))))
    data = weighted(draw, (8, contact_id_payloads()), (2, st.sampled_from(["", "#1234|NRR|Atest", "[", "]"])))
    extended = "".join(draw(st.lists(
        st.sampled_from(["[X115000]", "[M0026B9E4268B]", "[X115000]", "[]", "[1x]", "[X[", "[X"]), max_size=2
    )))
    stamp = weighted(
        draw,
        (3, st.just("")),
        (6, st.integers(-120, 120).map(lambda s: _dc09_timestamp(T0 + timedelta(seconds=s)))),
        (1, st.sampled_from(["_24:00:00,11-28-2026", "_04:30:00,02-30-2026", "_04:30:00,11-28-0000", "_1", "x"])),
    )
    message = f"{token}{seq}{receiver}{line}{account}[{data}]{extended}{stamp}"
    if chance(draw, 5):
        message = draw(texts)
    body = message.encode("utf-8", "surrogatepass")
    crc = crc16_arc(body) if not chance(draw, 5) else draw(st.integers(0, 0xFFFF))
    length = len(body) if not chance(draw, 5) else draw(st.integers(0, 0x1FFF))
    frame = b"\n" + f"{crc:04X}0{length:03X}".encode() + body + b"\r"
    if chance(draw, 10):
        frame = draw(mutated_bytes(frame))
    return frame


# --- what fits the store ------------------------------------------------------------------------


class NotStorable(AssertionError):
    """A decoder returned an event the store would refuse or the API could not render."""


def check_storable(event: DeviceEvent) -> None:
    """The event fits gateway/storage/models.py and serializes: the device id fits its columns
    (128), has no NUL and is Unicode text; the raw reading is a JSON object that serializes without
    NaN or Infinity and encodes as UTF-8; the event id fits seen_events (160); an availability value
    is online/offline; the time is aware."""
    if type(event) is not DeviceEvent or type(event.kind) is not EventKind:
        raise NotStorable(f"not a DeviceEvent: {event!r}"[:300])
    d = event.device_id
    if type(d) is not str or not 0 < len(d) <= DEVICE_ID_COLUMN or "\x00" in d or not is_text(d):
        raise NotStorable(f"device id {d!r} does not fit the device_id columns"[:300])
    if event.at.tzinfo is None or event.at.utcoffset() != timedelta(0):
        raise NotStorable(f"time {event.at!r} is not aware UTC")
    if type(event.raw) is not dict:
        raise NotStorable(f"raw is a {type(event.raw).__name__}, not a dict")
    try:
        json.dumps({"reading": event.raw, "value": event.value}, allow_nan=False).encode("utf-8")
        json.dumps(event.raw, ensure_ascii=False).encode("utf-8")  # how an HTTP response renders it
    except (ValueError, TypeError, RecursionError) as exc:
        raise NotStorable(f"raw reading does not serialize: {type(exc).__name__}: {exc}"[:300]) from None
    if event.event_id is not None and (
        type(event.event_id) is not str or not 0 < len(event.event_id) <= EVENT_ID_COLUMN
        or not event.event_id.isprintable()
    ):
        raise NotStorable(f"event id {event.event_id!r} does not fit seen_events"[:300])
    if event.kind is EventKind.AVAILABILITY and event.value is not None and not (
        type(event.value) is str and event.value in AVAILABILITY_STATES
    ):
        raise NotStorable(f"availability value {event.value!r}"[:300])
    if type(event.value) is float and not math.isfinite(event.value):
        raise NotStorable(f"value {event.value!r}")


# --- targets ------------------------------------------------------------------------------------


@dataclass
class Target:
    """One property over one strategy. ``run`` raises on a failure and answers what the input came
    to (``events``, ``nothing`` or a DecodeError reason), for statistics. ``check`` counts executions
    and outcomes and remembers, per distinct failure (exception type and where it was raised), the
    last input that failed: after Hypothesis has shrunk a failure it replays the smallest one, so
    that is what stays. ``reproduce`` turns an input into a line of Python that reruns it."""

    name: str
    strategy: st.SearchStrategy[Any]
    run: Callable[[Any], str]
    reproduce: Callable[[Any], str]
    executions: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    failures: dict[str, tuple[str, Any]] = field(default_factory=dict, repr=False)

    def check(self, case: Any) -> None:
        self.executions += 1
        try:
            self.outcomes[self.run(case)] += 1
        except Exception as exc:
            self.failures[failure_key(exc)] = (f"{type(exc).__name__}: {exc}"[:500], case)
            raise


def failure_key(exc: BaseException) -> str:
    """``ExceptionType at file:line`` of the innermost frame: one per distinct bug."""
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    where = f"{tb.tb_frame.f_code.co_filename.rsplit('/', 2)[-1]}:{tb.tb_lineno}" if tb is not None else "?"
    return f"{type(exc).__name__} at {where}"


def attempt(call: Callable[[], Any]) -> tuple[Any, str | None]:
    """Run ``call``: ``(result, None)``, or ``(None, reason)`` for a DecodeError with a reason;
    ``internal`` (the dispatcher's catch-all for a bug) and anything else are failures."""
    try:
        return call(), None
    except DecodeError as err:
        if err.reason == "internal" or not err.reason:
            raise AssertionError(f"reason {err.reason!r}: {err.detail}") from err
        return None, err.reason


def _events_outcome(events: Any, reason: str | None) -> str:
    if reason is not None:
        return reason
    if type(events) is not list:
        raise AssertionError(f"decoder returned {type(events).__name__}, not a list")
    for event in events:
        check_storable(event)
    return "events" if events else "nothing"


def _received_at(case_offset: int) -> datetime:
    return T0 + timedelta(milliseconds=case_offset)


def decoder_targets() -> dict[str, Target]:
    """One target per decoder entry point. The stateful decoders are shared across a run, as in
    the gateway, so that their per-device memory is exercised too."""
    z2m = Zigbee2MqttDecoder()
    rtl = Rtl433Decoder()
    dispatch = MessageDecoder(rtl433_base="rtl_433", model_lookup={"elder-101/sos": "HS1EB"}.get)
    offsets = st.integers(0, 3_600_000)

    def mqtt(decode: Callable[..., Any]) -> Callable[[Any], str]:
        def run(case: tuple[Message, int]) -> str:
            (topic, payload, retained), offset = case
            return _events_outcome(*attempt(lambda: decode(topic, payload, _received_at(offset), retained=retained)))
        return run

    def native(case: tuple[Message, int]) -> str:
        (topic, payload, _), offset = case
        event, reason = attempt(lambda: decode_native(topic, payload, _received_at(offset)))
        return _events_outcome([event] if reason is None else None, reason)

    def serial(case: tuple[bytes, int]) -> str:
        line, offset = case
        frame, reason = attempt(lambda: decode_line(line, _received_at(offset)))
        if frame is None:
            return str(reason)
        check_storable(frame.to_event("rx-1"))
        topic, payload = frame.to_native("rx-1")  # what the serial bridge publishes: the gateway takes it
        check_storable(decode_native(topic, payload, _received_at(offset)))
        return "events"

    def dc09(case: tuple[bytes, int]) -> str:
        raw, offset = case
        now = _received_at(offset)
        frame, reason = attempt(lambda: parse_frame(raw))
        if frame is None:
            return str(reason)
        build_ack(frame), build_duh(frame)  # the receiver can always answer a frame it parsed
        _, reason = attempt(lambda: check_timestamp(frame, now))
        if reason is not None:
            return reason
        events, reason = attempt(lambda: decode_events(frame, now))
        if reason is not None:
            return reason
        for event in events:
            topic, payload = event.to_native()  # what the DC-09 receiver publishes: the gateway takes it
            check_storable(decode_native(topic, payload, now))
        return "events"

    def contact_id(case: str) -> str:
        cid, reason = attempt(lambda: parse_contact_id(case))
        if cid is None:
            return str(reason)
        _, reason = attempt(lambda: cid.kind_and_value())
        return reason or "events"

    mqtt_repr = _mqtt_reproducer
    return {
        "zigbee2mqtt": Target("zigbee2mqtt", st.tuples(z2m_messages(), offsets), mqtt(z2m.decode), mqtt_repr),
        "native": Target("native", st.tuples(native_messages(), offsets), native, mqtt_repr),
        "rtl433": Target("rtl433", st.tuples(rtl433_messages(), offsets), mqtt(rtl.decode), mqtt_repr),
        "decoder": Target("decoder", st.tuples(mqtt_messages(), offsets), mqtt(dispatch.decode), mqtt_repr),
        "serial": Target("serial", st.tuples(serial_lines(), offsets), serial,
                         lambda c: f"decode_line({c[0]!r}, {_received_at(c[1])!r})"),
        "dc09": Target("dc09", st.tuples(dc09_frames(), offsets), dc09,
                       lambda c: f"parse_frame({c[0]!r})  # received at {_received_at(c[1])!r}"),
        "contact_id": Target("contact_id", contact_id_payloads(), contact_id,
                             lambda c: f"parse_contact_id({c!r})"),
    }


def _mqtt_reproducer(case: tuple[Message, int]) -> str:
    (topic, payload, retained), offset = case
    return f"decode({topic!r}, {payload!r}, {_received_at(offset)!r}, retained={retained})"


# --- decode → route → apply -----------------------------------------------------------------------


def ingest_target(engine: Any) -> Target:
    """Batches of mixed messages through the gateway's batch processor on ``engine`` (schema
    created, healthy): every message is decoded or dead-lettered for a decode reason, each is
    committed once (acknowledged once), and nothing raises. On a healthy database a ``StoreFailed``,
    a held message, a ``store_refused`` or an ``internal`` dead letter is a failure too: each means
    that a decoder let through what the store refused, or raised what it should not. Minimal orders
    come only from dead-lettered messages that look like alarms."""
    from sqlalchemy import func, select

    from gateway.ingest_batch import BatchProcessor, Committed
    from gateway.storage.db import session
    from gateway.storage.models import DeadLetter

    clock = [T0]
    processor = BatchProcessor.for_gateway(engine=engine, z2m_base="zigbee2mqtt", max_payload=65536,
                                           clock=lambda: clock[0], rtl433_base="rtl_433")

    def dead_letters() -> int:
        with session(engine) as s:
            return int(s.exec(select(func.count()).select_from(DeadLetter)).one()[0])  # type: ignore[call-overload]

    def run(case: tuple[list[Message], bool, int]) -> str:
        items, per_commit, step = case
        clock[0] += timedelta(milliseconds=step)
        before = dead_letters()
        acked: list[int] = []

        def on_commit(c: Committed) -> None:
            acked.extend(c.indexes)

        result = processor.process(items, on_commit if per_commit else None)
        dead = sum(result.deadletters.values())
        bad = {r: n for r, n in result.deadletters.items() if r in ("internal", "store_refused")}
        # an undecodable message that looks like an alarm is dead-lettered and opens a minimal order
        # (device_adapters/alarm_hint.py); a minimal order for any other reason means the store refused
        if bad or result.held or result.minimal > dead:
            raise AssertionError(f"dead letters {bad}, held {result.held}, minimal orders {result.minimal}")
        if result.messages != len(items) or result.decoded + dead != len(items):
            raise AssertionError(f"{len(items)} messages, {result.decoded} decoded, {dead} dead-lettered")
        if dead_letters() - before != dead:
            raise AssertionError(f"{dead} dead letters counted, {dead_letters() - before} stored")
        if per_commit and sorted(acked) != list(range(len(items))):
            raise AssertionError(f"committed indexes {sorted(acked)} for {len(items)} messages")
        return "batch"

    def reproduce(case: tuple[list[Message], bool, int]) -> str:
        items, per_commit, _ = case
        return f"processor.process({items!r}{', on_commit' if per_commit else ''})"

    strategy = st.tuples(st.lists(mqtt_messages(), min_size=1, max_size=12), st.booleans(), st.integers(0, 5000))
    return Target("ingest", strategy, run, reproduce)


__all__ = [
    "T0",
    "Message",
    "NotStorable",
    "Target",
    "check_storable",
    "decoder_targets",
    "ingest_target",
    "mqtt_messages",
]
