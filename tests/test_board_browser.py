"""The on-call board (dashboard/static) in headless Chromium, against a real gateway.

``gateway_server`` (tests/conftest.py) runs ``shewu serve`` with a real Mosquitto and a temporary
SQLite database. A dispatcher signs in through login.html; an SOS is published over MQTT as
Zigbee2MQTT would publish it; the board must show it without a reload, with the resident's name
as text (never as HTML), let the dispatcher acknowledge it and dispatch a technician picked from
the proposals, show who is on call, and switch language.

Set ``SHEWU_BOARD_SCREENSHOT=docs/board.png`` to also write the README screenshot.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.browser_helpers import (
    CHROMIUM,
    active_order_for,
    create_user,
    launch_browser,
    leak_state,
    new_page,
    publish_native,
    publish_z2m,
    register_device,
    sign_in,
    sos_state,
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


# ---- helpers -------------------------------------------------------------------------------


def card_for(page: Any, device_id: str) -> Any:
    """The board's card whose device field reads exactly ``device_id``."""
    device = page.locator("[data-role=device]", has_text=re.compile(f"^{re.escape(device_id)}$"))
    return page.locator("li.card", has=device)


def expect_ladder(card: Any, order: dict[str, Any]) -> None:
    """The card shows the order's ladder as the API has it: the step reached (or none) and the
    next one at its time, with a countdown; step names translated, never raw."""
    current, upcoming = card.locator("[data-role=ladder-current]"), card.locator("[data-role=ladder-next]")
    if order["ladder"]["current"]:
        step = order["ladder"]["current"]["step"]
        expect(current).to_have_attribute("data-step", step)
        expect(current).to_have_text(re.compile(r"^当前："))
        expect(current).not_to_contain_text(step)
    else:
        expect(current).to_be_hidden()
    if order["ladder"]["next"]:
        step = order["ladder"]["next"]["step"]
        expect(upcoming).to_have_attribute("data-step", step)
        expect(upcoming).to_have_text(re.compile(r"^下一级：\S+ \d\d:\d\d:\d\d（(\d+:)?\d\d:\d\d 后）$"))
        expect(upcoming).not_to_contain_text(step)
    else:
        expect(upcoming).to_be_hidden()


def expect_live(page: Any) -> None:
    expect(page.locator("#conn-state")).to_have_class(re.compile(r"\bconn-live\b"))


def open_board(page: Any, gw: GatewayProcess, dispatcher: str) -> None:
    """Sign in as ``dispatcher`` and wait for the live board."""
    sign_in(page, gw.base_url, dispatcher, next_path="/")
    assert page.url.rstrip("/") == gw.base_url
    expect_live(page)


# ---- fixtures ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with launch_browser(sync_api) as b:
        yield b


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    with new_page(browser, viewport={"width": 1440, "height": 900}) as pg:
        yield pg


@pytest.fixture
def dispatcher(gateway_server: GatewayProcess) -> str:
    return create_user(gateway_server, unique("duty"), "dispatcher", display_name="值班员小刘")


# ---- tests ---------------------------------------------------------------------------------


def test_the_board_sends_strangers_to_sign_in_and_back(gateway_server: GatewayProcess, page: Any,
                                                       dispatcher: str) -> None:
    base_url = gateway_server.base_url
    page.goto(f"{base_url}/")
    expect(page).to_have_url(re.compile(r"/login\.html\?next=%2F$"))
    expect(page.locator("#login-info")).to_be_visible()  # "please sign in first"

    # A wrong password is refused in plain words, and the page stays.
    page.fill("#login-name", dispatcher)
    page.fill("#login-password", "not-the-password")
    page.click("#login-submit")
    expect(page.locator("#login-error")).to_have_text("用户名或密码错误。")
    expect(page).to_have_url(re.compile(r"/login\.html"))

    # The right one leads back to the board, signed in.
    page.fill("#login-password", "correct-horse-battery")
    page.click("#login-submit")
    expect(page).to_have_url(f"{base_url}/")
    expect_live(page)
    expect(page.locator("#user-text")).to_have_text("值班员小刘 · 值班员")

    # Signing out ends the session: the board is out of reach again.
    page.click("#sign-out")
    expect(page).to_have_url(re.compile(r"/login\.html"))
    page.goto(f"{base_url}/")
    expect(page).to_have_url(re.compile(r"/login\.html\?next=%2F$"))


