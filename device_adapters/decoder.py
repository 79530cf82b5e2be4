"""One entry point for the gateway: topic + bytes → device events, or a DecodeError with a reason."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from device_adapters.events import DecodeError, DeviceEvent
from device_adapters.native import EDGE_FILTER, NATIVE_FILTER, NATIVE_PREFIX, decode_native
from device_adapters.rtl433 import KindLookup, Rtl433Decoder
from device_adapters.rtl433_models import RTL433_MODELS, Rtl433Profile
from device_adapters.zigbee2mqtt import ModelLookup, Zigbee2MqttDecoder
from device_adapters.zigbee2mqtt_models import MODELS, ModelProfile

DEFAULT_MAX_PAYLOAD = 65536


class MessageDecoder:
    """Dispatches by topic to the Zigbee2MQTT, the native or (when ``rtl433_base`` is given) the
    rtl_433 decoder.

    ``decode`` raises only :class:`DecodeError`; its ``reason`` is one of ``too_large``,
    ``not_utf8``, ``not_json``, ``wrong_type``, ``missing_field``, ``unknown_field``,
    ``bad_version``, ``unknown_kind``, ``bad_id``, ``bad_ts``, ``bad_value``, ``bad_device_id``,
    ``unknown_topic`` or ``internal`` (a bug here; the message is dead-lettered all the same).
    An empty list means "nothing to do" (bridge topics, commands, a cleared retained message,
    a repeated rtl_433 radio packet).

    ``rtl433_base`` (e.g. ``"rtl_433"``) turns on rtl_433's events topics ``<base>/+/events``; it is
    off by default. ``model_lookup`` serves both Zigbee2MQTT (friendly name → model) and rtl_433
    (``rtl433/...`` device id → profile name). ``kind_lookup`` is the registry's kind of a device
    (``sos``, ``leak``, ``smoke``, ...), for both: it binds 433 MHz devices to what they are and
    makes an unknown action of an SOS button an ``unknown_alarm``.
    """

    def __init__(
        self,
        z2m_base: str = "zigbee2mqtt",
        model_lookup: ModelLookup | None = None,
        max_payload: int = DEFAULT_MAX_PAYLOAD,
        *,
        models: Mapping[str, ModelProfile] = MODELS,
        rtl433_base: str | None = None,
        rtl433_models: Mapping[str, Rtl433Profile] = RTL433_MODELS,
        kind_lookup: KindLookup | None = None,
    ) -> None:
        if max_payload <= 0:
            raise ValueError("max_payload must be positive")
        self.max_payload = max_payload
        self.z2m = Zigbee2MqttDecoder(z2m_base, model_lookup, models, kind_lookup=kind_lookup)
        self._z2m_prefix = self.z2m.prefix
        self.rtl433: Rtl433Decoder | None = None
        self._rtl433_prefix: str | None = None
        if rtl433_base is not None:
            self.rtl433 = Rtl433Decoder(rtl433_base, model_lookup, rtl433_models, kind_lookup=kind_lookup)
            prefixes = (self._z2m_prefix, self.rtl433.prefix, NATIVE_PREFIX)
            for a in prefixes:
                for b in prefixes:
                    if a is not b and a.startswith(b):
                        raise ValueError(f"topic prefixes {a!r} and {b!r} overlap")
            self._rtl433_prefix = self.rtl433.prefix

    def subscriptions(self) -> list[str]:
        """MQTT topic filters to subscribe to (QoS 1)."""
        extra = self.rtl433.subscriptions() if self.rtl433 is not None else []
        return [*self.z2m.subscriptions(), NATIVE_FILTER, EDGE_FILTER, *extra]

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
            if self.rtl433 is not None and self._rtl433_prefix is not None and topic.startswith(self._rtl433_prefix):
                return self.rtl433.decode(topic, payload, received_at, retained=retained)
            raise DecodeError("unknown_topic", f"no decoder for topic {topic[:200]!r}")
        except DecodeError:
            raise
        except Exception as exc:
            raise DecodeError("internal", f"{type(exc).__name__}: {exc}"[:500]) from exc
