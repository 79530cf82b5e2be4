"""Residents' requests (dashboard/static/request.html) in headless Chromium, against a real
gateway (real process, real Mosquitto, SQLite), with the on-call board and the technician's page.

The issue's test: a request filed on the phone page appears in the dispatcher's list, and the
resident's confirmation closes it. A resident signs in (and lands on request.html), picks
"plumbing", describes the leak, picks a time and adds a photo (a wrong file first: refused in
plain words); the answer names the order; the dispatcher's board, open in another browser,
shows it without a reload, with what was asked. It is dispatched, worked and resolved through
the API; the resident's page (polling every 15 s) shows it resolved; five stars close it, and the
board lets it go.

Also: a second filing of the same kind is linked to the open order (and the page says so), "not
fixed yet" reopens it; a grid worker files for a resident of their grid; a technician hands a
request to a third party and resumes it, and the board shows whom it waits for.
"""

from __future__ import annotations

import os
import re
import struct
import uuid
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.browser_helpers import (
    CHROMIUM,
    PHONE,
    create_user,
    headers_for,
    launch_browser,
    new_page,
    sign_in,
    unique,
)
from tests.gateway_process import GatewayProcess

pytestmark = [
    pytest.mark.browser,
    pytest.mark.integration,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="no headless Chromium at /usr/bin/chromium"),
]

sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect

POLL_WAIT_MS = 25_000  # the page reads the list every 15 s


# ---- helpers -------------------------------------------------------------------------------


def tiny_png() -> bytes:
    """A valid 1×1 PNG."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00\x2a\x7f\xd4")) + \
        chunk(b"IEND", b"")


def add_home(gw: GatewayProcess, home_id: str, *, address: str, grid: str, resident: str) -> str:
    from gateway.storage.db import create_schema, make_engine, session
    from gateway.storage.models import Home

    engine = make_engine(gw.db_url)
    try:
        create_schema(engine)
        with session(engine) as s:
            s.add(Home(home_id=home_id, address=address, grid=grid, resident=resident))
            s.commit()
    finally:
        engine.dispose()
    return home_id


def add_resident(gw: GatewayProcess, home_id: str, display_name: str) -> str:
    """A resident with a password, linked to ``home_id`` (User.home_id)."""
    from gateway.storage.db import make_engine, session
    from gateway.storage.models import User

    name = create_user(gw, unique("resident"), "resident", display_name=display_name)
    engine = make_engine(gw.db_url)
    try:
        with session(engine) as s:
            user = s.get(User, name)
            assert user is not None
            user.home_id = home_id
            s.add(user)
            s.commit()
    finally:
        engine.dispose()
    return name


def act(gw: GatewayProcess, order_id: int, action: str, body: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None) -> dict[str, Any]:
    """An order action through the API, as the tests' admin (or as ``headers`` say)."""
    r = httpx.post(f"{gw.base_url}/api/orders/{order_id}/{action}", json=body or {}, headers=headers or gw.headers,
                   timeout=10)
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def request_card(page: Any, order_id: int) -> Any:
    return page.locator(f"li.rcard[data-order-id='{order_id}']")


def board_card(page: Any, order_id: int) -> Any:
    return page.locator(f"li.card[data-order-id='{order_id}']")


def open_board(page: Any, gw: GatewayProcess, dispatcher: str) -> None:
    sign_in(page, gw.base_url, dispatcher, next_path="/")
    assert page.url.rstrip("/") == gw.base_url
    expect(page.locator("#conn-state")).to_have_class(re.compile(r"\bconn-live\b"))


def open_request_page(page: Any, gw: GatewayProcess, name: str) -> None:
    """Sign in with no ?next=: a resident lands on request.html; others are sent there."""
    sign_in(page, gw.base_url, name, next_path="/request.html")
    expect(page).to_have_url(f"{gw.base_url}/request.html")
    expect(page.locator("label.category[data-code=repair_plumbing]")).to_be_visible()