def test_sign_in_is_throttled_and_never_leaves_the_site(gateway_server: GatewayProcess, page: Any) -> None:
    base_url = gateway_server.base_url
    name = create_user(gateway_server, unique("duty"), "dispatcher")
    page.goto(f"{base_url}/login.html?next=//evil.example/steal")
    page.fill("#login-name", name)
    for _ in range(5):
        page.fill("#login-password", "wrong-password")
        page.click("#login-submit")
        expect(page.locator("#login-error")).to_have_text("用户名或密码错误。")
        page.evaluate("document.getElementById('login-error').textContent = ''")
    page.fill("#login-password", "wrong-password")
    page.click("#login-submit")
    expect(page.locator("#login-error")).to_have_text(re.compile("登录失败次数过多"))

    # Another user signs in; "//evil.example" is not a path on this site, so the board it is.
    other = create_user(gateway_server, unique("duty"), "dispatcher")
    page.fill("#login-name", other)
    page.fill("#login-password", "correct-horse-battery")
    page.click("#login-submit")
    expect(page).to_have_url(f"{base_url}/")


def test_live_sos_is_escaped_acknowledged_and_translated(gateway_server: GatewayProcess, page: Any,
                                                         dispatcher: str) -> None:
    suffix = uuid.uuid4().hex[:8]
    device_id = f"elder-{suffix}-sos"
    resident = "<b>王</b>秀英 & <script>window.__pwned = 1</script>"
    address = '3栋2单元101 <img src=x onerror="window.__pwned = 2">'
    register_device(
        gateway_server,
        device_id=device_id,
        model="TS0215A_sos",
        kind="sos",
        resident=resident,
        address=address,
        grid="G1",
    )

    open_board(page, gateway_server, dispatcher)
    expect(page).to_have_title(re.compile("社物共治 · 值班看板"))
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
    # The escalation ladder: the step reached (if any) and the next one with its time, in words.
    order_id = int(card.get_attribute("data-order-id"))
    expect_ladder(card, gateway_server.get(f"/api/orders/{order_id}"))
    expect(card.locator("[data-role=ladder-next]")).to_have_attribute("data-step", "ack_overdue")
    expect(card.locator("[data-role=ladder-next]")).to_have_text(re.compile(r"^下一级：确认超时·通知值班组 "))

    # User-provided text is shown as text: no element or script made from it.
    expect(card.locator("[data-role=resident]")).to_have_text(resident)
    expect(card.locator("[data-role=address]")).to_have_text(address)
    assert card.locator("b, script, img").count() == 0
    assert page.evaluate("window.__pwned") is None

    # Acknowledge: the card changes in place, and the server recorded who did it (the signed-in
    # dispatcher: the page sends no name).
    card.locator("button[data-action=ack]").click()
    expect(card.locator("[data-role=status]")).to_have_text("已确认")
    expect(card).to_have_attribute("data-status", "acknowledged")
    expect(card.locator("button[data-action=ack]")).to_have_count(0)
    expect(card.locator("[data-role=ack-countdown]")).to_be_hidden()
    order = gateway_server.get(f"/api/orders/{order_id}")
    expect_ladder(card, order)
    assert order["status"] == "acknowledged"
    assert [e["actor"] for e in order["timeline"] if e["action"] == "ack"] == [dispatcher]

    # A repeat press is counted on the same order, live.
    publish_z2m(gateway_server.mqtt_url, device_id, sos_state())
    expect(card.locator("[data-role=repeats]")).to_have_text("×2")
    expect(card_for(page, device_id)).to_have_count(1)

    # English: statuses, kinds, buttons, ladder steps and header labels all change; the data does not.
    page.click("#lang-toggle")
    expect(card.locator("[data-role=status]")).to_have_text("Acknowledged")
    expect(card.locator(".kind-label")).to_have_text("SOS")
    expect(card.locator("button[data-action=dispatch]")).to_have_text("Dispatch")
    expect(card.locator("[data-role=ladder-next]")).to_have_text(re.compile(r"^Next: \w"))
    expect(page.locator("#sum-breached .sum-key")).to_have_text("Breached")
    expect(page.locator("#sign-out")).to_have_text("Sign out")
    expect(page.locator("#user-text")).to_have_text("值班员小刘 · Dispatcher")
    expect(page.locator("#lang-toggle")).to_have_text("中文")
    expect(page).to_have_title(re.compile("Shewu on-call board"))
    expect(card.locator("[data-role=resident]")).to_have_text(resident)
    assert page.evaluate("document.documentElement.lang") == "en"

    # The choice is remembered across a reload, and the snapshot brings the order back.
    page.reload()
    expect_live(page)
    expect(card_for(page, device_id).locator("[data-role=status]")).to_have_text("Acknowledged")


