"""The native topic of our own firmware: ``shewu/v1/<device_id>/event``, JSON payload, version 1.

See docs/wire-formats.md. Decoding is strict: every field's type is checked and unknown fields are
refused, so a firmware bug shows up as a dead letter with a reason instead of a silent default.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from device_adapters.common import (
    AVAILABILITY_STATES,
    EVENT_ID_MAX,
    as_utc,
    check_device_id,
    format_rfc3339,
    from_unix,
    is_device_id,
    load_json,
    parse_kind,
    parse_rfc3339,
)
from device_adapters.events import DecodeError, DeviceEvent, EventKind

NATIVE_PREFIX = "shewu/v1/"
NATIVE_SUFFIX = "/event"
NATIVE_FILTER = "shewu/v1/+/event"
# Shewu's own edges (serial bridge, DC-09 receiver, home units) publish under a prefix of their own,
# ``shewu/v1/edge/<edge_id>/<device_id>/event``, and the gateway confirms each committed event id on
# ``shewu/v1/edge/<edge_id>/confirm``; the edge keeps an event until then (docs/wire-formats.md).
EDGE_PREFIX = "shewu/v1/edge/"
EDGE_FILTER = "shewu/v1/edge/+/+/event"
EDGE_ID_MAX = 32
_EDGE_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-")
NATIVE_MAX_PAYLOAD = 65536
MODEL_MAX = 128
SOURCE = "native"

_FIELDS = frozenset({"v", "id", "kind", "ts", "model", "value", "data"})


def native_topic(device_id: str) -> str:
    return f"{NATIVE_PREFIX}{device_id}{NATIVE_SUFFIX}"


def is_edge_id(edge_id: str) -> bool:
    return 0 < len(edge_id) <= EDGE_ID_MAX and _EDGE_CHARS.issuperset(edge_id)


def edge_topic(edge_id: str, device_id: str) -> str:
    """The topic an edge publishes a device's native message on."""
    if not is_edge_id(edge_id):
        raise ValueError(f"edge id {edge_id!r} must match [A-Za-z0-9_.-]{{1,{EDGE_ID_MAX}}}")
    if not is_device_id(device_id):
        raise ValueError(f"device id {device_id!r} must match [A-Za-z0-9_.:-]{{1,64}}")
    return f"{EDGE_PREFIX}{edge_id}/{device_id}{NATIVE_SUFFIX}"


def confirm_topic(edge_id: str) -> str:
    """Where the gateway confirms the event ids of an edge whose effect it has committed."""
    return f"{EDGE_PREFIX}{edge_id}/confirm"


def edge_of_topic(topic: str) -> str | None:
    """``shewu/v1/edge/<edge>/<device>/event`` → ``<edge>``; None for any other topic."""
    if not topic.startswith(EDGE_PREFIX):
        return None
    edge, _, rest = topic[len(EDGE_PREFIX):].partition("/")
    return edge if is_edge_id(edge) and rest.endswith(NATIVE_SUFFIX) else None


def encode_confirm(event_ids: list[str]) -> bytes:
    return json.dumps({"v": 1, "ids": event_ids}, separators=(",", ":")).encode()


def decode_confirm(payload: bytes) -> list[str]:
    """The event ids of a confirmation; an empty list for anything malformed."""
    try:
        obj = json.loads(payload)
    except (ValueError, RecursionError):
        return []
    ids = obj.get("ids") if type(obj) is dict else None
    return [i for i in ids if type(i) is str] if type(ids) is list else []


def device_id_from_topic(topic: str) -> str:
    """``shewu/v1/<id>/event`` or ``shewu/v1/edge/<edge>/<id>/event`` → ``<id>``;
    ``unknown_topic`` or ``bad_device_id`` otherwise."""
    if topic.startswith(EDGE_PREFIX) and topic.endswith(NATIVE_SUFFIX):
        edge, _, device_id = topic[len(EDGE_PREFIX) : len(topic) - len(NATIVE_SUFFIX)].partition("/")
        if not is_edge_id(edge) or not device_id or "/" in device_id:
            raise DecodeError("unknown_topic", f"{topic[:200]!r} is not shewu/v1/edge/<edge_id>/<device_id>/event")
        return check_device_id(device_id)
    if not (topic.startswith(NATIVE_PREFIX) and topic.endswith(NATIVE_SUFFIX)):
        raise DecodeError("unknown_topic", f"{topic[:200]!r} is not shewu/v1/<device_id>/event")
    device_id = topic[len(NATIVE_PREFIX) : len(topic) - len(NATIVE_SUFFIX)]
    if "/" in device_id or not device_id:
        raise DecodeError("unknown_topic", f"{topic[:200]!r} is not shewu/v1/<device_id>/event")
    return check_device_id(device_id)


