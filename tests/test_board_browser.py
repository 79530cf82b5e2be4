"""The on-call board (dashboard/static) in headless Chromium, against a real gateway.

``gateway_server`` (tests/conftest.py) runs ``shewu serve`` with a real Mosquitto and a temporary
SQLite database. An SOS is published over MQTT as Zigbee2MQTT would publish it; the board must
show it without a reload, with the resident's name as text (never as HTML), let the operator
acknowledge it, and switch language.

Set ``SHEWU_BOARD_SCREENSHOT=docs/board.png`` to also write the README screenshot.
"""

from __future__ import annotations

import json
import os
import re
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import paho.mqtt.client as mqtt
import pytest

from device_adapters.mqtt_url import parse_mqtt_url

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
TIMEOUT_MS = 15_000

pytestmark = [
    pytest.mark.browser,
    pytest.mark.integration,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="no headless Chromium at /usr/bin/chromium"),
]

sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect


# ---- helpers -------------------------------------------------------------------------------


def register_device(base_url: str, **device: str) -> None:
    response = httpx.post(f"{base_url}/api/devices", json=device, timeout=10)
    assert response.status_code == 201, response.text


def publish(mqtt_url: str, topic: str, payload: dict[str, Any]) -> None:
    """Publish one JSON message with QoS 1 and wait for the broker's acknowledgement."""
    url = parse_mqtt_url(mqtt_url)
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"board-test-{uuid.uuid4().hex[:10]}")
    if url.username:
        client.username_pw_set(url.username, url.password)
    client.connect(url.host, url.port, keepalive=30)
    client.loop_start()
    try:
        info = client.publish(topic, json.dumps(payload), qos=1)
        info.wait_for_publish(timeout=10)
        assert info.is_published(), "the broker did not acknowledge the publish"
    finally:
        client.loop_stop()
        client.disconnect()


def publish_z2m(mqtt_url: str, friendly_name: str, state: dict[str, Any]) -> None:
    """A device state message as Zigbee2MQTT publishes it."""
    publish(mqtt_url, f"zigbee2mqtt/{friendly_name}", state)