def test_cancel_needs_a_reason_and_takes_the_order_off_the_board(gateway_server: GatewayProcess, page: Any,
                                                                 dispatcher: str) -> None:
    device_id = f"elder-{uuid.uuid4().hex[:8]}-sos"
    register_device(
        gateway_server,
        device_id=device_id,
        model="TS0215A_sos",
        kind="sos",
        resident="赵淑芬",
        address="7栋1单元502",
        grid="G2",
    )
    open_board(page, gateway_server, dispatcher)
    publish_z2m(gateway_server.mqtt_url, device_id, sos_state())
    card = card_for(page, device_id)
    expect(card).to_have_count(1)
    order_id = int(card.get_attribute("data-order-id"))

    card.locator("button[data-action=cancel]").click()
    dialog = page.locator("#action-dialog")
    expect(dialog).to_be_visible()
    expect(page.locator("#field-technician")).to_be_hidden()
    page.click("#dialog-submit")
    expect(page.locator("#dialog-error")).not_to_be_empty()  # the reason is required
    page.fill("#input-reason", "误报，已电话确认老人安全")
    page.click("#dialog-submit")
    expect(dialog).not_to_be_visible()
    expect(card).to_have_count(0)
    order = gateway_server.get(f"/api/orders/{order_id}")
    assert (order["status"], order["cancel_reason"]) == ("cancelled", "误报，已电话确认老人安全")
    assert [e["actor"] for e in order["timeline"] if e["action"] == "cancel"] == [dispatcher]


def test_dispatch_picks_a_technician_from_the_proposals(gateway_server: GatewayProcess, page: Any,
                                                        dispatcher: str) -> None:
    gw = gateway_server
    carer = create_user(gw, unique("carer"), "technician", display_name="李师傅", skills=["elderly_care"],
                        grid="G1", phone="13800000001")
    plumber = create_user(gw, unique("plumber"), "technician", display_name="王师傅", skills=["plumbing"],
                          status="busy")
    device_id = f"elder-{uuid.uuid4().hex[:8]}-sos"
    register_device(gw, device_id=device_id, model="TS0215A_sos", kind="sos", resident="孙桂芝",
                    address="4栋1单元201", grid="G1")
    open_board(page, gw, dispatcher)
    publish_z2m(gw.mqtt_url, device_id, sos_state())
    card = card_for(page, device_id)
    expect(card).to_have_count(1)
    order_id = int(card.get_attribute("data-order-id"))

    # The picker: the proposal first, marked as such (same grid, nobody's load yet), then the
    # other technicians with their status and load. Nothing to type.
    card.locator("button[data-action=dispatch]").click()
    picker = page.locator("#picker")
    proposed = picker.locator("[data-group=proposed] label.pick")
    expect(proposed).to_have_count(1)
    expect(proposed.first).to_have_attribute("data-name", carer)
    expect(proposed.first.locator(".tag-proposed")).to_have_text("推荐")
    expect(proposed.first.locator(".pick-name")).to_have_text("李师傅")
    expect(proposed.first.locator(".tag-near")).to_have_text("同网格")
    expect(proposed.first.locator("input")).to_be_checked()  # the best proposal is pre-selected
    other = picker.locator(f"[data-group=others] label.pick[data-name='{plumber}']")
    expect(other).to_have_count(1)
    expect(other.locator(".tag-status")).to_have_text("忙碌")
    expect(other.locator(".tag-load")).to_have_text("在办 0")
    expect(other.locator(".tag-proposed")).to_have_count(0)
    assert picker.locator("input[type=text]").count() == 0

    page.fill("#input-note", "请带上血压计")
    page.click("#dialog-submit")
    expect(page.locator("#action-dialog")).not_to_be_visible()
    expect(card).to_have_attribute("data-status", "dispatched")
    expect(card.locator("[data-role=status]")).to_have_text("已派单")
    expect(card.locator("[data-role=assignee]")).to_have_text(f"李师傅 ({carer})")
    expect(card.locator("button[data-action=dispatch]")).to_have_text("改派")
    order = gw.get(f"/api/orders/{order_id}")
    assert (order["status"], order["assignee"]) == ("dispatched", carer)
    dispatch = [e for e in order["timeline"] if e["action"] == "dispatch"]
    assert [(e["actor"], e["note"]) for e in dispatch] == [(dispatcher, "请带上血压计")]

    # Reassign: now the carer is the current one, and the plumber can be chosen instead.
    card.locator("button[data-action=dispatch]").click()
    expect(page.locator("#dialog-title")).to_have_text(re.compile("^改派："))
    current = picker.locator(f"label.pick[data-name='{carer}']")
    expect(current.locator(".tag-current")).to_have_text("当前处理人")
    expect(current.locator(".tag-load")).to_have_text("在办 1")
    picker.locator(f"label.pick[data-name='{plumber}']").click()
    page.click("#dialog-submit")
    expect(card.locator("[data-role=assignee]")).to_have_text(f"王师傅 ({plumber})")
    assert gw.get(f"/api/orders/{order_id}")["assignee"] == plumber


