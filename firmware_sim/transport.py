"""Where simulated messages go: an MQTT broker (paho-mqtt 2.x) or a serial port (pyserial).

:class:`Sender` ties a device, a wire format and the outputs together: ``send(device, "sos",
Format.Z2M)`` builds the reading, encodes it and publishes or writes it.
"""

from __future__ import annotations

import itertools
import os
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import paho.mqtt.client as mqtt

from device_adapters.mqtt_client import disable_nagle, parse_mqtt_url
from firmware_sim.devices import SimDevice
from firmware_sim.encoding import DEFAULT_Z2M_BASE, Message, encode
from firmware_sim.models import Format, parse_event_name

DEFAULT_MQTT_URL = "mqtt://127.0.0.1:1883"


def new_client_id(prefix: str) -> str:
    return f"{prefix}-{os.getpid()}-{uuid.uuid4().hex[:8]}"


class MqttPublisher:
    """One paho client, connected and looping in its own thread, publishing QoS 1 by default.

    ``max_inflight=0`` and an unlimited queue let a single client publish thousands of
    messages a second; :meth:`flush` waits until the broker has acknowledged them all.
    """

    def __init__(
        self,
        url: str = DEFAULT_MQTT_URL,
        *,
        client_id: str | None = None,
        connect_timeout: float = 10.0,
        max_inflight: int = 0,
    ) -> None:
        target = parse_mqtt_url(url)
        self.url = url
        self.client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2, client_id=client_id or new_client_id("shewu-sim")
        )
        if target.username is not None:
            self.client.username_pw_set(target.username, target.password)
        if target.tls:
            self.client.tls_set()
        self.client.max_inflight_messages_set(max_inflight)
        self.client.max_queued_messages_set(0)
        disable_nagle(self.client)
        self._lock = threading.Lock()
        self._acked_cond = threading.Condition(self._lock)
        self._connected = threading.Event()
        self._connect_error: str | None = None
        self.published = 0
        self.acked = 0
        self.client.on_connect = self._on_connect
        self.client.on_publish = self._on_publish
        self.client.connect(target.host, target.port, keepalive=30)
        self.client.loop_start()
        if not self._connected.wait(connect_timeout) or self._connect_error:
            self.client.loop_stop()
            reason = self._connect_error or f"no CONNACK within {connect_timeout:.0f} s"
            raise ConnectionError(f"cannot connect to {url}: {reason}")

    def _on_connect(
        self, client: mqtt.Client, userdata: Any, flags: Any, reason_code: Any, properties: Any
    ) -> None:
        if reason_code.is_failure:
            self._connect_error = str(reason_code)
        self._connected.set()

    def _on_publish(
        self, client: mqtt.Client, userdata: Any, mid: int, reason_code: Any, properties: Any
    ) -> None:
        with self._acked_cond:
            self.acked += 1
            if self.acked >= self.published:
                self._acked_cond.notify_all()

    def publish(self, message: Message) -> mqtt.MQTTMessageInfo:
        with self._lock:
            self.published += 1
        info = self.client.publish(message.topic, message.payload, qos=message.qos, retain=message.retain)
        if info.rc != mqtt.MQTT_ERR_SUCCESS and info.rc != mqtt.MQTT_ERR_NO_CONN:
            raise ConnectionError(f"publish to {message.topic} failed: {mqtt.error_string(info.rc)}")
        return info

    @property
    def pending(self) -> int:
        with self._lock:
            return self.published - self.acked

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every publish so far is acknowledged (QoS 0 counts when written)."""
        deadline = time.monotonic() + timeout
        with self._acked_cond:
            while self.acked < self.published:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._acked_cond.wait(min(remaining, 0.1))
        return True

    def close(self, timeout: float = 10.0) -> bool:
        """Flush, disconnect, stop the network thread. True when everything was acknowledged."""
        flushed = self.flush(timeout)
        self.client.disconnect()
        self.client.loop_stop()
        return flushed

    def __enter__(self) -> MqttPublisher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class SerialWriter:
    """A receiver's serial port (a real ``/dev/ttyUSB0``, a pty, or any pyserial URL)."""

    def __init__(self, port: str, *, baudrate: int = 115200) -> None:
        import serial

        self.port = port
        self.serial = serial.serial_for_url(port, baudrate=baudrate, timeout=1, write_timeout=5)

    def write(self, line: bytes) -> None:
        self.serial.write(line)
        self.serial.flush()

    def close(self) -> None:
        self.serial.close()

    def __enter__(self) -> SerialWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Sender:
    """Sends device events in any format.

    MQTT formats go to ``publish`` (usually ``MqttPublisher.publish``), serial lines to ``write``
    (usually ``SerialWriter.write``); either may be left out when that format is not used.
    ``clock`` gives the device time (UTC). The serial sequence number counts per sender, like a
    receiver's; native message ids are ``<device_id>:<boot>-<n>`` with a random boot tag.
    """

    def __init__(
        self,
        *,
        publish: Callable[[Message], object] | None = None,
        write: Callable[[bytes], object] | None = None,
        z2m_base: str = DEFAULT_Z2M_BASE,
        clock: Callable[[], datetime] | None = None,
        first_seq: int = 0,
        action_topic: bool = False,
    ) -> None:
        self._publish = publish
        self._write = write
        self.z2m_base = z2m_base
        self.clock = clock or (lambda: datetime.now(UTC))
        self.action_topic = action_topic
        self._seq = first_seq
        self._msg_counter = itertools.count(1)
        self._boot = uuid.uuid4().hex[:6]
        self._lock = threading.Lock()
        self.sent: list[Message] = []  # the last send's messages, for printing
        self.total = 0

    def send(
        self,
        device: SimDevice,
        event: str,
        fmt: Format | str,
        *,
        value: Any = None,
        overrides: Mapping[str, Any] | None = None,
    ) -> list[Message]:
        """``device`` does ``event`` (a name such as ``"sos"``, ``"battery-low"``, ``"offline"``)."""
        name = parse_event_name(event)
        fmt = Format(fmt)
        with self._lock:  # one device's readings and one receiver's sequence, in order
            reading = device.reading(
                name.kind, value=value if value is not None else name.value, overrides=overrides
            )
            seq = self._seq
            if fmt is Format.SERIAL:
                self._seq = (self._seq + 1) % 2**32
            messages = encode(
                reading,
                fmt,
                at=self.clock(),
                msg_id=f"{device.device_id}:{self._boot}-{next(self._msg_counter):x}",
                seq=seq,
                z2m_base=self.z2m_base,
                action_topic=self.action_topic,
            )
            for message in messages:
                if fmt is Format.SERIAL:
                    if self._write is None:
                        raise RuntimeError("serial format needs a serial port (--port)")
                    self._write(message.payload)
                else:
                    if self._publish is None:
                        raise RuntimeError(f"{fmt} format needs an MQTT broker (--mqtt)")
                    self._publish(message)
            self.sent = messages
            self.total += len(messages)
        return messages