def file_on_page(page: Any, category: str, description: str, when: str = "any") -> int:
    """Fill in the form and send it; answers the order number the answer names."""
    page.locator(f"label.category[data-code={category}]").click()
    page.fill("#description", description)
    page.locator(f"label.choice:has(input[name=when][value={when}])").click()
    page.click("#submit")
    answer = page.locator("#answer")
    expect(answer).to_be_visible()
    order_id = int(answer.get_attribute("data-order-id") or 0)
    assert order_id > 0
    return order_id


# ---- fixtures ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with launch_browser(sync_api) as b:
        yield b


@pytest.fixture
def gw(gateway_factory: Callable[..., GatewayProcess], tmp_path: Path) -> GatewayProcess:
    """A gateway whose photos go to this test's temporary directory."""
    return gateway_factory(env={"SHEWU_PHOTO_DIR": str(tmp_path / "photos")}).start()


@pytest.fixture
def phone(browser: Any) -> Iterator[Any]:
    with new_page(browser, viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True,
                  timezone_id="Asia/Shanghai", locale="zh-CN") as pg:
        yield pg


@pytest.fixture
def desk(browser: Any) -> Iterator[Any]:
    with new_page(browser, viewport={"width": 1440, "height": 900}, timezone_id="Asia/Shanghai") as pg:
        yield pg


@pytest.fixture
def home(gw: GatewayProcess) -> str:
    return add_home(gw, f"3-2-{uuid.uuid4().hex[:4]}", address="3栋2单元101", grid="G1", resident="王秀英")


@pytest.fixture
def granny(gw: GatewayProcess, home: str) -> str:
    return add_resident(gw, home, "王秀英")


@pytest.fixture
def dispatcher(gw: GatewayProcess) -> str:
    return create_user(gw, unique("duty"), "dispatcher", display_name="值班员小刘")


@pytest.fixture
def plumber(gw: GatewayProcess) -> str:
    return create_user(gw, unique("plumber"), "technician", display_name="王师傅", skills=["plumbing"], grid="G1")


# ---- tests ---------------------------------------------------------------------------------