def put_round_the_clock_rota(gw: GatewayProcess, dispatchers: list[str], leaders: list[str]) -> bool:
    """Everyone named on duty all week, all day. False where the rota API is not there."""
    shifts = [{"weekday": day, "start": "00:00", "end": "24:00", "user": user, "duty": duty}
              for day in range(7)
              for duty, users in (("dispatcher", dispatchers), ("leader", leaders))
              for user in users]
    response = httpx.put(f"{gw.base_url}/api/rota/weekly", json={"shifts": shifts}, headers=gw.headers, timeout=10)
    if response.status_code in (404, 405):
        return False
    assert response.status_code == 200, response.text
    return True


def test_the_on_call_panel_shows_who_is_on_duty(gateway_server: GatewayProcess, page: Any, dispatcher: str) -> None:
    gw = gateway_server
    has_rota = put_round_the_clock_rota(gw, [dispatcher], [])
    answer = httpx.get(f"{gw.base_url}/api/oncall", headers=gw.headers, timeout=10)
    open_board(page, gw, dispatcher)
    panel = page.locator("#oncall")
    expect(panel).to_be_visible()
    expect(page.locator("#oncall-title")).to_have_text("当前值班")
    if answer.status_code != 200:
        # No rota API (yet): the panel says so instead of failing.
        assert not has_rota
        expect(panel).to_have_attribute("data-state", "unavailable")
        expect(panel.locator("[data-role=oncall-unavailable]")).to_have_text("值班表暂不可用")
        return
    rota = answer.json()
    assert has_rota and [p["user"] for p in rota["dispatchers"]] == [dispatcher], rota
    expect(panel).to_have_attribute("data-state", "rota")
    person = panel.locator(f"[data-group=dispatcher] [data-user='{dispatcher}']")
    expect(person).to_have_text("值班员小刘")
    # Nobody leads the shift: said loudly.
    assert rota["leader_missing"] is True
    expect(panel.locator("[data-role=leader-none]")).to_have_text("无值班领导")
    expect(panel).to_have_class(re.compile(r"\bleader-missing\b"))

    # The rota changes: the panel follows on its next refresh (every minute; here, on reconnect).
    leader = create_user(gw, unique("lead"), "dispatcher", display_name="张书记", phone="13700000003")
    put_round_the_clock_rota(gw, [dispatcher], [leader])
    page.evaluate("window.ShewuBoard.reconnect()")
    expect(panel.locator(f"[data-group=leader] [data-user='{leader}']")).to_have_text("张书记")
    expect(panel.locator("[data-group=leader] .oncall-phone")).to_have_text("13700000003")
    expect(panel.locator("[data-role=leader-none]")).to_have_count(0)


def test_a_technician_on_the_board_is_sent_to_their_own_page(gateway_server: GatewayProcess, page: Any) -> None:
    tech = create_user(gateway_server, unique("tech"), "technician", skills=["plumbing"])
    sign_in(page, gateway_server.base_url, tech, next_path="/")
    expect(page).to_have_url(re.compile(r"/tech\.html$"))


def test_a_resident_goes_to_the_request_page_not_the_board(gateway_server: GatewayProcess, page: Any) -> None:
    resident = create_user(gateway_server, unique("granny"), "resident")
    page.goto(f"{gateway_server.base_url}/login.html?next=/")
    page.fill("#login-name", resident)
    page.fill("#login-password", "correct-horse-battery")
    page.click("#login-submit")
    expect(page).to_have_url(f"{gateway_server.base_url}/request.html")
    # Going to the board anyway: no orders, a plain refusal with a way back, no redirect loop.
    page.goto(f"{gateway_server.base_url}/")
    expect(page.locator("#forbidden-text")).to_have_text("您的账号（居民）不能查看值班看板。")
    expect(page.locator("#forbidden-link")).to_have_attribute("href", "/request.html")
    expect(page).to_have_url(f"{gateway_server.base_url}/")


