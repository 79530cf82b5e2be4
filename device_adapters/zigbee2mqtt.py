"""Decode what the Zigbee2MQTT bridge publishes, as it really publishes it.

Topics under the base topic (``zigbee2mqtt`` by default):

- ``<base>/<friendly_name>``: the device state, a JSON object. Friendly names may contain ``/``.
- ``<base>/<friendly_name>/action``: the action as plain text (published by the Home Assistant
  extension, see below).
- ``<base>/<friendly_name>/availability``: ``{"state":"online"}``, or legacy plain ``online`` /
  ``offline`` (``advanced.legacy_availability_payload: true``).
- ``<base>/bridge/...`` and ``.../set``, ``.../get`` (also ``.../set/<attr>``): the bridge's own
  topics and commands. Ignored: ``[]``.

What Zigbee2MQTT does around a button press (read in Koenkk/zigbee2mqtt):

1. ``lib/state.ts`` keeps a per-device state cache, but ``dontCacheProperties`` lists ``^action$``,
   ``^action_.*$``, ``^click$`` ...: the state message of a press carries ``"action": "emergency"``,
   while later re-publications of the cached state (every battery/linkquality report, when
   ``advanced.cache_state`` is on, which is the default) do **not** carry ``action`` again.
2. ``lib/extension/homeassistant.ts``, ``onPublishEntityState``: when
   ``homeassistant.legacy_action_sensor`` is on (``advanced.homeassistant_legacy_triggers`` in 1.x,
   on by default there), right after a message with an action it calls
   ``publishEntityState(entity, {action: ""})``: a second full state message with
   ``"action": ""``. The FAQ says the same ("every time an action is published, e.g.
   ``{"action": "single"}``, it is immediately followed by ``{"action": ""}``").
   Then, with ``advanced.output: json``, it also publishes the action value as plain text on
   ``<base>/<friendly_name>/action`` (for MQTT device triggers).

So one press may arrive as: state ``{"action":"emergency",...}``, state ``{"action":"",...}``,
and ``.../action`` ``emergency``. Here: an empty (or null) action matches no rule, so the clearing
message is plain telemetry; and the ``/action`` copy of an action already seen in the state
message (or the other way round) within :data:`ACTION_ECHO_WINDOW` is dropped, so one press
raises one SOS.

Cached-state repeats (``"water_leak": true`` again with every battery report) are handled by
remembering, per device and in memory, the last value of every level-type field: ``leak`` fires on
unknown/false → true, ``leak_cleared`` on true → false and on the first dry state this process
sees of a device (after a restart it cannot know whether a ticket is waiting for the clear; a
clear on no open ticket is dropped by the gateway), ``battery_low`` and ``tamper`` on their
rising edge. Any state message that raises nothing yields one ``telemetry`` event, so last-seen and
battery can be updated. After a restart the memory is empty, so a still-wet sensor raises ``leak``
once more; the gateway's open-alarm key absorbs that.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from device_adapters.common import as_utc, is_text, load_json
from device_adapters.events import DecodeError, DeviceEvent, EventKind
from device_adapters.zigbee2mqtt_models import (
    MODELS,
    FieldRule,
    ModelProfile,
    Trigger,
    looks_like_alarm_key,
    profile_for,
)

SOURCE = "zigbee2mqtt"
ACTION_ECHO_WINDOW = timedelta(seconds=2)
MAX_TRACKED_DEVICES = 100_000
# ``last_seen`` is trusted as the event time only within this distance of the receive time.
_LAST_SEEN_FUTURE = timedelta(seconds=60)
_LAST_SEEN_PAST = timedelta(days=7)

ModelLookup = Callable[[str], "str | None"]
KindLookup = Callable[[str], "str | None"]
SOS_DEVICE_KINDS = frozenset({"sos"})
"""Registry kinds whose devices' unknown actions are an ``unknown_alarm`` (fail open)."""


@dataclass(slots=True)
class _DeviceMemory:
    levels: dict[str, bool] = field(default_factory=dict)
    last_action: Any = None
    last_action_via_topic: bool = False
    last_action_at: datetime | None = None


def _message_event_id(name: str, last_seen: str, kind: EventKind) -> str:
    """An id for one event of one Zigbee2MQTT message, from what names that message: the device and
    its ``last_seen`` (Zigbee2MQTT stamps every message it receives from a device). The same message
    delivered again (a redelivery after a gateway crash, a cached state re-published) has the same
    id, so ingest applies it once; Zigbee2MQTT itself sends no message id."""
    digest = hashlib.blake2b(f"{name}\x00{last_seen}\x00{kind.value}".encode(), digest_size=16).hexdigest()
    return f"z2m:{digest}"


