"""What a notification says, and how each kind of channel wants it said (pure: no I/O).

A ``Notice`` is what the caller knows (an escalation step fired, an order was assigned);
``KINDS`` is the channel knowledge as data: for each channel kind, whether it is per person,
how to build the message body it accepts, and which URLs it takes. Signing that depends on the
moment of sending (DingTalk's URL signature, our webhook's signature header) is also here, as
pure functions of the secret, the time and the body.

Formats:
- WeCom (企业微信) group robot: POST ``{"msgtype": "markdown", "markdown": {"content": ...}}``
  (or ``text`` with ``mentioned_mobile_list``: WeCom markdown cannot @-mention), success is
  HTTP 200 with ``{"errcode": 0}``.
- DingTalk custom robot: POST ``{"msgtype": "markdown", "markdown": {"title", "text"}, "at":
  {"atMobiles": [...], "isAtAll": false}}`` to the webhook URL plus ``&timestamp=<ms>&sign=<s>``
  where s = urlencode(base64(HMAC-SHA256(key=secret, msg=f"{timestamp}\\n{secret}"))).
- Our webhook and the per-person MQTT topic: the JSON document of ``webhook_payload``
  (schema ``shewu.notify.v1``), signed with ``X-Shewu-Signature: sha256=<hex HMAC of the body>``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import quote_plus, urlsplit

from gateway.clock import iso

SCHEMA = "shewu.notify.v1"
DEFAULT_TOPIC = "shewu/v1/notify/{user}"
ALL = "*"  # the audience that takes every notice
WECOM_MARKDOWN_MAX = 4096  # bytes, WeCom's limit for markdown content
WECOM_TEXT_MAX = 2048  # bytes, WeCom's limit for text content
DINGTALK_TEXT_MAX = 4000  # bytes; DingTalk allows more, a phone shows less


@dataclass(frozen=True, slots=True)
class Notice:
    """One thing to tell people. ``audiences`` are names (``oncall_team``, ``duty_leader``,
    ``dispatcher``, ``property_team``, ``technician``…) that group channels subscribe to;
    ``users`` are the people already resolved by the caller, each told on per-person channels;
    ``mobiles`` are phone numbers group robots may @-mention; ``data`` is machine-readable."""

    kind: str
    order_id: int | None
    title: str
    text: str
    audiences: tuple[str, ...] = ()
    users: tuple[str, ...] = ()
    data: dict[str, Any] = field(default_factory=dict)
    mobiles: tuple[str, ...] = ()


def clip(text: str, max_bytes: int) -> str:
    """``text`` cut to at most ``max_bytes`` of UTF-8, never inside a character."""
    raw = text.encode()
    if len(raw) <= max_bytes:
        return text
    return raw[: max_bytes - 3].decode(errors="ignore") + "..."


def _link(notice: Notice) -> str:
    url = notice.data.get("url")
    return f"\n[查看 / Open]({url})" if isinstance(url, str) and url else ""


# --- bodies, one per channel kind ---------------------------------------------------------------


def wecom_payload(notice: Notice) -> dict[str, Any]:
    """A WeCom group-robot message: markdown, or text when phones are to be @-mentioned."""
    if notice.mobiles:
        content = clip(f"{notice.title}\n{notice.text}", WECOM_TEXT_MAX)
        return {"msgtype": "text", "text": {"content": content, "mentioned_mobile_list": list(notice.mobiles)}}
    content = clip(f"**{notice.title}**\n{notice.text}{_link(notice)}", WECOM_MARKDOWN_MAX)
    return {"msgtype": "markdown", "markdown": {"content": content}}


def dingtalk_payload(notice: Notice) -> dict[str, Any]:
    """A DingTalk custom-robot markdown message; mentioned phones must also appear in the text."""
    mentions = "".join(f" @{m}" for m in notice.mobiles)
    text = clip(f"#### {notice.title}\n\n{notice.text}{_link(notice)}", DINGTALK_TEXT_MAX) + mentions
    return {
        "msgtype": "markdown",
        "markdown": {"title": notice.title, "text": text},
        "at": {"atMobiles": list(notice.mobiles), "isAtAll": False},
    }


def webhook_payload(notice: Notice, recipient: str) -> dict[str, Any]:
    """Our own JSON document (schema ``shewu.notify.v1``), for generic webhooks."""
    return {
        "schema": SCHEMA,
        "kind": notice.kind,
        "order_id": notice.order_id,
        "title": notice.title,
        "text": notice.text,
        "recipient": recipient,
        "audiences": list(notice.audiences),
        "users": list(notice.users),
        "data": notice.data,
    }


def mqtt_payload(notice: Notice, recipient: str) -> dict[str, Any]:
    """The per-person MQTT message for the technician app: the same document as webhooks."""
    return webhook_payload(notice, recipient)


def encode(payload: dict[str, Any]) -> bytes:
    """The exact bytes sent (and signed) for a stored payload."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