def test_a_request_filed_on_the_phone_reaches_the_board_and_the_residents_confirmation_closes_it(
        gw: GatewayProcess, phone: Any, desk: Any, granny: str, dispatcher: str, plumber: str) -> None:
    # The dispatcher's board is open, live.
    open_board(desk, gw, dispatcher)
    desk.evaluate("window.__sameDocument = true")  # a reload would lose this

    # The resident signs in and lands on the requests page (no ?next=).
    sign_in(phone, gw.base_url, granny)
    expect(phone).to_have_url(f"{gw.base_url}/request.html")
    expect(phone.locator("#who")).to_have_text("王秀英 · 居民")
    expect(phone.locator("#list-heading")).to_have_text("我的报事")
    expect(phone.locator("#home-step")).to_be_hidden()  # a resident files for their own home
    plumbing = phone.locator("label.category[data-code=repair_plumbing]")
    expect(plumbing).to_have_text("维修·水管")
    expect(phone.locator("label.category")).to_have_count(8)
    expect(phone.locator("#list-empty")).to_have_text("还没有报过事。")

    # Big targets that fit the phone.
    box = phone.locator("#submit").bounding_box()
    assert box is not None and box["height"] >= 56 and box["x"] + box["width"] <= PHONE["width"]
    box = plumbing.bounding_box()
    assert box is not None and box["height"] >= 56

    # Sending without a category or words: said plainly.
    phone.click("#submit")
    expect(phone.locator("#form-error")).to_have_text("请选择需要什么服务。")
    plumbing.click()
    phone.click("#submit")
    expect(phone.locator("#form-error")).to_have_text("请说说是什么情况。")

    # A photo: a file that is not a photo is refused in plain words (by the page, and by the
    # server for a file that only claims to be a PNG); a real PNG is uploaded and shown.
    phone.set_input_files("#photo-input", files=[{"name": "note.txt", "mimeType": "text/plain", "buffer": b"hello"}])
    expect(phone.locator("#photo-status")).to_have_text("只能上传照片（JPG、PNG 或 WebP 格式）。")
    expect(phone.locator("#photo-preview")).to_be_hidden()
    phone.set_input_files("#photo-input", files=[{"name": "fake.png", "mimeType": "image/png",
                                                   "buffer": b"<svg onload=alert(1)>"}])
    expect(phone.locator("#photo-status")).to_have_text("只能上传照片（JPG、PNG 或 WebP 格式）。")
    expect(phone.locator("#photo-preview")).to_be_hidden()
    phone.set_input_files("#photo-input", files=[{"name": "leak.png", "mimeType": "image/png", "buffer": tiny_png()}])
    expect(phone.locator("#photo-status")).to_have_text("照片已上传。")
    expect(phone.locator("#photo-preview")).to_be_visible()
    expect(phone.locator("#photo-thumb")).to_have_attribute("src", re.compile(r"^blob:"))

    order_id = file_on_page(phone, "repair_plumbing", "厨房水龙头一直滴水", when="afternoon")
    expect(phone.locator("#answer-title")).to_have_text(f"已提交，工单号 #{order_id}")
    expect(phone.locator("#answer-text")).to_have_text(re.compile(f"^已受理，工单 #{order_id}，维修·水管"))
    expect(phone.locator("#request-form")).to_be_hidden()

    # The resident's list: the request, in plain words, with the photo.
    mine = request_card(phone, order_id)
    expect(mine).to_have_attribute("data-status", "new")
    expect(mine.locator("[data-role=status]")).to_have_text("已收到，正在安排")
    expect(mine.locator("[data-role=category]")).to_have_text("维修·水管")
    expect(mine.locator("[data-role=description]")).to_have_text("厨房水龙头一直滴水")
    expect(mine.locator("[data-role=preferred]")).to_have_text(re.compile(r"^今天下午 \d\d-\d\d$"))
    expect(mine.locator(".rcard-photo img")).to_have_count(1)
    expect(mine.locator("button[data-action]")).to_have_count(0)  # nothing to confirm yet

    # What the API recorded.
    [filed] = [q for q in gw.get("/api/requests") if q["order_id"] == order_id]
    assert (filed["category"], filed["description"], filed["filed_by"]) == \
        ("repair_plumbing", "厨房水龙头一直滴水", granny)
    assert filed["photo"] and filed["preferred_time"].startswith("今天下午")

    # The dispatcher's board shows it without a reload: what, for whom, what was asked.
    card = board_card(desk, order_id)
    expect(card).to_have_count(1)
    assert desk.evaluate("window.__sameDocument") is True
    expect(card).to_have_attribute("data-category", "request")
    expect(card.locator(".kind-label")).to_have_text("维修·水管")
    expect(card.locator("[data-role=category]")).to_have_text("居民点单")
    expect(card.locator("[data-role=status]")).to_have_text("待派单")
    expect(card.locator("[data-role=resident]")).to_have_text("王秀英")
    expect(card.locator("[data-role=request-text]")).to_contain_text("厨房水龙头一直滴水")
    expect(card.locator("[data-role=preferred]")).to_contain_text("今天下午")
    expect(card.locator(".request-photo img")).to_have_count(1)
    expect(card.locator("[data-role=device]")).to_have_count(0)
    expect(card.locator("button[data-action=dispatch]")).to_have_text("派单")
    expect(card.locator("button[data-action=cancel]")).to_be_visible()
    expect(card.locator("button[data-action=ack]")).to_have_count(0)  # tickets are not acknowledged

    # Dispatched, worked and resolved (through the API).
    act(gw, order_id, "dispatch", {"technician": plumber})
    expect(card.locator("[data-role=status]")).to_have_text("已派单")
    act(gw, order_id, "arrive")
    act(gw, order_id, "resolve", {"note": "换了阀芯，不漏了"})
    # Done, waiting for the resident: still on the board, quietly, with "close" for the office.
    expect(card.locator("[data-role=status]")).to_have_text("待居民确认")
    expect(card).to_have_class(re.compile(r"\bawaiting\b"))
    expect(card.locator("button[data-action=close]")).to_have_text("关闭")
    expect(card.locator("button[data-action=cancel]")).to_have_count(0)

    # The resident's page finds out on its own (it reads the list every 15 s).
    expect(mine).to_have_attribute("data-status", "resolved", timeout=POLL_WAIT_MS)
    expect(mine.locator("[data-role=status]")).to_have_text("已处理，请您确认")
    expect(phone.locator("#attention")).to_have_text("有 1 件事已处理，等您确认 ↓")  # at the top of the page
    confirm = mine.locator("button[data-action=confirm]")
    expect(confirm).to_have_text("满意，确认")
    expect(mine.locator("button[data-action=reopen]")).to_have_text("还没修好")
    box = confirm.bounding_box()
    assert box is not None and box["height"] >= 56

    # Five stars and a word.
    confirm.click()
    send = mine.locator("button[data-action=confirm-send]")
    send.click()
    expect(mine.locator("[data-role=form-error]")).to_have_text("请点星星打分。")
    mine.locator("label.star").nth(4).click()
    expect(mine.locator("label.star.on")).to_have_count(5)
    mine.locator("textarea[name=comment]").fill("师傅很专业")
    send.click()
    expect(phone.locator(".msg-ok")).to_contain_text(f"谢谢您的评价！工单 #{order_id} 已完成。")
    expect(mine).to_have_attribute("data-status", "closed")
    expect(mine.locator("[data-role=status]")).to_have_text("已完成")
    expect(mine.locator("[data-role=rating]")).to_have_text("★★★★★")
    expect(phone.locator("#attention")).to_be_hidden()

    # Closed, rated, and off the board.
    order = gw.get(f"/api/orders/{order_id}")
    assert order["status"] == "closed"
    assert [(e["action"], e["actor"]) for e in order["timeline"]][-2:] == [("confirm", granny), ("rated", granny)]
    [rated] = [q for q in gw.get("/api/requests") if q["order_id"] == order_id]
    assert (rated["rating"], rated["rating_comment"]) == (5, "师傅很专业")
    expect(card).to_have_count(0)
    assert desk.evaluate("window.__sameDocument") is True

    # And in English.
    phone.click("#lang-toggle")
    expect(mine.locator("[data-role=status]")).to_have_text("Finished")
    expect(mine.locator("[data-role=category]")).to_have_text("Repair: plumbing")
    expect(phone.locator("#list-heading")).to_have_text("My requests")


