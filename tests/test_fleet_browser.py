"""The fleet page (dashboard/static/fleet.html) in headless Chromium, against the gateway's app
served by uvicorn in this process with an injected clock (no broker needed: devices are heard
and supervised through the same services ingest and the scheduler use).

A stranger is sent to sign in and back; the page lists the devices with their states (ok,
offline, tamper, low battery), last seen as "x 分钟前", battery and link quality, shows text
from the registry as text, filters by state, and the detail panel draws the battery history
of a device that has one, with its open orders; then the page switches to English."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from device_adapters.events import DeviceEvent, EventKind
from gateway.app import create_app
from gateway.broker import free_port
from gateway.config import Settings
from gateway.services.accounts import create_user
from gateway.services.events import apply_events
from gateway.services.supervision import poll
from gateway.storage.db import session
from tests.accounts import bearer, user_token
from tests.browser_helpers import CHROMIUM, PASSWORD, launch_browser, new_page, sign_in
from tests.test_fleet_api import FakeClock, with_fleet_routes

pytestmark = [
    pytest.mark.browser,
    pytest.mark.integration,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="no headless Chromium at /usr/bin/chromium"),
]

sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect

T0 = datetime(2026, 11, 28, 4, 0, tzinfo=UTC)
SOS = "home/3-2-101/sos"
RESIDENT = '<img src=x onerror="window.pwned=1">王秀英'


class Server:
    def __init__(self, tmp_path: Path) -> None:
        self.clock = FakeClock(T0)
        settings = Settings(db_url=f"sqlite:///{tmp_path / 'fleet.db'}", ingest=False, scheduler_interval=0)
        self.app = with_fleet_routes(create_app(settings, clock=self.clock))
        self.port = free_port()
        self.server = uvicorn.Server(uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def engine(self) -> Any:
        return self.app.state.runtime.engine

    def start(self) -> Server:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            assert time.monotonic() < deadline and self.thread.is_alive(), "the server did not start"
            time.sleep(0.05)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(15)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    s = Server(tmp_path).start()
    yield s
    s.stop()


def hear(srv: Server, device_id: str, at: datetime, kind: EventKind = EventKind.HEARTBEAT, **raw: Any) -> None:
    with session(srv.engine) as s:
        apply_events(s, [DeviceEvent(device_id=device_id, kind=kind, at=at, source="zigbee2mqtt", raw=raw)], now=at)
        s.commit()


def supervise(srv: Server, at: datetime) -> None:
    with session(srv.engine) as s:
        poll(s, now=at)
        s.commit()


def provision(srv: Server) -> None:
    """A home with four devices, six days of history: an SOS button (ok, battery falling), a fall
    radar gone silent (offline), a leak sensor with its case opened (tamper) and a door contact
    at 7 % (low battery)."""
    admin = bearer(user_token(srv.engine, "admin", "admin"))
    with httpx.Client(base_url=srv.base_url, headers=admin, timeout=10) as http:
        r = http.post("/api/homes", json={"home_id": "3-2-101", "resident": RESIDENT, "address": "3栋2单元101",
                                          "grid": "G1"})
        assert r.status_code == 201, r.text
        for device_id, kind, model in ((SOS, "sos", "TS0215A_sos"), ("radar-1", "fall", "MIR-HE200-TY_fall"),
                                       ("leak-1", "leak", "SNZB-05"), ("door-1", "door", "MCCGQ11LM")):
            r = http.post("/api/devices", json={"device_id": device_id, "home_id": "3-2-101", "kind": kind,
                                                "model": model})
            assert r.status_code == 201, r.text
    start = T0 - timedelta(days=6)
    for d in (SOS, "radar-1", "leak-1", "door-1"):
        hear(srv, d, start, battery=100, linkquality=150)
    supervise(srv, start)
    for day in range(1, 6):
        for d, battery in ((SOS, 100 - 4 * day), ("leak-1", 90), ("door-1", 60)):
            hear(srv, d, start + timedelta(days=day), battery=battery, linkquality=140)
        supervise(srv, start + timedelta(days=day, hours=2))  # samples the history; the radar is missed
    hear(srv, "leak-1", T0 - timedelta(minutes=30), EventKind.TAMPER, tamper=True)
    hear(srv, "door-1", T0 - timedelta(minutes=20), EventKind.TELEMETRY, battery=7, linkquality=90)
    hear(srv, SOS, T0 - timedelta(minutes=5), battery=78, linkquality=132)
    srv.clock.now = T0


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with launch_browser(sync_api) as b:
        yield b


def row(page: Any, device_id: str) -> Any:
    return page.locator(f'#rows tr[data-device="{device_id}"]')


def test_the_fleet_page_lists_states_and_charts_a_devices_battery(server: Server, browser: Any) -> None:
    provision(server)
    with session(server.engine) as s:
        create_user(s, name="duty", role="dispatcher", password=PASSWORD, now=T0, display_name="值班员小刘")
        s.commit()
    with new_page(browser, viewport={"width": 1440, "height": 900}) as page:
        page.goto(f"{server.base_url}/fleet.html")
        expect(page).to_have_url(re.compile(r"/login\.html\?next=%2Ffleet\.html$"))  # the 401 sends us to sign in
        sign_in(page, server.base_url, "duty", next_path="/fleet.html")
        expect(page).to_have_url(re.compile(r"/fleet\.html"))

        for device_id, st in ((SOS, "ok"), ("radar-1", "offline"), ("leak-1", "tamper"), ("door-1", "low_battery")):
            expect(row(page, device_id)).to_have_attribute("data-state", st)
        sos = row(page, SOS)
        expect(sos.locator("[data-role=last-seen]")).to_have_text("5 分钟前")
        expect(sos).to_contain_text("78%")
        expect(sos).to_contain_text("132")
        expect(sos).to_contain_text("紧急按钮")
        expect(sos.locator(".badge.primary")).to_have_text("正常")
        expect(row(page, "leak-1").locator(".badge.primary")).to_have_text("被拆")
        expect(row(page, "door-1").locator(".badge.primary")).to_have_text("电量低")
        expect(row(page, "door-1")).to_contain_text("7%")
        expect(row(page, "radar-1").locator(".badge.primary")).to_have_text("离线")
        expect(sos).to_contain_text(RESIDENT)  # the registry's text, as text
        assert page.locator("#rows img").count() == 0
        assert page.evaluate("window.pwned") is None
        expect(page.locator('#f-states [data-state="tamper"] .n')).to_have_text("1")

        page.click('#f-states [data-state="offline"]')
        expect(page.locator("#rows tr")).to_have_count(1)
        expect(row(page, "radar-1")).to_be_visible()
        expect(page).to_have_url(re.compile(r"state=offline"))
        page.click('#f-states [data-state="all"]')
        expect(page.locator("#rows tr")).to_have_count(4)

        sos.click()
        detail = page.locator("#detail")
        expect(detail).to_be_visible()
        expect(page.locator("#detail-title")).to_have_text(SOS)
        chart = page.locator("#detail-chart svg.chart")
        expect(chart).to_be_visible()
        expect(chart.locator("circle.dot")).to_have_count(6)  # five daily samples and the current reading
        expect(chart.locator("circle.dot.current")).to_have_attribute("data-battery", "78")
        points = chart.locator("polyline.line").get_attribute("points") or ""
        assert len(points.split()) == 6
        expect(page.locator("#detail-orders li.none")).to_be_visible()  # no open orders

        row(page, "leak-1").click()
        expect(page.locator("#detail-title")).to_have_text("leak-1")
        expect(page.locator('#detail-orders li[data-kind="tamper"]')).to_contain_text("设备被拆")
        row(page, "radar-1").click()
        expect(page.locator('#detail-orders li[data-kind="offline"]')).to_contain_text("设备离线")
        expect(page.locator("#detail-fields")).to_contain_text("超时未上报")

        page.click("#lang-toggle")
        expect(page.locator("#fleet-table th").first).to_have_text("State")
        expect(row(page, "leak-1").locator(".badge.primary")).to_have_text("Tamper")
        expect(row(page, SOS).locator("[data-role=last-seen]")).to_have_text("5 min ago")
        expect(page.locator('#detail-orders li[data-kind="offline"]')).to_contain_text("Device offline")
