"""Notification formats and the retry policy (pure): what each channel kind is sent, the
signatures (checked against vectors computed with openssl, outside Python, from the documented
algorithms), the fan-out rule, and the backoff."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from urllib.parse import parse_qs, urlsplit

import pytest

from gateway.domain.ladders import P1, STEPS_BY_NAME
from gateway.notify.backoff import DEFAULT_POLICY, RetryPolicy
from gateway.notify.messages import (
    KINDS,
    SCHEMA,
    Notice,
    assignment_notice,
    clip,
    dingtalk_payload,
    dingtalk_sign,
    dingtalk_signed_url,
    encode,
    escalation_notice,
    mqtt_payload,
    mqtt_topic,
    takes,
    webhook_payload,
    webhook_signature,
    wecom_payload,
)
from gateway.notify.models import NotifyChannel
from gateway.notify.outbox import check_channel
from gateway.notify.senders import DELIVER

T0 = datetime(2026, 11, 28, 4, 0, tzinfo=UTC)

NOTICE = Notice(
    kind="escalation", order_id=42, title="P1 SOS #42",
    text="P1 SOS 3栋101 王秀英: not acknowledged after 60 s / 60秒未确认",
    audiences=("oncall_team",), users=("li", "wang"),
    data={"order_id": 42, "step": "ack_overdue", "url": "https://shewu.example/orders/42"},
)


# --- bodies -------------------------------------------------------------------------------------


def test_wecom_markdown() -> None:
    body = wecom_payload(NOTICE)
    assert body["msgtype"] == "markdown"
    content = body["markdown"]["content"]
    assert content.startswith("**P1 SOS #42**\n")
    assert "60秒未确认" in content
    assert "(https://shewu.example/orders/42)" in content
    assert set(body) == {"msgtype", "markdown"}


def test_wecom_text_when_phones_are_mentioned() -> None:
    body = wecom_payload(Notice("escalation", 1, "T", "x", mobiles=("13800001111",)))
    assert body == {"msgtype": "text", "text": {"content": "T\nx", "mentioned_mobile_list": ["13800001111"]}}


def test_wecom_content_is_clipped_to_its_limit() -> None:
    body = wecom_payload(Notice("escalation", 1, "T", "警" * 5000))
    content = body["markdown"]["content"]
    assert len(content.encode()) <= 4096
    assert content.endswith("...")


def test_dingtalk_markdown_with_mentions() -> None:
    body = dingtalk_payload(Notice("escalation", 1, "P1 SOS #1", "快去", mobiles=("13800001111",)))
    assert body["msgtype"] == "markdown"
    assert body["markdown"]["title"] == "P1 SOS #1"
    assert body["markdown"]["text"].startswith("#### P1 SOS #1\n\n快去")
    assert body["markdown"]["text"].endswith(" @13800001111")  # DingTalk wants the @ in the text too
    assert body["at"] == {"atMobiles": ["13800001111"], "isAtAll": False}


def test_webhook_and_mqtt_document() -> None:
    doc = webhook_payload(NOTICE, "li")
    assert doc == {
        "schema": SCHEMA, "kind": "escalation", "order_id": 42, "title": NOTICE.title, "text": NOTICE.text,
        "recipient": "li", "audiences": ["oncall_team"], "users": ["li", "wang"], "data": NOTICE.data,
    }
    assert mqtt_payload(NOTICE, "li") == doc
    assert encode(doc).decode().startswith('{"schema":"shewu.notify.v1"')
    assert "王秀英" in encode(doc).decode()  # UTF-8, not \\u escapes


def test_clip_never_cuts_a_character() -> None:
    assert clip("abc", 10) == "abc"
    for n in range(4, 20):
        out = clip("王秀英" * 10, n)
        assert len(out.encode()) <= n
        out.encode().decode()  # valid UTF-8


# --- signatures ---------------------------------------------------------------------------------

# printf '1577000000000\nthis is secret' | openssl dgst -sha256 -hmac 'this is secret' -binary | base64
DINGTALK_VECTOR = "CzDRc7aXg4jxIWuAPgoMjyJ+zMUH7WEqwmgz3Z94Mrk="
# printf '{"a":1}' | openssl dgst -sha256 -hmac 'k3y' -hex
WEBHOOK_VECTOR = "32db719f172c48e89dbfa56ed20d9e19cdbfdbe9f652ccdf5fa03494d2444853"


def test_dingtalk_signature_known_vector() -> None:
    assert dingtalk_sign("this is secret", 1577000000000) == DINGTALK_VECTOR


def test_dingtalk_signed_url() -> None:
    url = dingtalk_signed_url("https://oapi.dingtalk.com/robot/send?access_token=tok", "this is secret", 1577000000000)
    assert url == ("https://oapi.dingtalk.com/robot/send?access_token=tok&timestamp=1577000000000"
                   "&sign=CzDRc7aXg4jxIWuAPgoMjyJ%2BzMUH7WEqwmgz3Z94Mrk%3D")
    query = parse_qs(urlsplit(url).query)
    assert query == {"access_token": ["tok"], "timestamp": ["1577000000000"], "sign": [DINGTALK_VECTOR]}


def test_dingtalk_signature_follows_the_documented_algorithm() -> None:
    secret = "SEC0123456789abcdef"
    for ts in (0, 1577000000000, 1764302400123):
        expected = base64.b64encode(
            hmac.new(secret.encode("utf-8"), f"{ts}\n{secret}".encode(), digestmod=hashlib.sha256).digest()
        ).decode()
        assert dingtalk_sign(secret, ts) == expected
        assert dingtalk_signed_url("https://x/robot", secret, ts).startswith(f"https://x/robot?timestamp={ts}&sign=")


def test_webhook_signature_known_vector() -> None:
    assert webhook_signature("k3y", b'{"a":1}') == "sha256=" + WEBHOOK_VECTOR


# --- channel kinds and the fan-out rule ----------------------------------------------------------


def test_every_kind_has_a_sender() -> None:
    assert set(KINDS) == set(DELIVER) == {"mqtt_user", "wecom", "dingtalk", "webhook"}
    assert [k for k, v in KINDS.items() if v.per_person] == ["mqtt_user"]


def test_takes() -> None:
    assert takes(["*"], ["oncall_team"])
    assert takes(["*"], [])
    assert takes(["duty_leader", "oncall_team"], ["oncall_team"])
    assert not takes(["property_team"], ["oncall_team", "duty_leader"])
    assert not takes([], ["oncall_team"])


def test_mqtt_topic() -> None:
    assert mqtt_topic("shewu/v1/notify/{user}", "li") == "shewu/v1/notify/li"
    assert mqtt_topic("", "li") == "shewu/v1/notify/li"
    for bad in ("", "a/b", "+", "#", "x\x00"):
        with pytest.raises(ValueError):
            mqtt_topic("shewu/v1/notify/{user}", bad)


@pytest.mark.parametrize(("kind", "url", "audiences", "problem"), [
    ("sms", "https://x", ["*"], "unknown channel kind"),
    ("wecom", "ftp://x", ["*"], "http(s) URL"),
    ("webhook", "", ["*"], "http(s) URL"),
    ("mqtt_user", "shewu/v1/notify/all", ["*"], "{user}"),
    ("mqtt_user", "shewu/+/{user}", ["*"], "wildcards"),
    ("dingtalk", "https://oapi.dingtalk.com/robot/send?access_token=t", [], "audiences"),
])
def test_check_channel_rejects(kind: str, url: str, audiences: list[str], problem: str) -> None:
    with pytest.raises(ValueError, match=re.escape(problem)):
        check_channel(NotifyChannel(name="c", kind=kind, url=url, audiences=audiences))


def test_check_channel_accepts() -> None:
    check_channel(NotifyChannel(name="c", kind="wecom", url="https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k"))
    check_channel(NotifyChannel(name="t", kind="mqtt_user", url="shewu/v1/notify/{user}", audiences=["technician"]))


# --- the notices --------------------------------------------------------------------------------


ORDER = SimpleNamespace(id=7, kind="sos", priority="P1", address="3栋101", resident="王秀英", opened_at=T0)


def test_escalation_notice() -> None:
    step = STEPS_BY_NAME[("sos", "ack_overdue")]
    notice = escalation_notice(ORDER, step, now=T0 + timedelta(seconds=60), users=("li", "wang"),
                               link="https://shewu.example/#7")
    assert notice.text == "P1 SOS 3栋101 王秀英: not acknowledged after 60 s / 60秒未确认"
    assert notice.kind == "escalation"
    assert notice.order_id == 7
    assert notice.audiences == ("oncall_team",)
    assert notice.users == ("li", "wang")
    assert notice.data["step"] == "ack_overdue"
    assert notice.data["url"] == "https://shewu.example/#7"
    encode(webhook_payload(notice, ""))  # JSON-able


def test_escalation_notice_breach() -> None:
    step = next(s for s in P1 if s.name == "onsite_breached")
    notice = escalation_notice(ORDER, step, now=T0 + timedelta(minutes=15))
    assert notice.title.startswith("超时 ")
    assert "15分钟未到场,已超时" in notice.text
    assert notice.audiences == ("dispatcher", "duty_leader")
    assert notice.data["breach"] is True


def test_assignment_notice() -> None:
    notice = assignment_notice(ORDER, technician="li")
    assert notice.kind == "assignment"
    assert notice.audiences == ("technician",)
    assert notice.users == ("li",)
    assert "已派给 li" in notice.text


# --- backoff ------------------------------------------------------------------------------------


def test_backoff_doubles_up_to_the_cap() -> None:
    delays = [DEFAULT_POLICY.delay(n).total_seconds() for n in range(1, 11)]
    assert delays == [5, 10, 20, 40, 80, 160, 320, 600, 600, 600]
    assert DEFAULT_POLICY.delay(10_000) == timedelta(minutes=10)


def test_backoff_gives_up_after_max_attempts() -> None:
    policy = RetryPolicy(base_s=1, cap_s=4, max_attempts=3)
    assert [policy.delay(n).total_seconds() for n in (1, 2, 3, 4)] == [1, 2, 4, 4]
    assert not policy.gives_up(2)
    assert policy.gives_up(3)
    assert DEFAULT_POLICY.max_attempts == 10