def test_a_repeat_is_linked_and_not_fixed_reopens_it(gw: GatewayProcess, phone: Any, desk: Any, granny: str,
                                                     dispatcher: str, plumber: str) -> None:
    open_request_page(phone, gw, granny)
    first = file_on_page(phone, "repair_plumbing", "卫生间地漏反水")
    phone.click("#answer-again")
    expect(phone.locator("#request-form")).to_be_visible()
    again = file_on_page(phone, "repair_plumbing", "还在反水，越来越多")
    assert again == first
    expect(phone.locator("#answer")).to_have_class(re.compile(r"\blinked\b"))
    expect(phone.locator("#answer-title")).to_have_text(f"已并入工单 #{first}")
    expect(phone.locator("#answer-text")).to_contain_text(f"#{first}")
    mine = request_card(phone, first)
    expect(mine).to_have_count(1)  # one order, both filings on it
    expect(mine.locator("[data-role=added]")).to_have_text("还在反水，越来越多")

    # The board shows both filings on the one card.
    open_board(desk, gw, dispatcher)
    card = board_card(desk, first)
    expect(card.locator(".request-text")).to_have_count(2)
    expect(card.locator("[data-role=repeats]")).to_have_text("×2")

    act(gw, first, "dispatch", {"technician": plumber})
    act(gw, first, "arrive")
    act(gw, first, "resolve", {"note": "疏通了地漏"})
    phone.click("#refresh")  # no need to wait for the next poll
    expect(mine).to_have_attribute("data-status", "resolved")

    # Not fixed: a reason is needed; then the order is open again, unassigned.
    mine.locator("button[data-action=reopen]").click()
    send = mine.locator("button[data-action=reopen-send]")
    send.click()
    expect(mine.locator("[data-role=form-error]")).to_have_text("请说说哪里还有问题。")
    mine.locator("textarea[name=reason]").fill("晚上又反水了")
    phone.click("#refresh")  # a list read while the form is open keeps what was typed
    expect(mine.locator("textarea[name=reason]")).to_have_value("晚上又反水了")
    send.click()
    expect(phone.locator(".msg-ok")).to_contain_text(f"工单 #{first} 已重新打开")
    expect(mine).to_have_attribute("data-status", "new")
    order = gw.get(f"/api/orders/{first}")
    assert (order["status"], order["assignee"]) == ("new", None)
    assert [e["data"].get("reason") for e in order["timeline"] if e["action"] == "reopen"] == ["晚上又反水了"]
    # The board has it back as a new ticket to dispatch.
    expect(card.locator("[data-role=status]")).to_have_text("待派单")
    expect(card.locator("button[data-action=dispatch]")).to_be_visible()