def publish_native(mqtt_url: str, device_id: str, kind: str, at: datetime) -> None:
    """An event on our own firmware's topic (docs/wire-formats.md), carrying the device's time."""
    payload = {
        "v": 1,
        "id": f"{device_id}:{uuid.uuid4().hex[:8]}",
        "kind": kind,
        "ts": at.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    publish(mqtt_url, f"shewu/v1/{device_id}/event", payload)


def sos_state() -> dict[str, Any]:
    return {"action": "emergency", "battery": 90, "linkquality": 120}


def card_for(page: Any, device_id: str) -> Any:
    """The board's card whose device field reads exactly ``device_id``."""
    device = page.locator("[data-role=device]", has_text=re.compile(f"^{re.escape(device_id)}$"))
    return page.locator("li.card", has=device)


# ---- fixtures ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh page (empty localStorage: Chinese, no operator name) that fails on script errors."""
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    pg = context.new_page()
    pg.set_default_timeout(TIMEOUT_MS)
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        yield pg
    finally:
        context.close()
    assert not errors, f"JavaScript errors on the board: {errors}"


def open_board(page: Any, base_url: str) -> None:
    page.goto(f"{base_url}/")
    expect(page.locator("#conn-state")).to_have_class(re.compile(r"\bconn-live\b"))


# ---- tests ---------------------------------------------------------------------------------


def test_live_sos_is_escaped_acknowledged_and_translated(gateway_server: Any, page: Any) -> None:
    base_url: str = gateway_server.base_url
    suffix = uuid.uuid4().hex[:8]
    device_id = f"elder-{suffix}-sos"
    resident = "<b>王</b>秀英 & <script>window.__pwned = 1</script>"
    address = '3栋2单元101 <img src=x onerror="window.__pwned = 2">'
    register_device(
        base_url,
        device_id=device_id,
        model="TS0215A_sos",
        kind="sos",
        resident=resident,
        address=address,
        grid="G1",
    )

    open_board(page, base_url)
    expect(page).to_have_title(re.compile("社物共治 · 值班看板"))
    page.fill("#operator", "测试值班员")
    page.evaluate("window.__sameDocument = true")  # a reload would lose this

    publish_z2m(gateway_server.mqtt_url, device_id, sos_state())

    # The order arrives over the live feed: no reload, no polling.
    card = card_for(page, device_id)
    expect(card).to_have_count(1)
    assert page.evaluate("window.__sameDocument") is True
    expect(card.locator("[data-role=status]")).to_have_text("待确认")
    expect(card.locator(".kind-label")).to_have_text("紧急呼叫")
    expect(card.locator(".badge.prio")).to_have_text("P1 紧急")
    expect(card.locator("[data-role=countdown]")).to_have_text(re.compile(r"^1[45]:\d\d$"))
    expect(card.locator("[data-role=ack-countdown]")).to_be_visible()
    expect(page.locator("#count-P1")).not_to_have_text("0")

    # User-provided text is shown as text: no element or script made from it.
    expect(card.locator("[data-role=resident]")).to_have_text(resident)
    expect(card.locator("[data-role=address]")).to_have_text(address)
    assert card.locator("b, script, img").count() == 0
    assert page.evaluate("window.__pwned") is None

    # Acknowledge: the card changes in place, and the server recorded who did it.
    order_id = int(card.get_attribute("data-order-id"))
    card.locator("button[data-action=ack]").click()
    expect(card.locator("[data-role=status]")).to_have_text("已确认")
    expect(card).to_have_attribute("data-status", "acknowledged")
    expect(card.locator("button[data-action=ack]")).to_have_count(0)
    expect(card.locator("[data-role=ack-countdown]")).to_be_hidden()
    order = httpx.get(f"{base_url}/api/orders/{order_id}", timeout=10).json()
    assert order["status"] == "acknowledged"
    assert any(entry["actor"] == "测试值班员" for entry in order["timeline"])

    # A repeat press is counted on the same order, live.
    publish_z2m(gateway_server.mqtt_url, device_id, sos_state())
    expect(card.locator("[data-role=repeats]")).to_have_text("×2")
    expect(card_for(page, device_id)).to_have_count(1)

    # English: statuses, kinds, buttons and header labels all change; the data does not.
    page.click("#lang-toggle")
    expect(card.locator("[data-role=status]")).to_have_text("Acknowledged")
    expect(card.locator(".kind-label")).to_have_text("SOS")
    expect(card.locator("button[data-action=dispatch]")).to_have_text("Dispatch")
    expect(page.locator("#sum-breached .sum-key")).to_have_text("Breached")
    expect(page.locator("#lang-toggle")).to_have_text("中文")
    expect(page).to_have_title(re.compile("Shewu on-call board"))
    expect(card.locator("[data-role=resident]")).to_have_text(resident)
    assert page.evaluate("document.documentElement.lang") == "en"

    # The choice is remembered across a reload, and the snapshot brings the order back.
    page.reload()
    expect(page.locator("#conn-state")).to_have_class(re.compile(r"\bconn-live\b"))
    expect(card_for(page, device_id).locator("[data-role=status]")).to_have_text("Acknowledged")
    expect(page.locator("#operator")).to_have_value("测试值班员")


def test_cancel_needs_a_reason_and_takes_the_order_off_the_board(gateway_server: Any, page: Any) -> None:
    base_url: str = gateway_server.base_url
    device_id = f"elder-{uuid.uuid4().hex[:8]}-sos"
    register_device(
        base_url,
        device_id=device_id,
        model="TS0215A_sos",
        kind="sos",
        resident="赵淑芬",
        address="7栋1单元502",
        grid="G2",
    )
    open_board(page, base_url)
    publish_z2m(gateway_server.mqtt_url, device_id, sos_state())
    card = card_for(page, device_id)
    expect(card).to_have_count(1)

    # Without an operator name nothing is sent, and the page says why.
    card.locator("button[data-action=cancel]").click()
    expect(page.locator(".msg-error")).to_contain_text("值班员")
    expect(page.locator("#action-dialog")).not_to_be_visible()

    page.fill("#operator", "测试值班员")
    card.locator("button[data-action=cancel]").click()
    dialog = page.locator("#action-dialog")
    expect(dialog).to_be_visible()
    page.click("#dialog-submit")
    expect(page.locator("#dialog-error")).not_to_be_empty()  # the reason is required
    page.fill("#input-reason", "误报，已电话确认老人安全")
    page.click("#dialog-submit")
    expect(dialog).not_to_be_visible()
    expect(card).to_have_count(0)


@pytest.mark.skipif(not os.environ.get("SHEWU_BOARD_SCREENSHOT"), reason="SHEWU_BOARD_SCREENSHOT is not set")
def test_screenshot_for_the_readme(gateway_server: Any, browser: Any) -> None:
    """A board with orders in several states (normal, at risk, breached), saved for the README.

    The at-risk and breached ones come from native-topic events whose device time lies 12 and
    17 minutes back: the gateway opens orders at the device's time.
    """
    base_url: str = gateway_server.base_url
    mqtt_url: str = gateway_server.mqtt_url
    tag = uuid.uuid4().hex[:4]
    now = datetime.now(UTC)
    # (device id, model, kind, resident, address, grid, how it is published)
    devices: list[tuple[str, str, str, str, str, str, Callable[[str], None]]] = [
        (
            f"elder-101-sos-{tag}",
            "TS0215A_sos",
            "sos",
            "王秀英",
            "3栋2单元101",
            "G1",
            lambda d: publish_z2m(mqtt_url, d, sos_state()),
        ),
        (
            f"elder-302-fall-{tag}",
            "SW-FALL-1",
            "fall",
            "李建国",
            "5栋1单元302",
            "G2",
            lambda d: publish_native(mqtt_url, d, "fall", now - timedelta(minutes=12)),
        ),
        (
            f"elder-505-sos-{tag}",
            "SW-SOS-1",
            "sos",
            "周玉珍",
            "8栋1单元505",
            "G3",
            lambda d: publish_native(mqtt_url, d, "sos", now - timedelta(minutes=17, seconds=20)),
        ),
        (
            f"leak-601-kitchen-{tag}",
            "SJCGQ11LM",
            "leak",
            "张桂兰",
            "2栋3单元601 厨房",
            "G3",
            lambda d: publish_z2m(mqtt_url, d, {"water_leak": True, "battery": 80, "linkquality": 100}),
        ),
        (
            f"elder-202-sos-{tag}",
            "TS0215A_sos",
            "sos",
            "陈志明",
            "1栋1单元202",
            "G1",
            lambda d: publish_z2m(mqtt_url, d, {"battery_low": True, "battery": 6, "linkquality": 70}),
        ),
    ]
    # Only this test's orders on the picture: earlier tests may have left some open.
    for order in httpx.get(f"{base_url}/api/orders", params={"active": "true"}, timeout=10).json():
        cancel = {"by": "test", "reason": "screenshot setup"}
        httpx.post(f"{base_url}/api/orders/{order['id']}/cancel", json=cancel, timeout=10)
    for device_id, model, kind, resident, address, grid, _ in devices:
        register_device(
            base_url,
            device_id=device_id,
            model=model,
            kind=kind,
            resident=resident,
            address=address,
            grid=grid,
        )

    context = browser.new_context(viewport={"width": 1600, "height": 1000}, device_scale_factor=1)
    pg = context.new_page()
    pg.set_default_timeout(TIMEOUT_MS)
    try:
        open_board(pg, base_url)
        pg.fill("#operator", "值班员小刘")
        for device_id, *_, publish in devices:
            publish(device_id)
            expect(card_for(pg, device_id)).to_have_count(1)
        devices[0][6](devices[0][0])  # a repeated press: ×2
        expect(card_for(pg, devices[0][0]).locator("[data-role=repeats]")).to_have_text("×2")

        fall = card_for(pg, devices[1][0])
        fall.locator("button[data-action=dispatch]").click()
        pg.fill("#input-technician", "李师傅")
        pg.click("#dialog-submit")
        expect(fall).to_have_attribute("data-status", "dispatched")
        expect(fall).to_have_class(re.compile(r"\blevel-risk\b"))
        late = card_for(pg, devices[2][0])
        late.locator("button[data-action=ack]").click()
        expect(late).to_have_attribute("data-status", "acknowledged")
        expect(late).to_have_class(re.compile(r"\blevel-breached\b"))
        expect(late.locator("[data-role=countdown]")).to_have_text(re.compile(r"^\+02:\d\d 超时$"))

        pg.wait_for_timeout(4500)  # let the confirmations fade
        pg.evaluate("document.querySelectorAll('.msg').forEach(m => m.remove()); window.scrollTo(0, 0)")
        out = Path(os.environ["SHEWU_BOARD_SCREENSHOT"])
        out.parent.mkdir(parents=True, exist_ok=True)
        pg.screenshot(path=str(out), full_page=False, animations="disabled")
    finally:
        context.close()
