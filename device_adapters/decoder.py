"""One entry point for the gateway: topic + bytes → device events, or a DecodeError with a reason."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from device_adapters.events import DecodeError, DeviceEvent
from device_adapters.models import MODELS, ModelProfile
from device_adapters.native import NATIVE_FILTER, NATIVE_PREFIX, decode_native
from device_adapters.zigbee2mqtt import ModelLookup, Zigbee2MqttDecoder

DEFAULT_MAX_PAYLOAD = 65536


class MessageDecoder:
    """Dispatches by topic to the Zigbee2MQTT or the native decoder.

    ``decode`` raises only :class:`DecodeError`; its ``reason`` is one of ``too_large``,
    ``not_utf8``, ``not_json``, ``wrong_type``, ``missing_field``, ``unknown_field``,
    ``bad_version``, ``unknown_kind``, ``bad_id``, ``bad_ts``, ``bad_value``, ``bad_device_id``,
    ``unknown_topic`` or ``internal`` (a bug here; the message is dead-lettered all the same).
    An empty list means "nothing to do" (bridge topics, commands, a cleared retained message).
    """

    def __init__(
        self,
        z2m_base: str = "zigbee2mqtt",
        model_lookup: ModelLookup | None = None,
        max_payload: int = DEFAULT_MAX_PAYLOAD,
        *,
        models: Mapping[str, ModelProfile] = MODELS,
    ) -> None:
        if max_payload <= 0:
            raise ValueError("max_payload must be positive")
        self.max_payload = max_payload
        self.z2m = Zigbee2MqttDecoder(z2m_base, model_lookup, models)
        self._z2m_prefix = self.z2m.prefix

    def subscriptions(self) -> list[str]:
        """MQTT topic filters to subscribe to (QoS 1)."""
        return [*self.z2m.subscriptions(), NATIVE_FILTER]

    def decode(
        self, topic: str, payload: bytes | bytearray, received_at: datetime, *, retained: bool = False
    ) -> list[DeviceEvent]:
        """Decode one MQTT message. ``received_at`` should be timezone-aware (naive means UTC).
        ``retained`` is the MQTT retain flag, when the caller knows it."""
        try:
            size = len(payload)
            if size > self.max_payload:
                raise DecodeError("too_large", f"payload is {size} bytes, limit {self.max_payload}")
            if type(payload) is not bytes:
                payload = bytes(payload)
            if topic.startswith(NATIVE_PREFIX):
                return [decode_native(topic, payload, received_at)]
            if topic.startswith(self._z2m_prefix):
                return self.z2m.decode(topic, payload, received_at, retained=retained)
            raise DecodeError("unknown_topic", f"no decoder for topic {topic[:200]!r}")
        except DecodeError:
            raise
        except Exception as exc:
            raise DecodeError("internal", f"{type(exc).__name__}: {exc}"[:500]) from exc