# --- signing ------------------------------------------------------------------------------------


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """DingTalk's signature, base64 (not yet URL-encoded)."""
    mac = hmac.new(secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256).digest()
    return base64.b64encode(mac).decode()


def dingtalk_signed_url(url: str, secret: str, timestamp_ms: int) -> str:
    """The robot's webhook URL with ``timestamp`` and ``sign`` appended (DingTalk rejects a
    timestamp more than an hour off, so this is computed when sending, not when enqueueing)."""
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}timestamp={timestamp_ms}&sign={quote_plus(dingtalk_sign(secret, timestamp_ms))}"


def webhook_signature(secret: str, body: bytes) -> str:
    """``X-Shewu-Signature`` of a webhook body: ``sha256=<hex HMAC-SHA256(secret, body)>``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def mqtt_topic(template: str, user: str) -> str:
    """The per-person topic; raises ValueError for a user name that is not one topic level."""
    if not user or any(c in user for c in "/+#\x00"):
        raise ValueError(f"user {user!r} cannot be an MQTT topic level")
    return (template or DEFAULT_TOPIC).replace("{user}", user)


# --- the channel kinds, as data -----------------------------------------------------------------


def _http_url(url: str) -> str | None:
    parts = urlsplit(url)
    return None if parts.scheme in ("http", "https") and parts.netloc else "must be an http(s) URL"


def _topic_template(url: str) -> str | None:
    template = url or DEFAULT_TOPIC
    if "{user}" not in template:
        return "the topic template must contain {user}"
    if any(c in template for c in "+#\x00"):
        return "the topic template must not contain MQTT wildcards"
    return None


@dataclass(frozen=True, slots=True)
class ChannelKind:
    per_person: bool  # one message per user in Notice.users, else one per channel
    build: Callable[[Notice, str], dict[str, Any]]  # (notice, recipient) → body
    url_problem: Callable[[str], str | None]  # what is wrong with a channel's url, if anything


KINDS: dict[str, ChannelKind] = {
    "mqtt_user": ChannelKind(True, mqtt_payload, _topic_template),
    "wecom": ChannelKind(False, lambda n, _r: wecom_payload(n), _http_url),
    "dingtalk": ChannelKind(False, lambda n, _r: dingtalk_payload(n), _http_url),
    "webhook": ChannelKind(False, webhook_payload, _http_url),
}


def takes(channel_audiences: Iterable[str], notice_audiences: Iterable[str]) -> bool:
    """Whether a channel subscribed to ``channel_audiences`` takes a notice for ``notice_audiences``."""
    subscribed = set(channel_audiences)
    return ALL in subscribed or not subscribed.isdisjoint(notice_audiences)


# --- the notices Shewu sends --------------------------------------------------------------------

KIND_LABELS = {"sos": "SOS", "fall": "跌倒 fall", "leak": "漏水 leak", "battery_low": "低电量 battery",
               "fire": "火警 fire", "gas": "燃气泄漏 gas", "co": "一氧化碳 carbon monoxide",
               "intrusion": "入侵 intrusion", "alarm": "报警 alarm", "unknown_alarm": "未知报警 unknown alarm",
               "trouble": "设备故障 trouble",
               "tamper": "防拆 tamper", "offline": "设备离线 device offline", "power_lost": "停电 power lost",
               "wellbeing": "无活动 no activity", "weekly_visit": "每周探访 weekly visit",
               "monthly_activity": "每月活动 monthly activity", "quarterly_clinic": "每季义诊 quarterly clinic",
               "yearly_survey": "适老化评估 home adaptation survey"}
STEP_PHRASES = {  # step name → (English, Chinese); {en}/{zh} is how long since the order opened
    "raised": ("new alarm, acknowledge it", "新警报,请确认"),
    "opened": ("new ticket, dispatch it", "新工单,请派单"),
    "care_overdue": ("care visit not done or recorded by its due day", "关爱服务逾期未完成"),
    "silent": ("no activity at home for hours: go and look", "家中长时间无活动,请上门查看"),
    "unprotected": ("alarm device offline: resident unprotected", "报警设备离线,老人无保护"),
    "unprotected_dispatch_overdue": ("alarm device still offline, nobody dispatched after {en}",
                                     "报警设备离线{zh}未派单"),
    "unprotected_at_risk": ("alarm device offline, nobody on site after {en}", "报警设备离线{zh}未到场,即将超时"),
    "unprotected_breached": ("alarm device offline, nobody on site after {en}: breached",
                             "报警设备离线{zh}未到场,已超时"),
    "ack_overdue": ("not acknowledged after {en}", "{zh}未确认"),
    "ack_overdue_leader": ("not acknowledged after {en}", "{zh}未确认"),
    "dispatch_overdue": ("nobody dispatched after {en}", "{zh}未派单"),
    "onsite_at_risk": ("nobody on site after {en}, target at risk", "{zh}未到场,即将超时"),
    "onsite_breached": ("nobody on site after {en}: target breached", "{zh}未到场,已超时"),
}


def _elapsed(seconds: float) -> tuple[str, str]:
    s = max(int(seconds), 0)
    if s < 120:
        return f"{s} s", f"{s}秒"
    if s < 7200:
        return f"{s // 60} min", f"{s // 60}分钟"
    return f"{s // 3600} h", f"{s // 3600}小时"


def _about(order: Any) -> str:
    parts = (order.priority, KIND_LABELS.get(order.kind, order.kind), order.address, order.resident)
    return " ".join(p for p in parts if p)


def escalation_notice(order: Any, step: Any, *, now: datetime, users: Iterable[str] = (),
                      mobiles: Iterable[str] = (), link: str | None = None) -> Notice:
    """The notice for an escalation step that fired. ``order`` has the order's fields (a model
    or a row), ``step`` is a ``gateway.domain.ladders.Step``; e.g. text
    ``P1 SOS 3栋101 王秀英: not acknowledged after 60 s / 60秒未确认``."""
    elapsed = (now - order.opened_at).total_seconds()
    en, zh = _elapsed(elapsed)
    phrase_en, phrase_zh = STEP_PHRASES.get(step.name, (f"{step.name} after {{en}}", f"{{zh}} {step.name}"))
    label = KIND_LABELS.get(order.kind, order.kind)
    data: dict[str, Any] = {"order_id": order.id, "order_kind": order.kind, "priority": order.priority,
                            "step": step.name, "breach": bool(step.breach), "opened_at": iso(order.opened_at),
                            "elapsed_s": round(elapsed, 3), "address": order.address, "resident": order.resident}
    if link:
        data["url"] = link
    return Notice(
        kind="escalation", order_id=order.id,
        title=f"{'超时 ' if step.breach else ''}{order.priority} {label} #{order.id}",
        text=f"{_about(order)}: {phrase_en.format(en=en)} / {phrase_zh.format(zh=zh)}",
        audiences=tuple(str(a) for a in step.audience), users=tuple(users), data=data, mobiles=tuple(mobiles),
    )


def assignment_notice(order: Any, *, technician: str, mobiles: Iterable[str] = (), link: str | None = None) -> Notice:
    """The notice that an order was assigned (派单) to ``technician``: told to them in person, and
    to group channels that take the ``technician`` audience."""
    data: dict[str, Any] = {"order_id": order.id, "order_kind": order.kind, "priority": order.priority,
                            "assignee": technician, "address": order.address, "resident": order.resident}
    if link:
        data["url"] = link
    return Notice(
        kind="assignment", order_id=order.id,
        title=f"派单 New job #{order.id}: {KIND_LABELS.get(order.kind, order.kind)}",
        text=f"{_about(order)}: assigned to {technician} / 已派给 {technician}",
        audiences=("technician",), users=(technician,), data=data, mobiles=tuple(mobiles),
    )