@pytest.mark.skipif(not os.environ.get("SHEWU_BOARD_SCREENSHOT"), reason="SHEWU_BOARD_SCREENSHOT is not set")
def test_screenshot_for_the_readme(gateway_server: GatewayProcess, browser: Any) -> None:
    """A board with orders in several states (normal, at risk, breached), saved for the README.

    The at-risk and breached ones come from native-topic events whose device time lies 12 and
    17 minutes back: the gateway opens orders at the device's time.
    """
    gw = gateway_server
    mqtt_url = gw.mqtt_url
    tag = uuid.uuid4().hex[:4]
    now = datetime.now(UTC)
    dispatcher = create_user(gw, "xiaoliu", "dispatcher", display_name="值班员小刘")
    create_user(gw, "li", "technician", display_name="李师傅", skills=["elderly_care"], grid="G2")
    create_user(gw, "zhang", "technician", display_name="张师傅", skills=["plumbing"], grid="G3")
    create_user(gw, "zhou", "dispatcher", display_name="周书记", phone="13700000003")
    put_round_the_clock_rota(gw, [dispatcher], ["zhou"])
    # (device id, model, kind, resident, address, grid, how it is published)
    devices: list[tuple[str, str, str, str, str, str, Callable[[str], None]]] = [
        (f"elder-101-sos-{tag}", "TS0215A_sos", "sos", "王秀英", "3栋2单元101", "G1",
         lambda d: publish_z2m(mqtt_url, d, sos_state())),
        (f"elder-302-fall-{tag}", "SW-FALL-1", "fall", "李建国", "5栋1单元302", "G2",
         lambda d: publish_native(mqtt_url, d, "fall", now - timedelta(minutes=12))),
        (f"elder-505-sos-{tag}", "SW-SOS-1", "sos", "周玉珍", "8栋1单元505", "G3",
         lambda d: publish_native(mqtt_url, d, "sos", now - timedelta(minutes=17, seconds=20))),
        (f"leak-601-kitchen-{tag}", "SJCGQ11LM", "leak", "张桂兰", "2栋3单元601 厨房", "G3",
         lambda d: publish_z2m(mqtt_url, d, leak_state())),
        (f"elder-202-sos-{tag}", "TS0215A_sos", "sos", "陈志明", "1栋1单元202", "G1",
         lambda d: publish_z2m(mqtt_url, d, {"battery_low": True, "battery": 6, "linkquality": 70})),
    ]
    for device_id, model, kind, resident, address, grid, _ in devices:
        register_device(gw, device_id=device_id, model=model, kind=kind, resident=resident, address=address,
                        grid=grid)

    with new_page(browser, viewport={"width": 1600, "height": 1000}, device_scale_factor=1,
                  timezone_id="Asia/Shanghai", locale="zh-CN") as pg:
        open_board(pg, gw, dispatcher)
        for device_id, *_, publish in devices:
            publish(device_id)
            expect(card_for(pg, device_id)).to_have_count(1)
        devices[0][6](devices[0][0])  # a repeated press: ×2
        expect(card_for(pg, devices[0][0]).locator("[data-role=repeats]")).to_have_text("×2")

        fall = card_for(pg, devices[1][0])
        fall.locator("button[data-action=dispatch]").click()
        expect(pg.locator("#picker [data-group=proposed] label.pick[data-name=li] input")).to_be_checked()
        pg.click("#dialog-submit")
        expect(fall).to_have_attribute("data-status", "dispatched")
        expect(fall).to_have_class(re.compile(r"\blevel-risk\b"))
        late = card_for(pg, devices[2][0])
        late.locator("button[data-action=ack]").click()
        expect(late).to_have_attribute("data-status", "acknowledged")
        expect(late).to_have_class(re.compile(r"\blevel-breached\b"))
        expect(late.locator("[data-role=countdown]")).to_have_text(re.compile(r"^\+02:\d\d 超时$"))
        leak = wait_until(lambda: active_order_for(gw, devices[3][0]), what="the leak ticket")
        assert gw.post(f"/api/orders/{leak['id']}/dispatch", {"technician": "zhang"}).status_code == 200
        expect(card_for(pg, devices[3][0])).to_have_attribute("data-status", "dispatched")

        pg.wait_for_timeout(4500)  # let the confirmations fade
        pg.evaluate("document.querySelectorAll('.msg').forEach(m => m.remove()); window.scrollTo(0, 0)")
        out = Path(os.environ["SHEWU_BOARD_SCREENSHOT"])
        out.parent.mkdir(parents=True, exist_ok=True)
        pg.screenshot(path=str(out), full_page=False, animations="disabled")