def test_a_grid_worker_files_for_a_resident_of_their_grid(gw: GatewayProcess, phone: Any, home: str) -> None:
    add_home(gw, f"9-9-{uuid.uuid4().hex[:4]}", address="9栋9单元909", grid="G2", resident="赵大爷")
    worker = create_user(gw, unique("grid"), "grid_worker", display_name="网格员小孙", grid="G1")
    open_request_page(phone, gw, worker)
    expect(phone.locator("#list-heading")).to_have_text("本网格的报事")
    expect(phone.locator("#home-step")).to_be_visible()

    # A home is required; the picker finds it by its id, name or address.
    phone.locator("label.category[data-code=mediation]").click()
    phone.fill("#description", "楼上装修噪音，老人休息不好")
    phone.click("#submit")
    expect(phone.locator("#form-error")).to_have_text("请先填写为哪一户报事。")
    phone.fill("#home-input", home)
    expect(phone.locator("#home-info")).to_have_text("3栋2单元101 · 王秀英")
    phone.click("#submit")
    expect(phone.locator("#answer")).to_be_visible()
    order_id = int(phone.locator("#answer").get_attribute("data-order-id") or 0)
    card = request_card(phone, order_id)
    expect(card.locator("[data-role=home]")).to_have_text("3栋2单元101 · 王秀英")
    expect(card.locator("[data-role=category]")).to_have_text("邻里调解")
    expect(card.locator("[data-role=filed]")).to_contain_text("代报")
    [filed] = [q for q in gw.get("/api/requests") if q["order_id"] == order_id]
    assert (filed["home_id"], filed["on_behalf"], filed["filed_by"]) == (home, True, worker)

    # Grid workers may read the timeline: the card shows its latest note.
    mediator = create_user(gw, unique("staff"), "technician", display_name="调解员老周")
    act(gw, order_id, "dispatch", {"technician": mediator, "note": "明天上午约双方在社区谈"})
    phone.click("#refresh")
    expect(card.locator("[data-role=status]")).to_have_text("已安排师傅")
    expect(card.locator("[data-role=note]")).to_have_text("明天上午约双方在社区谈")


