"""The I/O of notifications: HTTP posts (with timeouts) and MQTT publishes (QoS 1, PUBACK awaited).

``DELIVER`` maps each channel kind of ``gateway.notify.messages.KINDS`` to the function that
sends one claimed row; each raises a ``SendError`` on failure, which says what to do next:
retry later (``SendError``), retry later and stop trying the channel in this run because it
does not answer (``ChannelDown``), or give up (``PermanentError``).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
import paho.mqtt.client as mqtt

from device_adapters.mqtt_client import disable_nagle, parse_mqtt_url
from gateway.notify.messages import dingtalk_signed_url, encode, mqtt_topic, webhook_signature
from gateway.notify.outbox import Outgoing

log = logging.getLogger(__name__)

# Publishes one message with QoS 1 and returns once the broker acknowledged it; raises otherwise.
Publish = Callable[[str, bytes], None]


class SendError(Exception):
    """The attempt failed; a later one may succeed."""


class ChannelDown(SendError):
    """The channel did not answer (refused, unreachable, timed out): its other rows in this run
    are not tried, so a dead endpoint costs one timeout per run, not one per row."""


class PermanentError(SendError):
    """Retrying cannot help (the channel is gone, disabled or misconfigured)."""


class HttpSender:
    """POSTs JSON bodies with a timeout on every phase (connect, write, read, pool). One
    ``httpx.Client`` shared by the sender's threads (it is thread-safe), keeping connections."""

    def __init__(self, *, timeout: float = 5.0, client: httpx.Client | None = None) -> None:
        self.timeout = timeout
        self._client = client or httpx.Client(timeout=httpx.Timeout(timeout), follow_redirects=False,
                                              headers={"User-Agent": "shewu-notify/1"})

    def post(self, url: str, body: bytes, headers: dict[str, str] | None = None) -> httpx.Response:
        try:
            return self._client.post(url, content=body,
                                     headers={"Content-Type": "application/json; charset=utf-8", **(headers or {})})
        except httpx.TimeoutException as exc:
            raise ChannelDown(f"no answer within {self.timeout:g} s ({type(exc).__name__})") from exc
        except httpx.TransportError as exc:
            raise ChannelDown(f"{type(exc).__name__}: {exc}") from exc

    def close(self) -> None:
        self._client.close()


def _excerpt(resp: httpx.Response) -> str:
    return resp.text[:200].replace("\n", " ")


def _expect_errcode_zero(resp: httpx.Response, who: str) -> None:
    """WeCom and DingTalk robots answer HTTP 200 with ``{"errcode": 0}`` on success."""
    if resp.status_code != 200:
        raise SendError(f"{who}: HTTP {resp.status_code}: {_excerpt(resp)}")
    try:
        answer: Any = resp.json()
    except ValueError:
        raise SendError(f"{who}: answer is not JSON: {_excerpt(resp)}") from None
    if not isinstance(answer, dict) or answer.get("errcode") != 0:
        code = answer.get("errcode") if isinstance(answer, dict) else None
        msg = answer.get("errmsg") if isinstance(answer, dict) else None
        raise SendError(f"{who}: errcode {code}: {msg}")


@dataclass(frozen=True, slots=True)
class Transports:
    http: HttpSender
    publish_mqtt: Publish | None = None


def _ms(now: datetime) -> int:
    return int(now.timestamp() * 1000)


def _wecom(t: Transports, item: Outgoing, now: datetime) -> None:
    _expect_errcode_zero(t.http.post(item.url, encode(item.payload)), "WeCom")


def _dingtalk(t: Transports, item: Outgoing, now: datetime) -> None:
    url = dingtalk_signed_url(item.url, item.secret, _ms(now)) if item.secret else item.url
    _expect_errcode_zero(t.http.post(url, encode(item.payload)), "DingTalk")


