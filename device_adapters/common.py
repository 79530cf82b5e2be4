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
AVAILABILITY_STATES = frozenset({"online", "offline"})  # the value of an ``availability`` event

# Unix seconds accepted as a device time: after 1970-01-01 and before year 10000.
_TS_MAX = 253402300799.0


def is_device_id(value: str) -> bool:
    """``[A-Za-z0-9_.:-]{1,64}``, checked without a regex."""
    return 0 < len(value) <= DEVICE_ID_MAX and _ID_CHARS.issuperset(value)


def is_text(value: str) -> bool:
    """True unless ``value`` holds a lone surrogate (from a ``\\ud800`` JSON escape, or
    ``surrogateescape``): text that no UTF-8 encoder, database driver or HTTP response takes."""
    if value.isascii():
        return True
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


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
    """Unix seconds → UTC datetime. Raises ``DecodeError("bad_ts")`` when out of range (an integer
    too large for a float included)."""
    if type(value) is int:
        if not 0 < value <= _TS_MAX:
            raise DecodeError("bad_ts", f"Unix time {str(value)[:24]} out of range")
    elif not math.isfinite(value) or value <= 0 or value > _TS_MAX:
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
        return datetime.fromisoformat(text).astimezone(UTC)
    except ValueError as exc:
        raise DecodeError("bad_ts", f"{text[:48]!r}: {exc}") from None
    except OverflowError:  # 0001-01-01T00:00:00+01:00, 9999-12-31T23:59:59-01:00: not a UTC time
        raise DecodeError("bad_ts", f"{text[:48]!r} is out of range in UTC") from None


def format_rfc3339(value: datetime) -> str:
    """UTC, ``Z`` suffix, microseconds only when non-zero."""
    value = as_utc(value)
    if value.microsecond:
        return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


JSON_MAX_DEPTH = 32
"""Objects and arrays nested deeper than this are refused: no device nests its readings that
deep, and what is stored must serialize again, from deeper in the stack than it was parsed."""


class _OutOfRange(Exception):
    pass


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _OutOfRange(text)
    return value


_JSON = json.JSONDecoder(parse_constant=_reject_constant, parse_float=_finite_float)


def _check_tree(obj: Any, *, depth: bool, strings: bool) -> None:
    """Nesting depth at most :data:`JSON_MAX_DEPTH`; no string (key or value) holding a lone
    surrogate, which a ``\\ud800`` escape decodes to and which no UTF-8 encoder (database driver,
    HTTP response) takes."""
    stack: list[tuple[Any, int]] = [(obj, 1)]
    while stack:
        node, level = stack.pop()
        t = type(node)
        if t is dict:
            if depth and level > JSON_MAX_DEPTH:
                raise DecodeError("not_json", f"nested deeper than {JSON_MAX_DEPTH} levels")
            for key, value in node.items():
                if strings:
                    _check_string(key)
                stack.append((value, level + 1))
        elif t is list:
            if depth and level > JSON_MAX_DEPTH:
                raise DecodeError("not_json", f"nested deeper than {JSON_MAX_DEPTH} levels")
            stack.extend((value, level + 1) for value in node)
        elif t is str and strings:
            _check_string(node)


def _check_string(text: str) -> None:
    if not is_text(text):
        raise DecodeError("not_utf8", f"a JSON string escapes a lone surrogate: {text[:40]!r}")


def load_json(payload: bytes) -> Any:
    """UTF-8 JSON → Python, with ``not_utf8`` / ``not_json`` / ``bad_value`` reasons.

    Refused: NaN and Infinity (``not_json``), a number too large for a double such as ``1e400``
    (``bad_value``; integers of any size up to Python's 4300 digits are kept: they are valid JSON and
    store as such), nesting deeper than :data:`JSON_MAX_DEPTH` (``not_json``), and strings escaping a
    lone surrogate (``not_utf8``).
    """
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DecodeError("not_utf8", str(exc)) from None
    try:
        obj = _JSON.decode(text)
    except _OutOfRange as exc:
        raise DecodeError("bad_value", f"number {str(exc)[:40]} is out of the range of a double") from None
    except RecursionError:
        raise DecodeError("not_json", f"nested deeper than {JSON_MAX_DEPTH} levels") from None
    except ValueError as exc:
        raise DecodeError("not_json", str(exc)[:200]) from None
    depth = text.count("[") + text.count("{") > JSON_MAX_DEPTH
    strings = "\\u" in text
    if depth or strings:
        _check_tree(obj, depth=depth, strings=strings)
    return obj