def _parse_last_seen(value: Any, received_at: datetime) -> datetime | None:
    """Zigbee2MQTT's ``last_seen``: ISO 8601 with offset (``ISO_8601``, ``ISO_8601_local``) or
    Unix milliseconds (``epoch``). Anything else, or a time far from the receive time, is ignored."""
    t = type(value)
    try:
        if t is str:
            text = value[:-1] + "+00:00" if value.endswith("Z") else value
            at = datetime.fromisoformat(text)
            if at.tzinfo is None:
                return None
            at = as_utc(at)
        elif t is int or t is float:
            at = datetime.fromtimestamp(value / 1000, received_at.tzinfo)
        else:
            return None
    except (ValueError, OverflowError, OSError):
        return None
    if received_at - _LAST_SEEN_PAST <= at <= received_at + _LAST_SEEN_FUTURE:
        return at
    return None


FRIENDLY_NAME_MAX = 128  # what the gateway stores as a device id
# What the device registry accepts as a device id (gateway.services.fleet.DEVICE_ID): no control
# characters and no MQTT wildcards; and text a database can store (no lone surrogates).
_NAME_REFUSED = frozenset(chr(c) for c in range(0x20)) | {"#", "+"}


def _checked_name(name: str) -> str:
    if len(name) > FRIENDLY_NAME_MAX:
        raise DecodeError("bad_device_id", f"friendly name is {len(name)} characters, limit {FRIENDLY_NAME_MAX}")
    if not _NAME_REFUSED.isdisjoint(name) or not is_text(name):
        raise DecodeError(
            "bad_device_id", f"friendly name {name[:80]!r} has a control character, + or #, or is not Unicode text"
        )
    return name


