"""Live fan-out between gateway instances, over MQTT (DESIGN invariant 7).

Each instance sends the order changes it commits to ``shewu/v1/live/orders`` and relays what
the other instances send to its own WebSocket clients, so a board connected to any instance
sees every change. An instance's own messages come back from the broker and are skipped: it
has already shown them locally, without the broker hop.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

import paho.mqtt.client as mqtt

from device_adapters.mqtt_client import disable_nagle, parse_mqtt_url
from gateway.peers import PRESENCE_FILTER

log = logging.getLogger(__name__)

LIVE_TOPIC = "shewu/v1/live/orders"


class LiveBus:
    def __init__(self, *, mqtt_url: str, instance_id: str, deliver: Callable[[dict[str, Any]], None],
                 protocol: int = 5) -> None:
        self.instance_id = instance_id
        self._deliver = deliver
        # the gateway instances' presence (gateway.peers), when several share a subscription
        self.on_presence: Callable[[str, bytes], None] | None = None
        url = parse_mqtt_url(mqtt_url)
        self._url = url
        self._client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2,
            client_id=f"{instance_id}-live",
            protocol=mqtt.MQTTv5 if protocol == 5 else mqtt.MQTTv311,
        )
        if url.username:
            self._client.username_pw_set(url.username, url.password)
        if url.tls:
            self._client.tls_set()
        self._client.max_queued_messages_set(10000)
        disable_nagle(self._client)
        self._client.on_connect = self._on_connect
        self._client.on_message = self._on_message
        self._client.reconnect_delay_set(min_delay=1, max_delay=10)

    def start(self) -> None:
        self._client.connect_async(self._url.host, self._url.port, keepalive=30)
        self._client.loop_start()

    def stop(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()

    def publish(self, message: dict[str, Any]) -> None:
        payload = json.dumps({**message, "origin": self.instance_id}, ensure_ascii=False, separators=(",", ":"))
        self._client.publish(LIVE_TOPIC, payload, qos=1)

    def _on_connect(self, client: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        if not reason.is_failure:
            client.subscribe([(LIVE_TOPIC, 1), (PRESENCE_FILTER, 1)])

    def _on_message(self, _c: Any, _u: Any, msg: mqtt.MQTTMessage) -> None:
        if msg.topic != LIVE_TOPIC:
            if self.on_presence is not None:
                self.on_presence(msg.topic, msg.payload)
            return
        try:
            message = json.loads(msg.payload)
        except ValueError:
            log.warning("unreadable live message on %s", msg.topic)
            return
        if not isinstance(message, dict) or message.pop("origin", None) == self.instance_id:
            return
        self._deliver(message)
