"""What every Shewu MQTT client shares: the broker URL and the socket options.

- :func:`parse_mqtt_url`: ``mqtt://[user[:password]@]host[:port]`` (and ``mqtts://`` for TLS) →
  connection settings (:class:`MqttUrl`);
- :func:`disable_nagle`: send each MQTT packet at once.
"""

from __future__ import annotations

import contextlib
import socket
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit

import paho.mqtt.client as mqtt

DEFAULT_PORTS = {"mqtt": 1883, "tcp": 1883, "mqtts": 8883, "ssl": 8883}


@dataclass(frozen=True, slots=True)
class MqttUrl:
    host: str
    port: int
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    tls: bool = False

    def __str__(self) -> str:
        """The URL without the password, for logs."""
        user = f"{self.username}@" if self.username else ""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{'mqtts' if self.tls else 'mqtt'}://{user}{host}:{self.port}"


def parse_mqtt_url(url: str) -> MqttUrl:
    """Parse ``mqtt://host:port``; user and password are percent-decoded. Raises ``ValueError``."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise ValueError(f"MQTT URL {url!r}: scheme must be mqtt:// or mqtts://")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ValueError(f"MQTT URL {url!r}: no path, query or fragment allowed")
    host = parts.hostname
    if not host:
        raise ValueError(f"MQTT URL {url!r}: no host")
    try:
        port = parts.port
    except ValueError as exc:
        raise ValueError(f"MQTT URL {url!r}: {exc}") from None
    if port == 0:
        raise ValueError(f"MQTT URL {url!r}: port 0")
    return MqttUrl(
        host=host,
        port=port if port is not None else DEFAULT_PORTS[scheme],
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password is not None else None,
        tls=scheme in ("mqtts", "ssl"),
    )


def disable_nagle(client: mqtt.Client) -> None:
    """Send each MQTT packet at once. paho leaves Nagle's algorithm on, so a small packet
    (an SOS, a PUBACK) can wait for the previous one's TCP ack: tens of milliseconds behind a
    stream of QoS 0 telemetry."""

    def on_open(_client: mqtt.Client, _userdata: Any, sock: Any) -> None:
        with contextlib.suppress(OSError, AttributeError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    client.on_socket_open = on_open