def test_a_technician_hands_a_request_to_a_third_party_and_resumes(gw: GatewayProcess, phone: Any, desk: Any,
                                                                   granny: str, dispatcher: str,
                                                                   plumber: str) -> None:
    resident = headers_for(gw, granny, "resident")
    r = httpx.post(f"{gw.base_url}/api/requests", json={"category": "repair_plumbing", "description": "总水管爆了"},
                   headers=resident, timeout=10)
    assert r.status_code == 201, r.text
    order_id = r.json()["order_id"]
    open_board(desk, gw, dispatcher)
    act(gw, order_id, "dispatch", {"technician": plumber})

    sign_in(phone, gw.base_url, plumber, next_path="/tech.html")
    expect(phone).to_have_url(f"{gw.base_url}/tech.html")
    c = phone.locator(f"li.tcard[data-order-id='{order_id}']")
    expect(c.locator(".kind-label")).to_have_text("维修·水管")
    c.locator("button[data-action=accept]").click()
    expect(c).to_have_attribute("data-status", "accepted")
    expect(c.locator("button[data-action=third_party]")).to_have_text("需要第三方")
    c.locator("button[data-action=arrive]").click()
    expect(c).to_have_attribute("data-status", "on_site")

    # Needs a third party: the party is required; "someone else" needs a name.
    c.locator("button[data-action=third_party]").click()
    sheet = phone.locator("#third-dialog")
    expect(sheet).to_be_visible()
    phone.click("#third-submit")
    expect(phone.locator("#third-error")).to_have_text("请选择需要的第三方。")
    sheet.locator("label.preset", has=phone.locator("input[value=other]")).click()
    phone.click("#third-submit")
    expect(phone.locator("#third-error")).to_have_text("选择“其他单位”时请写明是哪一方。")
    sheet.locator("label.preset", has=phone.locator("input[value=water]")).click()
    phone.fill("#third-name", "96116")
    phone.fill("#third-note", "市政管道问题，需自来水公司关阀")
    phone.click("#third-submit")
    expect(sheet).not_to_be_visible()
    expect(c).to_have_attribute("data-status", "third_party")
    expect(c.locator("[data-role=status]")).to_have_text("等待第三方")
    expect(c.locator("[data-role=party]")).to_have_text("等待：自来水公司 96116")
    order = gw.get(f"/api/orders/{order_id}")
    assert order["status"] == "third_party"
    [entry] = [e for e in order["timeline"] if e["action"] == "third_party"]
    assert (entry["actor"], entry["data"]["party"], entry["note"]) == \
        (plumber, "自来水公司 96116", "市政管道问题，需自来水公司关阀")

    # The board: waiting for whom, the resolution clock running, and the office's buttons.
    card = board_card(desk, order_id)
    expect(card.locator("[data-role=status]")).to_have_text("等待第三方")
    expect(card.locator("[data-role=party]")).to_have_text("自来水公司 96116")
    expect(card.locator(".clock-label")).to_have_text(re.compile("^处理"))
    expect(card.locator("button[data-action=resume]")).to_have_text("继续处理")
    expect(card.locator("button[data-action=resolve]")).to_be_visible()

    # The third party is done: back on site, then done.
    c.locator("button[data-action=resume]").click()
    expect(c).to_have_attribute("data-status", "on_site")
    expect(card.locator("[data-role=status]")).to_have_text("已到场")
    assert gw.get(f"/api/orders/{order_id}")["status"] == "on_site"


def test_the_office_closes_a_request_the_resident_did_not_confirm(gw: GatewayProcess, desk: Any, granny: str,
                                                                 dispatcher: str, plumber: str) -> None:
    resident = headers_for(gw, granny, "resident")
    r = httpx.post(f"{gw.base_url}/api/requests", json={"category": "cleaning", "description": "楼道堆满杂物"},
                   headers=resident, timeout=10)
    assert r.status_code == 201, r.text
    order_id = r.json()["order_id"]
    for action, body in (("dispatch", {"technician": plumber}), ("arrive", {}), ("resolve", {"note": "已清理"})):
        act(gw, order_id, action, body)
    # Resolved before the board opened: not in the live snapshot (active orders only), read apart.
    open_board(desk, gw, dispatcher)
    card = board_card(desk, order_id)
    expect(card.locator("[data-role=status]")).to_have_text("待居民确认")
    expect(desk.locator("#count-P3")).to_have_text("0")  # done: not counted as open work
    card.locator("button[data-action=close]").click()
    expect(desk.locator("#dialog-title")).to_have_text(re.compile("^关闭工单：#"))
    expect(desk.locator("#dialog-hint")).to_have_text("居民尚未确认；关闭后居民不能再评价。")
    expect(desk.locator("#dialog-close")).to_have_text("返回")
    expect(desk.locator("#field-reason")).to_be_hidden()
    desk.fill("#input-note", "居民电话确认已清理干净")
    desk.click("#dialog-submit")
    expect(card).to_have_count(0)
    order = gw.get(f"/api/orders/{order_id}")
    assert order["status"] == "closed"
    assert [(e["actor"], e["note"]) for e in order["timeline"] if e["action"] == "close"] == \
        [(dispatcher, "居民电话确认已清理干净")]


