"""The serial line protocol of building receivers, version 1 (docs/wire-formats.md).

``$SW1,<seq>,<device_id>,<kind>,<ts>,<data>*<crc>\\r\\n`` with a CRC-16/CCITT-FALSE over the bytes
between ``$`` and ``*``. Pure functions: :func:`encode_line` and :func:`decode_line`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from device_adapters.common import AVAILABILITY_STATES, KINDS, as_utc, from_unix, is_device_id
from device_adapters.events import DecodeError, DeviceEvent, EventKind
from device_adapters.native import encode_native

PROTOCOL = "SW1"
MAX_LINE = 256
SEQ_MAX = 4294967295
SOURCE = "serial"

_KEY_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_")
_VALUE_CHARS = _KEY_CHARS | frozenset(".:+-")
_HEX_UPPER = frozenset("0123456789ABCDEF")
_DIGITS = frozenset("0123456789")


def _make_table() -> tuple[int, ...]:
    table = []
    for byte in range(256):
        crc = byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else (crc << 1)
        table.append(crc & 0xFFFF)
    return tuple(table)


_CRC_TABLE = _make_table()


def crc16_ccitt_false(data: bytes) -> int:
    """CRC-16/CCITT-FALSE: poly 0x1021, init 0xFFFF, no reflection, no final xor.
    ``crc16_ccitt_false(b"123456789") == 0x29B1``."""
    crc = 0xFFFF
    table = _CRC_TABLE
    for b in data:
        crc = ((crc << 8) & 0xFFFF) ^ table[(crc >> 8) ^ b]
    return crc


@dataclass(frozen=True, slots=True)
class SerialFrame:
    """One decoded line. ``ts`` is the receiver's clock (None when it sent ``0``); ``at`` is
    ``ts`` or, without a clock, the time the line was received."""

    seq: int
    device_id: str
    kind: EventKind
    ts: datetime | None
    ts_text: str
    received_at: datetime
    data: dict[str, str | int | float] = field(default_factory=dict)

    @property
    def at(self) -> datetime:
        return self.ts if self.ts is not None else self.received_at

    @property
    def value(self) -> Any:
        """``data["value"]`` when sent; otherwise ``state`` for ``availability`` and the ``battery``
        reading for ``battery_low``."""
        if "value" in self.data:
            return self.data["value"]
        if self.kind is EventKind.AVAILABILITY:
            return self.data.get("state")
        if self.kind is EventKind.BATTERY_LOW:
            return self.data.get("battery")
        return None

    def event_id(self, receiver_id: str) -> str:
        """``serial:<receiver_id>:<seq>:<ts>``; ``<ts>`` is the line's ts text, or when the
        receiver has no clock (``0``), ``rx`` + the bridge's receive time in Unix milliseconds, so a
        receiver that restarts its sequence does not reuse ids."""
        stamp = self.ts_text if self.ts is not None else f"rx{int(self.at.timestamp() * 1000)}"
        return f"serial:{receiver_id}:{self.seq}:{stamp}"

    def to_event(self, receiver_id: str) -> DeviceEvent:
        return DeviceEvent(
            device_id=self.device_id,
            kind=self.kind,
            at=self.at,
            source=SOURCE,
            raw=dict(self.data),
            value=self.value,
            event_id=self.event_id(receiver_id),
        )

    def to_native(self, receiver_id: str) -> tuple[str, bytes]:
        """The native message the serial bridge publishes for this line: ``(topic, payload)``."""
        return encode_native(
            self.device_id,
            self.kind,
            at=self.at,
            event_id=self.event_id(receiver_id),
            value=self.value,
            data=self.data,
        )


def _typed(value: str) -> str | int | float:
    """``87`` → 87, ``-3`` → -3, ``21.5`` → 21.5; everything else stays a string."""
    if not value:
        return value
    body = value[1:] if value[0] in "+-" else value
    if body and _DIGITS.issuperset(body):
        return int(value)
    if body.count(".") == 1 and len(body) > 1 and _DIGITS.issuperset(body.replace(".", "")):
        return float(value)
    return value


def parse_data(text: str) -> dict[str, str | int | float]:
    data: dict[str, str | int | float] = {}
    if not text:
        return data
    for pair in text.split(";"):
        key, eq, value = pair.partition("=")
        if not eq:
            raise DecodeError("bad_data", f"{pair[:40]!r} is not key=value")
        if not key or not _KEY_CHARS.issuperset(key):
            raise DecodeError("bad_data", f"key {key[:40]!r} must match [A-Za-z0-9_]+")
        if not _VALUE_CHARS.issuperset(value):
            raise DecodeError("bad_data", f"value {value[:40]!r} of {key} must match [A-Za-z0-9_.:+-]*")
        if key in data:
            raise DecodeError("bad_data", f"key {key} given twice")
        data[key] = _typed(value)
    return data


def _parse_ts(text: str) -> datetime | None:
    whole, dot, frac = text.partition(".")
    if not whole or not _DIGITS.issuperset(whole) or (dot and (not frac or not _DIGITS.issuperset(frac))):
        raise DecodeError("bad_ts", f"ts {text[:24]!r} must be decimal Unix seconds")
    value = float(text)
    if value == 0:
        return None
    return from_unix(value)


def decode_line(line: bytes, received_at: datetime) -> SerialFrame:
    """Decode one line (with or without its ``\\r\\n``). Bytes before the last ``$`` are noise.

    Reasons: ``too_long``, ``bad_frame``, ``bad_crc``, ``field_count``, ``bad_version``,
    ``bad_seq``, ``bad_device_id``, ``unknown_kind``, ``bad_ts``, ``bad_data``.
    """
    start = line.rfind(b"$")
    if start < 0:
        if len(line) > MAX_LINE:
            raise DecodeError("too_long", f"{len(line)} bytes without a frame")
        raise DecodeError("bad_frame", "no '$' start of frame")
    frame = line[start:]
    if len(frame) > MAX_LINE:
        raise DecodeError("too_long", f"frame is {len(frame)} bytes, over {MAX_LINE}")
    if frame.endswith(b"\n"):
        frame = frame[:-1]
        if frame.endswith(b"\r"):
            frame = frame[:-1]
    star = frame.rfind(b"*")
    if star < 0:
        raise DecodeError("bad_frame", "no '*' before the CRC")
    body = frame[1:star]
    crc_text = frame[star + 1 :]
    try:
        crc_str = crc_text.decode("ascii")
        text = body.decode("ascii")
    except UnicodeDecodeError:
        raise DecodeError("bad_frame", "non-ASCII bytes in frame") from None
    if len(crc_str) != 4 or not _HEX_UPPER.issuperset(crc_str):
        raise DecodeError("bad_frame", f"CRC {crc_str[:12]!r} must be 4 upper-case hex digits")
    expected = crc16_ccitt_false(body)
    if int(crc_str, 16) != expected:
        raise DecodeError("bad_crc", f"CRC is {crc_str}, computed {expected:04X}")
    if "*" in text:
        raise DecodeError("bad_frame", "more than one '*'")

    fields = text.split(",")
    if len(fields) != 6:
        raise DecodeError("field_count", f"{len(fields)} fields, expected 6")
    proto, seq_text, device_id, kind_text, ts_text, data_text = fields
    if proto != PROTOCOL:
        raise DecodeError("bad_version", f"protocol {proto[:8]!r}, expected {PROTOCOL}")
    if not seq_text or len(seq_text) > 10 or not _DIGITS.issuperset(seq_text) or int(seq_text) > SEQ_MAX:
        raise DecodeError("bad_seq", f"seq {seq_text[:16]!r} must be 0..{SEQ_MAX}")
    if not is_device_id(device_id):
        raise DecodeError("bad_device_id", f"device id {device_id[:70]!r} must match [A-Za-z0-9_.:-]{{1,64}}")
    kind = KINDS.get(kind_text)
    if kind is None:
        raise DecodeError("unknown_kind", f"kind {kind_text[:40]!r}")
    ts = _parse_ts(ts_text)
    data = parse_data(data_text)
    if kind is EventKind.AVAILABILITY:
        state = data.get("value", data.get("state"))
        if state is not None and not (type(state) is str and state in AVAILABILITY_STATES):
            raise DecodeError("bad_data", f"availability state {str(state)[:40]!r} is not online/offline")
    return SerialFrame(
        seq=int(seq_text),
        device_id=device_id,
        kind=kind,
        ts=ts,
        ts_text=ts_text,
        data=data,
        received_at=as_utc(received_at),
    )


def _format_ts(ts: datetime | float | int | None) -> str:
    if ts is None:
        return "0"
    if isinstance(ts, datetime):
        ts = as_utc(ts).timestamp()
    if isinstance(ts, bool) or not math.isfinite(ts) or ts < 0:
        raise ValueError(f"ts {ts!r} must be non-negative Unix seconds")
    if isinstance(ts, int) or float(ts).is_integer():
        return str(int(ts))
    return f"{ts:.6f}".rstrip("0")


def _format_value(value: str | int | float | bool) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"value {value!r} is not finite")
        return repr(value)
    return value


def encode_line(
    seq: int,
    device_id: str,
    kind: EventKind | str,
    ts: datetime | float | int | None,
    data: Mapping[str, str | int | float | bool] | None = None,
) -> bytes:
    """One complete line, ``$SW1,...*CRC\\r\\n``. Raises ``ValueError`` on anything
    :func:`decode_line` would reject."""
    if isinstance(seq, bool) or not isinstance(seq, int) or not 0 <= seq <= SEQ_MAX:
        raise ValueError(f"seq {seq!r} must be 0..{SEQ_MAX}")
    if not is_device_id(device_id):
        raise ValueError(f"device id {device_id!r} must match [A-Za-z0-9_.:-]{{1,64}}")
    kind_text = str(kind)
    if kind_text not in KINDS:
        raise ValueError(f"unknown kind {kind_text!r}")
    pairs = []
    for key, value in (data or {}).items():
        text = _format_value(value)
        if not key or not _KEY_CHARS.issuperset(key):
            raise ValueError(f"data key {key!r} must match [A-Za-z0-9_]+")
        if not isinstance(text, str) or not _VALUE_CHARS.issuperset(text):
            raise ValueError(f"data value {value!r} must match [A-Za-z0-9_.:+-]*")
        pairs.append(f"{key}={text}")
    body = f"{PROTOCOL},{seq},{device_id},{kind_text},{_format_ts(ts)},{';'.join(pairs)}".encode("ascii")
    line = b"$" + body + f"*{crc16_ccitt_false(body):04X}\r\n".encode("ascii")
    if len(line) > MAX_LINE:
        raise ValueError(f"line is {len(line)} bytes, over {MAX_LINE}")
    return line


__all__ = [
    "MAX_LINE",
    "SerialFrame",
    "crc16_ccitt_false",
    "decode_line",
    "encode_line",
]
