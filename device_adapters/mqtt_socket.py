"""Socket options every Shewu MQTT client wants."""

from __future__ import annotations

import contextlib
import socket
from typing import Any

import paho.mqtt.client as mqtt


def disable_nagle(client: mqtt.Client) -> None:
    """Send each MQTT packet at once. paho leaves Nagle's algorithm on, so a small packet
    (an SOS, a PUBACK) can wait for the previous one's TCP ack: tens of milliseconds behind a
    stream of QoS 0 telemetry."""

    def on_open(_client: mqtt.Client, _userdata: Any, sock: Any) -> None:
        with contextlib.suppress(OSError, AttributeError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    client.on_socket_open = on_open
