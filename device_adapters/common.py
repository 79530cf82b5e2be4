"""Small shared checks for the decoders: ids, kinds, timestamps, JSON. Pure and fast."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from typing import Any

from device_adapters.events import DecodeError, EventKind

DEVICE_ID_MAX = 64
EVENT_ID_MAX = 128
_ID_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.:-")

KINDS: dict[str, EventKind] = {k.value: k for k in EventKind}

# Unix seconds accepted as a device time: after 1970-01-01 and before year 10000.
_TS_MAX = 253402300799.0


def is_device_id(value: str) -> bool:
    """``[A-Za-z0-9_.:-]{1,64}``, checked without a regex."""
    return 0 < len(value) <= DEVICE_ID_MAX and _ID_CHARS.issuperset(value)


def check_device_id(value: str) -> str:
    if not is_device_id(value):
        raise DecodeError("bad_device_id", f"device id {value[:80]!r} must match [A-Za-z0-9_.:-]{{1,64}}")
    return value


def parse_kind(value: Any) -> EventKind:
    if type(value) is not str:
        raise DecodeError("wrong_type", f"kind must be a string, got {type(value).__name__}")
    kind = KINDS.get(value)
    if kind is None:
        raise DecodeError("unknown_kind", f"kind {value[:40]!r} is not one of {', '.join(KINDS)}")
    return kind


def as_utc(value: datetime) -> datetime:
    """A timezone-aware UTC datetime; a naive one is taken to be UTC already."""
    if value.tzinfo is UTC:
        return value
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def from_unix(value: float) -> datetime:
    """Unix seconds → UTC datetime. Raises ``DecodeError("bad_ts")`` when out of range."""
    if not math.isfinite(value) or value <= 0 or value > _TS_MAX:
        raise DecodeError("bad_ts", f"Unix time {value!r} out of range")
    return datetime.fromtimestamp(value, UTC)


def parse_rfc3339(text: str) -> datetime:
    """Strict RFC 3339 date-time (``2026-11-28T04:30:00Z``, ``...+08:00``, ``...T04:30:00.5Z``).

    ISO 8601 forms that RFC 3339 does not allow (no offset, date only, basic format) are refused.
    """
    n = len(text)
    if (
        n < 20
        or n > 40
        or text[4] != "-"
        or text[7] != "-"
        or text[10] not in "Tt "
        or text[13] != ":"
        or text[16] != ":"
    ):
        raise DecodeError("bad_ts", f"{text[:48]!r} is not an RFC 3339 date-time")
    last = text[-1]
    if last in "Zz":
        text = text[:-1] + "+00:00"
    elif n < 25 or text[-6] not in "+-" or text[-3] != ":":
        raise DecodeError("bad_ts", f"{text[:48]!r} has no UTC offset (RFC 3339 needs Z or ±hh:mm)")
    try:
        value = datetime.fromisoformat(text)
    except ValueError as exc:
        raise DecodeError("bad_ts", f"{text[:48]!r}: {exc}") from None
    return value.astimezone(UTC)


def format_rfc3339(value: datetime) -> str:
    """UTC, ``Z`` suffix, microseconds only when non-zero."""
    value = as_utc(value)
    if value.microsecond:
        return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


_JSON = json.JSONDecoder(parse_constant=_reject_constant)


def load_json(payload: bytes) -> Any:
    """UTF-8 JSON → Python, with ``not_utf8`` / ``not_json`` reasons. NaN and Infinity are refused."""
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DecodeError("not_utf8", str(exc)) from None
    try:
        return _JSON.decode(text)
    except (ValueError, RecursionError) as exc:
        raise DecodeError("not_json", str(exc)[:200]) from None