def _webhook(t: Transports, item: Outgoing, now: datetime) -> None:
    body = encode(item.payload)
    headers = {"X-Shewu-Notification-Id": str(item.id), "X-Shewu-Attempt": str(item.attempt)}
    if item.secret:
        headers.update({"X-Shewu-Signature": webhook_signature(item.secret, body), "X-Shewu-Timestamp": str(_ms(now))})
    resp = t.http.post(item.url, body, headers)
    if not 200 <= resp.status_code < 300:
        raise SendError(f"webhook: HTTP {resp.status_code}: {_excerpt(resp)}")


def _mqtt_user(t: Transports, item: Outgoing, now: datetime) -> None:
    if t.publish_mqtt is None:
        raise ChannelDown("no MQTT publisher in this gateway")
    try:
        topic = mqtt_topic(item.url, item.recipient)
    except ValueError as exc:
        raise PermanentError(str(exc)) from None
    t.publish_mqtt(topic, encode(item.payload))


DELIVER: dict[str, Callable[[Transports, Outgoing, datetime], None]] = {
    "mqtt_user": _mqtt_user,
    "wecom": _wecom,
    "dingtalk": _dingtalk,
    "webhook": _webhook,
}


def deliver(t: Transports, item: Outgoing, now: datetime) -> None:
    """Send one claimed row through its channel. Raises a ``SendError``."""
    if item.kind is None:
        raise PermanentError(f"no channel {item.channel!r} any more")
    if not item.enabled:
        raise PermanentError(f"channel {item.channel!r} is disabled")
    send = DELIVER.get(item.kind)
    if send is None:
        raise PermanentError(f"channel {item.channel!r} has unknown kind {item.kind!r}")
    send(t, item, now)


class PahoPublisher:
    """A ``Publish`` on its own paho-mqtt client (MQTT 3.1.1, clean session, reconnecting in
    the background): ``publish`` sends with QoS 1 and waits for the PUBACK, raising
    ``ChannelDown`` when the broker is not connected or does not acknowledge in time."""

    def __init__(self, mqtt_url: str, client_id: str, *, timeout: float = 5.0) -> None:
        self._url = parse_mqtt_url(mqtt_url)
        self._timeout = timeout
        self._connected = threading.Event()
        self._client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id,
                                   protocol=mqtt.MQTTv311, clean_session=True)
        if self._url.username:
            self._client.username_pw_set(self._url.username, self._url.password)
        if self._url.tls:
            self._client.tls_set()
        disable_nagle(self._client)
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.reconnect_delay_set(min_delay=1, max_delay=10)

    def start(self, *, wait: float = 0.0) -> PahoPublisher:
        """Connect in the background; wait up to ``wait`` seconds for the connection."""
        self._client.connect_async(self._url.host, self._url.port, keepalive=30)
        self._client.loop_start()
        if wait:
            self._connected.wait(wait)
        return self

    def stop(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()

    @property
    def connected(self) -> bool:
        return self._connected.is_set() and self._client.is_connected()

    def publish(self, topic: str, payload: bytes) -> None:
        if not self.connected:
            raise ChannelDown(f"MQTT broker {self._url} not connected")
        info = self._client.publish(topic, payload, qos=1)
        if info.rc != mqtt.MQTT_ERR_SUCCESS:
            raise ChannelDown(f"MQTT publish to {topic}: {mqtt.error_string(info.rc)}")
        try:
            info.wait_for_publish(self._timeout)
        except (RuntimeError, ValueError) as exc:
            raise ChannelDown(f"MQTT publish to {topic}: {exc}") from exc
        if not info.is_published():
            raise ChannelDown(f"MQTT publish to {topic}: no PUBACK within {self._timeout:g} s")

    __call__ = publish

    def _on_connect(self, _c: Any, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        if reason.is_failure:
            log.warning("notification publisher: MQTT connect refused: %s", reason)
        else:
            self._connected.set()

    def _on_disconnect(self, _c: Any, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        self._connected.clear()
