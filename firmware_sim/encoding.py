"""The wire formats a simulated device speaks, one function each (see docs/wire-formats.md).

Pure functions: a :class:`Reading` (what a device says, in our words) in, :class:`Message`
objects (topic + bytes) out. No I/O, no clock: the caller passes the time.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from device_adapters.events import EventKind
from device_adapters.native import encode_native
from device_adapters.serial_protocol import encode_line
from firmware_sim.models import Format

DEFAULT_Z2M_BASE = "zigbee2mqtt"


@dataclass(frozen=True, slots=True)
class Message:
    """One thing to send: an MQTT publish (``topic`` set) or a serial line (``topic == ""``)."""

    topic: str
    payload: bytes
    qos: int = 1
    retain: bool = False

    @property
    def text(self) -> str:
        return self.payload.decode("utf-8")


@dataclass(frozen=True, slots=True)
class Reading:
    """What a device says once, independent of the wire format.

    ``state`` is the full Zigbee2MQTT state to publish (including transient fields such as
    ``action``); ``data`` the readings the native and serial formats carry; ``value`` the native
    ``value`` field (availability ``online``/``offline``, battery % for battery_low).
    """

    device_id: str
    kind: EventKind
    model: str
    state: Mapping[str, Any] = field(default_factory=dict)
    data: Mapping[str, Any] = field(default_factory=dict)
    value: Any = None
    action: str | None = None


# --- Zigbee2MQTT (the simulator plays the Zigbee2MQTT bridge, so this encoder lives here) ----


def z2m_json(obj: Mapping[str, Any]) -> bytes:
    """JSON the way Zigbee2MQTT writes it (JavaScript ``JSON.stringify``: compact, UTF-8)."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def z2m_state_messages(
    base: str,
    friendly_name: str,
    state: Mapping[str, Any],
    *,
    action: str | None = None,
    action_topic: bool = False,
    qos: int = 1,
) -> list[Message]:
    """The publishes of one state report on ``<base>/<friendly_name>``.

    With an ``action``, Zigbee2MQTT publishes the state with the action, then clears it by
    publishing the same state again with ``"action": ""`` (Home Assistant extension,
    ``legacy_action_sensor``), then, when ``action_topic`` (legacy triggers), the plain-text action
    on ``<base>/<friendly_name>/action``.
    """
    topic = f"{base}/{friendly_name}"
    if action is None:
        return [Message(topic, z2m_json(state), qos)]
    messages = [
        Message(topic, z2m_json({**state, "action": action}), qos),
        Message(topic, z2m_json({**state, "action": ""}), qos),
    ]
    if action_topic:
        messages.append(Message(f"{topic}/action", action.encode("utf-8"), qos))
    return messages


def z2m_availability_message(
    base: str, friendly_name: str, online: bool, *, legacy: bool = False, qos: int = 1
) -> Message:
    """``<base>/<friendly_name>/availability``: ``{"state":"online"}`` (retained, as Zigbee2MQTT does);
    ``legacy`` gives the old plain ``online``/``offline`` payload."""
    state = "online" if online else "offline"
    payload = state.encode("ascii") if legacy else z2m_json({"state": state})
    return Message(f"{base}/{friendly_name}/availability", payload, qos, retain=True)


# --- native topic and serial line: encoded by device_adapters, the one place for each --------


def native_message(reading: Reading, *, msg_id: str, at: datetime | float | None, qos: int = 1) -> Message:
    """``shewu/v1/<device_id>/event`` via :func:`device_adapters.native.encode_native`."""
    topic, payload = encode_native(
        reading.device_id,
        reading.kind,
        at=at,
        event_id=msg_id,
        model=reading.model,
        value=reading.value,
        data=reading.data,
    )
    return Message(topic, payload, qos)


def serial_data(reading: Reading) -> dict[str, Any]:
    """The ``key=value`` readings of a serial line. The native ``value`` travels as ``value=``
    (availability ``value=offline``); battery_low's value is its ``battery`` reading already."""
    data = dict(reading.data)
    if reading.value is not None and reading.kind is not EventKind.BATTERY_LOW:
        data["value"] = reading.value
    return data


def serial_line(seq: int, reading: Reading, *, at: datetime | float | None) -> bytes:
    """One ``$SW1,...*CRC\\r\\n`` line via :func:`device_adapters.serial_protocol.encode_line`."""
    return encode_line(seq, reading.device_id, reading.kind, at, serial_data(reading))


# --- any format ----------------------------------------------------------------------------


def encode(
    reading: Reading,
    fmt: Format,
    *,
    at: datetime,
    msg_id: str = "",
    seq: int = 0,
    z2m_base: str = DEFAULT_Z2M_BASE,
    action_topic: bool = False,
) -> list[Message]:
    """``reading`` in ``fmt``. ``msg_id`` is used by the native format, ``seq`` by the serial one."""
    if fmt is Format.Z2M:
        if reading.kind is EventKind.AVAILABILITY:
            return [z2m_availability_message(z2m_base, reading.device_id, reading.value != "offline")]
        return z2m_state_messages(
            z2m_base, reading.device_id, reading.state, action=reading.action, action_topic=action_topic
        )
    if fmt is Format.NATIVE:
        return [native_message(reading, msg_id=msg_id or f"{reading.device_id}:{seq:x}", at=at)]
    return [Message("", serial_line(seq, reading, at=round(at.timestamp(), 3)), qos=0)]
