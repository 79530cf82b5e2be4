"""The technician's page (dashboard/static/tech.html) in headless Chromium at a phone's size,
against a real gateway and a real Mosquitto.

A plumber signs in; a leak (Zigbee2MQTT ``water_leak``) opens a ticket; an admin dispatches it
to the plumber through the API; it appears on the phone without a reload, with a sound, a
vibration and a highlight; Accept, Arrived and Done each move it on, and Done takes it off the
list. A ticket dispatched to someone else never shows up.

Set ``SHEWU_TECH_SCREENSHOT=docs/tech.png`` to also write the README screenshot.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.browser_helpers import (
    CHROMIUM,
    PHONE,
    active_order_for,
    create_user,
    headers_for,
    launch_browser,
    leak_state,
    new_page,
    publish_z2m,
    register_device,
    sign_in,
    unique,
)
from tests.gateway_process import GatewayProcess, wait_until

pytestmark = [
    pytest.mark.browser,
    pytest.mark.integration,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="no headless Chromium at /usr/bin/chromium"),
]

sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect

# Record what the page asks of the phone: vibrations, and the alarm sound's oscillators.
PHONE_PROBES = """
window.__vibrations = [];
Object.defineProperty(Navigator.prototype, "vibrate", {
  configurable: true,
  value: function (pattern) { window.__vibrations.push(pattern); return true; }
});
"""


# ---- helpers -------------------------------------------------------------------------------


def card(page: Any, order_id: int) -> Any:
    return page.locator(f"li.tcard[data-order-id='{order_id}']")


def open_leak(gw: GatewayProcess, resident: str = "张桂兰", address: str = "2栋3单元601 厨房") -> dict[str, Any]:
    """Register a leak sensor, publish a leak as Zigbee2MQTT does, answer the ticket it opened."""
    device_id = f"leak-{uuid.uuid4().hex[:8]}"
    register_device(gw, device_id=device_id, model="SJCGQ11LM", kind="leak", resident=resident, address=address,
                    grid="G3")
    publish_z2m(gw.mqtt_url, device_id, leak_state())
    order: dict[str, Any] = wait_until(lambda: active_order_for(gw, device_id), what=f"a ticket for {device_id}")
    assert (order["kind"], order["status"]) == ("leak", "new")
    return order


def dispatch(gw: GatewayProcess, order_id: int, technician: str, note: str | None = None,
             headers: dict[str, str] | None = None) -> dict[str, Any]:
    """Dispatch as the tests' admin (or as whoever ``headers`` say)."""
    body: dict[str, Any] = {"technician": technician}
    if note:
        body["note"] = note
    response = httpx.post(f"{gw.base_url}/api/orders/{order_id}/dispatch", json=body,
                          headers=headers or gw.headers, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def status_of(gw: GatewayProcess, order_id: int) -> str:
    return gw.get(f"/api/orders/{order_id}")["status"]  # type: ignore[no-any-return]


def open_tech_page(page: Any, gw: GatewayProcess, name: str) -> None:
    sign_in(page, gw.base_url, name, next_path="/tech.html")
    expect(page).to_have_url(f"{gw.base_url}/tech.html")
    expect(page.locator("#conn-state")).to_have_class(re.compile(r"\bconn-live\b"))


# ---- fixtures ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with launch_browser(sync_api) as b:
        yield b


@pytest.fixture
def phone(browser: Any) -> Iterator[Any]:
    with new_page(browser, viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True,
                  timezone_id="Asia/Shanghai", locale="zh-CN") as pg:
        pg.add_init_script(PHONE_PROBES)
        yield pg


@pytest.fixture
def plumber(gateway_server: GatewayProcess) -> str:
    return create_user(gateway_server, unique("plumber"), "technician", display_name="王师傅", skills=["plumbing"],
                       grid="G3", phone="13900000002")


# ---- tests ---------------------------------------------------------------------------------


def test_a_leak_ticket_appears_and_accept_arrive_done_each_move_it_on(gateway_server: GatewayProcess, phone: Any,
                                                                      plumber: str) -> None:
    gw = gateway_server
    colleague = create_user(gw, unique("plumber"), "technician", display_name="赵师傅", skills=["plumbing"])
    open_tech_page(phone, gw, plumber)
    expect(phone.locator("#empty-title")).to_have_text("暂无分派给您的工单")
    expect(phone.locator("#user")).to_have_text("王师傅")
    phone.evaluate("window.__sameDocument = true")  # a reload would lose this

    # A ticket for somebody else first: it must never reach this phone.
    theirs = open_leak(gw, resident="钱老伯", address="6栋2单元402 卫生间")
    dispatch(gw, theirs["id"], colleague)

    # My leak: opened by the sensor, dispatched by the admin; it arrives live.
    ticket = open_leak(gw)
    dispatch(gw, ticket["id"], plumber, note="总阀在厨房水槽下")
    c = card(phone, ticket["id"])
    expect(c).to_have_count(1)
    assert phone.evaluate("window.__sameDocument") is True
    expect(c).to_have_attribute("data-status", "dispatched")
    expect(c).to_have_class(re.compile(r"\bis-new\b"))
    expect(c.locator("[data-role=new]")).to_have_text("新派单")
    expect(c.locator("[data-role=status]")).to_have_text("已派单")
    expect(c.locator(".kind-label")).to_have_text("漏水")
    expect(c.locator("[data-role=address]")).to_have_text("2栋3单元601 厨房")
    expect(c.locator("[data-role=resident]")).to_have_text("张桂兰")
    expect(c.locator("[data-role=countdown]")).to_have_text(re.compile(r"^\d?\d?:?\d\d:\d\d$"))
    expect(c.locator("[data-role=note]")).to_have_text(re.compile("总阀在厨房水槽下$"))
    expect(phone).to_have_title(re.compile(r"^\(1\) 我的工单"))
    assert phone.evaluate("window.__vibrations.length") >= 1  # and a beep, where sound is on
    expect(card(phone, theirs["id"])).to_have_count(0)

    # The buttons are big, at the bottom of the card, and fit the phone.
    accept = c.locator("button[data-action=accept]")
    reject = c.locator("button[data-action=reject]")
    expect(accept).to_have_text("接单")
    expect(reject).to_have_text("拒单")
    box = accept.bounding_box()
    assert box is not None and box["height"] >= 48 and box["x"] + box["width"] <= PHONE["width"]

    # Accept.
    accept.click()
    expect(c).to_have_attribute("data-status", "accepted")
    expect(c.locator("[data-role=status]")).to_have_text("已接单")
    expect(c).not_to_have_class(re.compile(r"\bis-new\b"))
    assert status_of(gw, ticket["id"]) == "accepted"
    expect(c.locator("button[data-action=depart]")).to_have_text("出发")

    # Arrived.
    c.locator("button[data-action=arrive]").click()
    expect(c).to_have_attribute("data-status", "on_site")
    expect(c.locator("[data-role=status]")).to_have_text("已到场")
    assert status_of(gw, ticket["id"]) == "on_site"

    # Done: a note is required; then the ticket is resolved and leaves the list.
    c.locator("button[data-action=resolve]").click()
    expect(phone.locator("#done-dialog")).to_be_visible()
    phone.click("#done-submit")
    expect(phone.locator("#done-error")).to_have_text("请写下处理情况。")
    phone.fill("#done-note", "已更换厨房水管接头，无渗漏")
    phone.click("#done-submit")
    expect(c).to_have_count(0)
    expect(phone.locator("#empty-title")).to_have_text("暂无分派给您的工单")
    done = gw.get(f"/api/orders/{ticket['id']}")
    assert done["status"] == "resolved"
    assert [(e["actor"], e["note"]) for e in done["timeline"] if e["action"] == "resolve"] == \
        [(plumber, "已更换厨房水管接头，无渗漏")]
    assert [e["actor"] for e in done["timeline"] if e["action"] in ("accept", "arrive")] == [plumber, plumber]

    # Someone else's ticket never appeared, and is still theirs.
    expect(card(phone, theirs["id"])).to_have_count(0)
    assert gw.get(f"/api/orders/{theirs['id']}")["assignee"] == colleague
    assert phone.evaluate("window.__sameDocument") is True


def test_reject_with_a_reason_and_reassignment_take_the_ticket_away(gateway_server: GatewayProcess, phone: Any,
                                                                    plumber: str) -> None:
    gw = gateway_server
    colleague = create_user(gw, unique("plumber"), "technician", skills=["plumbing"])
    open_tech_page(phone, gw, plumber)

    first = open_leak(gw)
    dispatch(gw, first["id"], plumber)
    c = card(phone, first["id"])
    expect(c).to_have_attribute("data-status", "dispatched")

    # Reject: a reason is required; "other" needs words.
    c.locator("button[data-action=reject]").click()
    sheet = phone.locator("#reject-dialog")
    expect(sheet).to_be_visible()
    phone.click("#reject-submit")
    expect(phone.locator("#reject-error")).to_have_text("请选择一个原因。")
    sheet.locator("label.preset", has=phone.locator("input[value=other]")).click()
    phone.click("#reject-submit")
    expect(phone.locator("#reject-error")).to_have_text("选择“其他”时请写明原因。")
    sheet.locator("label.preset", has=phone.locator("input[value=noTools]")).click()
    expect(sheet.locator("input[value=noTools]")).to_be_checked()
    phone.fill("#reject-detail", "需要 DN20 阀门")
    phone.click("#reject-submit")
    expect(sheet).not_to_be_visible()
    expect(c).to_have_count(0)
    rejected = gw.get(f"/api/orders/{first['id']}")
    assert (rejected["status"], rejected["assignee"]) == ("new", None)
    [entry] = [e for e in rejected["timeline"] if e["action"] == "reject"]
    assert entry["actor"] == plumber
    assert entry["data"]["reason"] == "缺少工具或配件：需要 DN20 阀门"

    # Reassigned by the office while on my list: it goes, and the page says so.
    second = open_leak(gw, address="9栋1单元101")
    dispatch(gw, second["id"], plumber)
    expect(card(phone, second["id"])).to_have_count(1)
    dispatch(gw, second["id"], colleague)
    expect(card(phone, second["id"])).to_have_count(0)
    expect(phone.locator(".msg-info")).to_contain_text(f"#{second['id']}")


def test_my_status_and_english(gateway_server: GatewayProcess, phone: Any, plumber: str) -> None:
    gw = gateway_server
    open_tech_page(phone, gw, plumber)

    def my_status() -> str:
        [me] = [u for u in gw.get("/api/users", role="technician") if u["name"] == plumber]
        return me["status"]  # type: ignore[no-any-return]

    available = phone.locator(".my-status button[data-status=available]")
    busy = phone.locator(".my-status button[data-status=busy]")
    expect(available).to_have_attribute("aria-pressed", "true")
    busy.click()
    expect(busy).to_have_attribute("aria-pressed", "true")
    expect(available).to_have_attribute("aria-pressed", "false")
    wait_until(lambda: my_status() == "busy", what="status busy")
    phone.locator(".my-status button[data-status=off_duty]").click()
    wait_until(lambda: my_status() == "off_duty", what="status off duty")

    phone.click("#lang-toggle")
    expect(phone.locator("#lang-toggle")).to_have_text("中文")
    expect(busy).to_have_text("Busy")
    expect(phone.locator("#empty-title")).to_have_text("No orders assigned to you")
    ticket = open_leak(gw)
    dispatch(gw, ticket["id"], plumber)
    c = card(phone, ticket["id"])
    expect(c.locator("button[data-action=accept]")).to_have_text("Accept")
    expect(c.locator("[data-role=status]")).to_have_text("Dispatched")
    expect(c.locator(".kind-label")).to_have_text("Water leak")

    # Errors are shown plainly: the office cancels the ticket, then a late "Accept" is refused.
    phone.evaluate("window.ShewuTech.state.live.stop()")  # no live update: the page still shows it
    cancel = gw.post(f"/api/orders/{ticket['id']}/cancel", {"reason": "duplicate"})
    assert cancel.status_code == 200, cancel.text
    c.locator("button[data-action=accept]").click()
    expect(c.locator("[data-role=error]")).to_contain_text("Accept failed")


def test_the_tech_page_needs_sign_in(gateway_server: GatewayProcess, phone: Any, plumber: str) -> None:
    phone.goto(f"{gateway_server.base_url}/tech.html")
    expect(phone).to_have_url(re.compile(r"/login\.html\?next=%2Ftech\.html$"))
    phone.fill("#login-name", plumber)
    phone.fill("#login-password", "correct-horse-battery")
    phone.click("#login-submit")
    expect(phone).to_have_url(f"{gateway_server.base_url}/tech.html")


def test_a_technician_lands_on_the_tech_page_by_default(gateway_server: GatewayProcess, phone: Any,
                                                       plumber: str) -> None:
    sign_in(phone, gateway_server.base_url, plumber)
    expect(phone).to_have_url(f"{gateway_server.base_url}/tech.html")


@pytest.mark.skipif(not os.environ.get("SHEWU_TECH_SCREENSHOT"), reason="SHEWU_TECH_SCREENSHOT is not set")
def test_screenshot_for_the_readme(gateway_server: GatewayProcess, browser: Any) -> None:
    """The phone page with three tickets in different states, saved for the README."""
    gw = gateway_server
    plumber = create_user(gw, "wang", "technician", display_name="王师傅", skills=["plumbing"], grid="G3")
    office = headers_for(gw, "xiaoliu", "dispatcher", display_name="值班员小刘")
    with new_page(browser, viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True,
                  timezone_id="Asia/Shanghai", locale="zh-CN") as pg:
        open_tech_page(pg, gw, plumber)
        on_site = open_leak(gw, resident="刘奶奶", address="1栋2单元302 卫生间")
        dispatch(gw, on_site["id"], plumber, headers=office)
        expect(card(pg, on_site["id"])).to_have_count(1)
        card(pg, on_site["id"]).locator("button[data-action=accept]").click()
        card(pg, on_site["id"]).locator("button[data-action=arrive]").click()
        expect(card(pg, on_site["id"])).to_have_attribute("data-status", "on_site")
        accepted = open_leak(gw, resident="陈大爷", address="5栋1单元201 厨房")
        dispatch(gw, accepted["id"], plumber, headers=office)
        card(pg, accepted["id"]).locator("button[data-action=accept]").click()
        expect(card(pg, accepted["id"])).to_have_attribute("data-status", "accepted")
        fresh = open_leak(gw)
        dispatch(gw, fresh["id"], plumber, note="总阀在厨房水槽下，老人行动不便请敲门稍等", headers=office)
        expect(card(pg, fresh["id"]).locator("[data-role=note]")).to_contain_text("总阀")
        pg.wait_for_timeout(4000)  # let the confirmations fade
        pg.evaluate("document.querySelectorAll('.msg').forEach(m => m.remove()); window.scrollTo(0, 0)")
        out = Path(os.environ["SHEWU_TECH_SCREENSHOT"])
        out.parent.mkdir(parents=True, exist_ok=True)
        pg.screenshot(path=str(out), full_page=False, animations="disabled")