def test_a_resident_is_sent_to_the_requests_page_whatever_next_says(gw: GatewayProcess, desk: Any) -> None:
    stranger = create_user(gw, unique("granny"), "resident")  # no home linked yet
    desk.goto(f"{gw.base_url}/login.html?next=/")
    desk.fill("#login-name", stranger)
    desk.fill("#login-password", "correct-horse-battery")
    desk.click("#login-submit")
    expect(desk).to_have_url(f"{gw.base_url}/request.html")
    # Not linked to a home: filing says so plainly.
    desk.locator("label.category[data-code=cleaning]").click()
    desk.fill("#description", "楼道灯不亮")
    desk.click("#submit")
    expect(desk.locator("#form-error")).to_have_text("您的账号还没有绑定住址，请联系社区办公室。")
    # The board, anyway: a plain refusal with the way to their page, and no redirect loop.
    desk.goto(f"{gw.base_url}/")
    expect(desk.locator("#forbidden-text")).to_have_text("您的账号（居民）不能查看值班看板。")
    expect(desk.locator("#forbidden-link")).to_have_attribute("href", "/request.html")
    expect(desk).to_have_url(f"{gw.base_url}/")


def test_the_board_labels_new_kinds_in_english(gw: GatewayProcess, desk: Any, granny: str, dispatcher: str) -> None:
    resident = headers_for(gw, granny, "resident")
    r = httpx.post(f"{gw.base_url}/api/requests", json={"category": "elderly_care", "description": "需要助浴"},
                   headers=resident, timeout=10)
    assert r.status_code == 201, r.text
    order_id = r.json()["order_id"]
    open_board(desk, gw, dispatcher)
    desk.click("#lang-toggle")
    card = board_card(desk, order_id)
    expect(card.locator(".kind-label")).to_have_text("Elderly care")
    expect(card.locator("[data-role=category]")).to_have_text("Resident request")
    expect(card.locator("[data-role=status]")).to_have_text("New")
    # Cancelling asks for a reason, and takes it off the board.
    card.locator("button[data-action=cancel]").click()
    desk.fill("#input-reason", "duplicate of a phone call")
    desk.click("#dialog-submit")
    expect(card).to_have_count(0)
    assert gw.get(f"/api/orders/{order_id}")["status"] == "cancelled"


@pytest.mark.skipif(not os.environ.get("SHEWU_REQUEST_SCREENSHOT"), reason="SHEWU_REQUEST_SCREENSHOT is not set")
def test_screenshot_for_the_readme(gw: GatewayProcess, browser: Any, granny: str, plumber: str) -> None:
    """The phone page with a request waiting for confirmation and one on its way, saved for the README
    (and the board with them, next to it: ``<name>-board.png``)."""
    resident = headers_for(gw, granny, "resident")

    def filed(category: str, description: str, when: str) -> int:
        r = httpx.post(f"{gw.base_url}/api/requests", json={"category": category, "description": description,
                                                            "preferred_time": when}, headers=resident, timeout=10)
        assert r.status_code == 201, r.text
        return r.json()["order_id"]  # type: ignore[no-any-return]

    done = filed("repair_plumbing", "厨房水龙头一直滴水", "今天下午")
    for action, body in (("dispatch", {"technician": plumber}), ("arrive", {}), ("resolve", {"note": "换了阀芯"})):
        act(gw, done, action, body)
    going = filed("repair_door_lock", "防盗门锁芯转不动，钥匙拔不出来", "明天上午")
    act(gw, going, "dispatch", {"technician": plumber})
    out = Path(os.environ["SHEWU_REQUEST_SCREENSHOT"])
    out.parent.mkdir(parents=True, exist_ok=True)
    with new_page(browser, viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True,
                  timezone_id="Asia/Shanghai", locale="zh-CN") as pg:
        open_request_page(pg, gw, granny)
        expect(request_card(pg, done)).to_have_attribute("data-status", "resolved")
        pg.locator("label.category[data-code=repair_plumbing]").click()
        pg.fill("#description", "阳台下水管漏水")
        pg.screenshot(path=str(out), full_page=True, animations="disabled")
    dispatcher = create_user(gw, unique("duty"), "dispatcher", display_name="值班员小刘")
    with new_page(browser, viewport={"width": 1440, "height": 900}, timezone_id="Asia/Shanghai") as pg:
        open_board(pg, gw, dispatcher)
        expect(board_card(pg, done)).to_have_count(1)
        expect(board_card(pg, going).locator("[data-role=request-text]")).to_have_count(1)
        pg.screenshot(path=str(out.with_name(out.stem + "-board.png")), full_page=False, animations="disabled")