class Zigbee2MqttDecoder:
    """Stateful decoder for one Zigbee2MQTT base topic. Thread-safe.

    ``model_lookup(friendly_name) -> model | None`` picks the model profile; when a state message
    carries ``device.model`` (``mqtt.include_device_information: true``) that wins. Without either,
    the generic profile applies. ``kind_lookup(friendly_name) -> kind | None`` is the registry's kind
    of the device: an action no rule knows from a device of kind ``sos`` is an ``unknown_alarm``.

    Fail open: a property named like an alarm (``sos``, ``water_leak*``, ``fall*``, ``smoke*``,
    ``gas*``, ``carbon_monoxide*``; :func:`device_adapters.zigbee2mqtt_models.looks_like_alarm_key`) that becomes
    ``true`` and that the profile does not read is an ``unknown_alarm`` (value: the property name),
    on its rising edge like any level.
    """

    def __init__(
        self,
        base: str = "zigbee2mqtt",
        model_lookup: ModelLookup | None = None,
        models: Mapping[str, ModelProfile] = MODELS,
        *,
        kind_lookup: KindLookup | None = None,
        max_devices: int = MAX_TRACKED_DEVICES,
    ) -> None:
        base = base.strip("/")
        if not base or "+" in base or "#" in base:
            raise ValueError(f"bad Zigbee2MQTT base topic {base!r}")
        self.base = base
        self.prefix = base + "/"
        self._model_lookup = model_lookup
        self._kind_lookup = kind_lookup
        self._models = models
        self._max_devices = max_devices
        self._memory: dict[str, _DeviceMemory] = {}
        self._lock = threading.Lock()

    def subscriptions(self) -> list[str]:
        return [f"{self.base}/#"]

    def forget(self, friendly_name: str | None = None) -> None:
        """Drop the remembered state of one device (or of all)."""
        with self._lock:
            if friendly_name is None:
                self._memory.clear()
            else:
                self._memory.pop(friendly_name, None)

    # -- dispatch ----------------------------------------------------------------------------

    def decode(self, topic: str, payload: bytes, received_at: datetime, *, retained: bool = False) -> list[DeviceEvent]:
        """Events for one message under the base topic. ``retained``: the broker's retain flag;
        a retained message is an old state, so its ``action`` (a past press) raises nothing."""
        if not topic.startswith(self.prefix):
            raise DecodeError("unknown_topic", f"{topic[:200]!r} is not under {self.prefix}")
        rest = topic[len(self.prefix) :]
        if not rest or rest.startswith("/") or rest.endswith("/"):
            raise DecodeError("unknown_topic", f"{topic[:200]!r} has no friendly name")
        if rest == "bridge" or rest.startswith("bridge/"):
            return []
        received_at = as_utc(received_at)
        slash = rest.rfind("/")
        if slash > 0:
            last = rest[slash + 1 :]
            if last == "set" or last == "get":
                return []
            prev = rest[rest.rfind("/", 0, slash) + 1 : slash]
            if prev == "set" or prev == "get":
                return []
            if last == "availability":
                return self._availability(_checked_name(rest[:slash]), payload, received_at)
            if last == "action" and not payload.lstrip().startswith(b"{"):
                return self._legacy_action(_checked_name(rest[:slash]), payload, received_at, retained)
        return self._state(_checked_name(rest), payload, received_at, retained)

    # -- helpers -----------------------------------------------------------------------------

    def _lookup_model(self, name: str) -> str | None:
        return self._model_lookup(name) if self._model_lookup is not None else None

    def _unknown_action(self, name: str, profile: ModelProfile, action: Any) -> bool:
        """An action no rule took, from a device the registry calls an SOS button: fail open."""
        if type(action) is not str or not action or action in profile.quiet_actions:
            return False
        kind = self._kind_lookup(name) if self._kind_lookup is not None else None
        return kind in SOS_DEVICE_KINDS

    def _memory_for(self, name: str) -> _DeviceMemory:
        mem = self._memory.get(name)
        if mem is None:
            if len(self._memory) >= self._max_devices:
                self._memory.pop(next(iter(self._memory)))
            mem = self._memory[name] = _DeviceMemory()
        return mem

    def _is_echo(self, mem: _DeviceMemory, action: Any, via_topic: bool, at: datetime) -> bool:
        """True when ``action`` was just seen through the other channel (state JSON vs /action)."""
        return (
            mem.last_action_at is not None
            and mem.last_action_via_topic is not via_topic
            and mem.last_action == action
            and abs(at - mem.last_action_at) <= ACTION_ECHO_WINDOW
        )

    # -- topics ------------------------------------------------------------------------------

    def _availability(self, name: str, payload: bytes, received_at: datetime) -> list[DeviceEvent]:
        text = payload.strip()
        if not text:
            return []  # retained message being cleared (device removed)
        if text.startswith(b"{"):
            obj = load_json(payload)
            if type(obj) is not dict:
                raise DecodeError("wrong_type", "availability payload must be a JSON object")
            state = obj.get("state")
        else:
            try:
                state = text.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise DecodeError("not_utf8", str(exc)) from None
        if state != "online" and state != "offline":
            raise DecodeError("bad_value", f"availability state {str(state)[:40]!r} is not online/offline")
        return [
            DeviceEvent(
                device_id=name,
                kind=EventKind.AVAILABILITY,
                at=received_at,
                source=SOURCE,
                raw={"state": state},
                value=state,
                model=self._lookup_model(name),
            )
        ]

    def _legacy_action(self, name: str, payload: bytes, received_at: datetime, retained: bool) -> list[DeviceEvent]:
        try:
            action = payload.decode("utf-8").strip()
        except UnicodeDecodeError as exc:
            raise DecodeError("not_utf8", str(exc)) from None
        if not action or retained:
            return []
        model = self._lookup_model(name)
        profile = profile_for(model, self._models)
        rule = next((r for r in profile.rules if r.field == "action" and r.trigger is Trigger.MOMENTARY), None)
        kind = rule.kind if rule is not None and rule.matches(action) else None
        raw: dict[str, Any] = {"action": action}
        if kind is None and self._unknown_action(name, profile, action):
            kind = EventKind.UNKNOWN_ALARM
            raw["reason"] = f"action {action[:60]!r} is not known for an SOS device of model {model!r}"
        if kind is None:
            return []
        with self._lock:
            mem = self._memory_for(name)
            if self._is_echo(mem, action, True, received_at):
                return []
            mem.last_action, mem.last_action_via_topic, mem.last_action_at = action, True, received_at
        return [
            DeviceEvent(
                device_id=name,
                kind=kind,
                at=received_at,
                source=SOURCE,
                raw=raw,
                value=action,
                model=model,
            )
        ]

    def _state(self, name: str, payload: bytes, received_at: datetime, retained: bool) -> list[DeviceEvent]:
        if not payload.strip():
            return []  # retained state being cleared (device removed or renamed)
        obj = load_json(payload)
        if type(obj) is not dict:
            raise DecodeError(
                "wrong_type",
                f"state payload must be a JSON object, got {type(obj).__name__} "
                "(Zigbee2MQTT advanced.output must be json)",
            )
        device_info = obj.get("device")
        model: str | None = None
        if type(device_info) is dict and type(device_info.get("model")) is str:
            model = device_info["model"]
        if model is None:
            model = self._lookup_model(name)
        profile = profile_for(model, self._models)
        at = received_at
        seen_token: str | None = None  # names this very message of the device, when it carries last_seen
        if "last_seen" in obj:
            parsed = _parse_last_seen(obj["last_seen"], received_at)
            if parsed is not None:
                at, seen_token = parsed, str(obj["last_seen"])

        events: list[DeviceEvent] = []
        kinds: set[EventKind] = set()

        def emit(kind: EventKind, value: Any, raw: dict[str, Any] | None = None) -> None:
            if kind not in kinds:
                kinds.add(kind)
                events.append(
                    DeviceEvent(
                        device_id=name, kind=kind, at=at, source=SOURCE, raw=raw or obj, value=value, model=model,
                        event_id=_message_event_id(name, seen_token, kind) if seen_token is not None else None,
                    )
                )

        with self._lock:
            mem = self._memory_for(name)
            action_taken = False
            for rule in profile.rules:
                if rule.field not in obj:
                    continue
                value = obj[rule.field]
                if rule.trigger is Trigger.MOMENTARY:
                    if retained or not rule.matches(value):
                        continue  # "" / null: Zigbee2MQTT clearing the action
                    action_taken = action_taken or rule.field == "action"
                    if self._is_echo(mem, value, False, received_at):
                        continue
                    mem.last_action, mem.last_action_via_topic, mem.last_action_at = (
                        value,
                        False,
                        received_at,
                    )
                    emit(rule.kind, value)
                    continue
                if value is None:
                    continue  # unknown: keep what we knew
                active = self._active(rule, value)
                if active is None:
                    continue
                key = rule.key
                before = mem.levels.get(key)
                mem.levels[key] = active
                if active and before is not True:
                    emit(rule.kind, self._event_value(rule, obj, value))
                elif not active and before is not False and rule.clear_kind is not None:
                    # After true, and also when this process has not seen the device yet (a
                    # restart, or another gateway instance saw the leak): the gateway only
                    # notes a clear on a ticket that is open, so an extra one costs nothing,
                    # while a missed one leaves a dried-up leak looking wet.
                    emit(rule.clear_kind, value)
            self._fail_open(name, profile, obj, mem, retained, action_taken, received_at, emit)
        if not events:
            events.append(
                DeviceEvent(device_id=name, kind=EventKind.TELEMETRY, at=at, source=SOURCE, raw=obj, model=model)
            )
        return events

    def _fail_open(
        self,
        name: str,
        profile: ModelProfile,
        obj: dict[str, Any],
        mem: _DeviceMemory,
        retained: bool,
        action_taken: bool,
        received_at: datetime,
        emit: Callable[..., None],
    ) -> None:
        """What looks like an alarm but no rule of the profile took: an ``unknown_alarm``."""
        action = obj.get("action")
        if (
            not retained
            and not action_taken
            and self._unknown_action(name, profile, action)
            and not self._is_echo(mem, action, False, received_at)
        ):
            mem.last_action, mem.last_action_via_topic, mem.last_action_at = action, False, received_at
            reason = f"action {str(action)[:60]!r} is not known for an SOS device of model {profile.model!r}"
            emit(EventKind.UNKNOWN_ALARM, action, {**obj, "reason": reason})
        read = {r.field for r in profile.rules}
        for key, value in obj.items():
            if type(value) is not bool or key in read or not looks_like_alarm_key(key):
                continue
            level = f"unknown:{key}"
            before = mem.levels.get(level)
            mem.levels[level] = value
            if value and before is not True:
                reason = f"{key} is true, and model {profile.model!r} has no rule for it"
                emit(EventKind.UNKNOWN_ALARM, key, {**obj, "reason": reason})

    @staticmethod
    def _active(rule: FieldRule, value: Any) -> bool | None:
        if rule.trigger is Trigger.BELOW:
            t = type(value)
            if (t is int or t is float) and rule.threshold is not None:
                return bool(value < rule.threshold)
            return None
        t = type(value)
        if not any(type(v) is t for v in rule.values):
            return None  # a value of the wrong type says nothing about the state
        return rule.matches(value)

    @staticmethod
    def _event_value(rule: FieldRule, obj: dict[str, Any], value: Any) -> Any:
        if rule.value_field is not None:
            return obj.get(rule.value_field)
        return value
