"""A lean MQTT 3.1.1 publisher for the load generator: pre-encoded packets on a plain socket.

paho spends about 130 µs of Python per published message; on a two-core machine a
5,000 msg/s load would take most of a core from the gateway being measured. This publisher
writes each PUBLISH with one ``send`` and reads PUBACKs in a thread: a few microseconds a
message. It speaks just enough MQTT for that (CONNECT, PUBLISH QoS 0/1, PUBACK, DISCONNECT),
is for load generation only, and the simulated devices keep using paho.
"""

from __future__ import annotations

import socket
import threading
import time
import uuid

from device_adapters.mqtt_client import parse_mqtt_url
from firmware_sim.encoding import Message


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n % 128, n // 128
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _str(value: bytes) -> bytes:
    return len(value).to_bytes(2, "big") + value


def publish_packet(topic: str, payload: bytes, qos: int, packet_id: int = 0, retain: bool = False) -> bytes:
    t = _str(topic.encode("utf-8"))
    if qos == 0:
        return bytes([0x30 | retain]) + _varint(len(t) + len(payload)) + t + payload
    return bytes([0x32 | retain]) + _varint(len(t) + 2 + len(payload)) + t + packet_id.to_bytes(2, "big") + payload


class RawPublisher:
    """The part of ``MqttPublisher``'s interface that ``run_load`` uses."""

    def __init__(self, url: str, *, client_id: str | None = None, connect_timeout: float = 10.0) -> None:
        target = parse_mqtt_url(url)
        if target.tls or target.username:
            raise ValueError("the raw load publisher speaks plain, anonymous MQTT only")
        self._sock = socket.create_connection((target.host, target.port), timeout=connect_timeout)
        self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        cid = _str((client_id or f"shewu-load-{uuid.uuid4().hex[:8]}").encode())
        variable = b"\x00\x04MQTT\x04\x02\x00\x00"  # MQTT 3.1.1, clean session, no keepalive
        self._sock.sendall(b"\x10" + _varint(len(variable) + len(cid)) + variable + cid)
        connack = self._recv_exact(4)
        if connack[0] != 0x20 or connack[3] != 0:
            raise ConnectionError(f"broker refused the connection: {connack!r}")
        self._sock.settimeout(None)
        self._lock = threading.Condition()
        self._next_id = 0
        self.published = 0
        self.acked = 0
        self._closed = False
        self._reader = threading.Thread(target=self._read_acks, name="raw-publisher", daemon=True)
        self._reader.start()

    def _recv_exact(self, n: int) -> bytes:
        data = b""
        while len(data) < n:
            chunk = self._sock.recv(n - len(data))
            if not chunk:
                raise ConnectionError("broker closed the connection")
            data += chunk
        return data

    def _read_acks(self) -> None:
        buffer = b""
        try:
            while True:
                chunk = self._sock.recv(65536)
                if not chunk:
                    return
                buffer += chunk
                acks = 0
                while len(buffer) >= 4 and buffer[0] == 0x40:  # PUBACK: 0x40 0x02 id id
                    buffer = buffer[4:]
                    acks += 1
                if acks:
                    with self._lock:
                        self.acked += acks
                        self._lock.notify_all()
        except OSError:
            return

    def publish(self, message: Message) -> None:
        with self._lock:
            self.published += 1
            if message.qos == 0:
                self.acked += 1  # nothing comes back for QoS 0: it is done once written
                packet_id = 0
            else:
                self._next_id = self._next_id % 65535 + 1
                packet_id = self._next_id
        self._sock.sendall(publish_packet(message.topic, message.payload, min(message.qos, 1), packet_id,
                                          message.retain))

    @property
    def pending(self) -> int:
        with self._lock:
            return self.published - self.acked

    def flush(self, timeout: float = 10.0) -> bool:
        deadline = time.monotonic() + timeout
        with self._lock:
            while self.acked < self.published:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._lock.wait(left)
        return True

    def close(self, timeout: float = 10.0) -> bool:
        done = self.flush(timeout) if timeout > 0 else self.pending == 0
        if not self._closed:
            self._closed = True
            try:
                self._sock.sendall(b"\xe0\x00")  # DISCONNECT
                self._sock.close()
            except OSError:
                pass
        return done