def _parse_ts(ts: Any, received_at: datetime) -> datetime:
    t = type(ts)
    if t is str:
        return parse_rfc3339(ts)
    if t is int or t is float:
        if ts == 0:  # a device without a clock: use the receive time
            return received_at
        return from_unix(ts)
    raise DecodeError("wrong_type", f"ts must be an RFC 3339 string or Unix seconds, got {t.__name__}")


def decode_native(topic: str, payload: bytes, received_at: datetime) -> DeviceEvent:
    """One native message → one event. Raises :class:`DecodeError` with a stable reason."""
    device_id = device_id_from_topic(topic)
    received_at = as_utc(received_at)
    obj = load_json(payload)
    if type(obj) is not dict:
        raise DecodeError("wrong_type", f"payload must be a JSON object, got {type(obj).__name__}")
    extra = obj.keys() - _FIELDS
    if extra:
        raise DecodeError("unknown_field", f"unknown field(s): {', '.join(sorted(extra))[:200]}")

    if "v" not in obj:
        raise DecodeError("missing_field", "v is required")
    v = obj["v"]
    if type(v) is not int:
        raise DecodeError("wrong_type", f"v must be an integer, got {type(v).__name__}")
    if v != 1:
        raise DecodeError("bad_version", f"v is {v}, only 1 is understood")

    if "kind" not in obj:
        raise DecodeError("missing_field", "kind is required")
    kind = parse_kind(obj["kind"])

    event_id: str | None = None
    if "id" in obj:
        event_id = obj["id"]
        if type(event_id) is not str:
            raise DecodeError("wrong_type", f"id must be a string, got {type(event_id).__name__}")
        if not 0 < len(event_id) <= EVENT_ID_MAX:
            raise DecodeError("bad_id", f"id must be 1..{EVENT_ID_MAX} characters, got {len(event_id)}")
        if not event_id.isprintable():  # also refuses lone surrogates, which no database takes
            raise DecodeError("bad_id", f"id {event_id[:40]!r} has characters that are not printable")

    at = _parse_ts(obj["ts"], received_at) if "ts" in obj else received_at

    model: str | None = None
    if "model" in obj:
        model = obj["model"]
        if type(model) is not str:
            raise DecodeError("wrong_type", f"model must be a string, got {type(model).__name__}")
        if len(model) > MODEL_MAX:
            raise DecodeError("bad_value", f"model longer than {MODEL_MAX} characters")

    data: dict[str, Any] = {}
    if "data" in obj:
        data = obj["data"]
        if type(data) is not dict:
            raise DecodeError("wrong_type", f"data must be a JSON object, got {type(data).__name__}")

    value = obj.get("value")
    known = type(value) is str and value in AVAILABILITY_STATES
    if kind is EventKind.AVAILABILITY and value is not None and not known:
        raise DecodeError("bad_value", f"availability value {str(value)[:40]!r} is not online/offline")

    return DeviceEvent(
        device_id=device_id,
        kind=kind,
        at=at,
        source=SOURCE,
        raw=data,
        value=value,
        model=model,
        event_id=event_id,
    )


def encode_native(
    device_id: str,
    kind: EventKind | str,
    *,
    at: datetime | float | int | None = None,
    event_id: str | None = None,
    model: str | None = None,
    value: Any = None,
    data: Mapping[str, Any] | None = None,
) -> tuple[str, bytes]:
    """Build a native message: ``(topic, payload)``. Raises ``ValueError`` on bad arguments.

    ``at`` is a datetime (sent as RFC 3339 UTC) or Unix seconds (sent as a number); ``None``
    leaves ``ts`` out, so the receiver uses its receive time. ``value`` is sent only when not None.
    """
    if not is_device_id(device_id):
        raise ValueError(f"device id {device_id!r} must match [A-Za-z0-9_.:-]{{1,64}}")
    try:
        kind = parse_kind(str(kind))
    except DecodeError as exc:
        raise ValueError(str(exc)) from None
    obj: dict[str, Any] = {"v": 1}
    if event_id is not None:
        if not 0 < len(event_id) <= EVENT_ID_MAX:
            raise ValueError(f"event id must be 1..{EVENT_ID_MAX} characters")
        obj["id"] = event_id
    obj["kind"] = kind.value
    if at is not None:
        if isinstance(at, datetime):
            obj["ts"] = format_rfc3339(at)
        elif isinstance(at, int | float) and not isinstance(at, bool) and math.isfinite(at) and at >= 0:
            obj["ts"] = at
        else:
            raise ValueError(f"at must be a datetime or non-negative Unix seconds, got {at!r}")
    if model is not None:
        if len(model) > MODEL_MAX:
            raise ValueError(f"model longer than {MODEL_MAX} characters")
        obj["model"] = model
    if value is not None:
        obj["value"] = value
    if data is not None:
        obj["data"] = dict(data)
    payload = json.dumps(obj, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()
    if len(payload) > NATIVE_MAX_PAYLOAD:
        raise ValueError(f"payload is {len(payload)} bytes, over {NATIVE_MAX_PAYLOAD}")
    return native_topic(device_id), payload
