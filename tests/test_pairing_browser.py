"""Pairing on the fleet page, in headless Chromium against a real gateway and Mosquitto: an admin
chooses a home and a kind, presses "start", the new device's button is pressed (a Zigbee2MQTT SOS
from a device never heard), the page says it is paired, and the SOS order carries the home."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser_helpers import CHROMIUM, create_user, launch_browser, new_page, publish_z2m, sign_in, unique
from tests.gateway_process import GatewayProcess, wait_until

pytestmark = [
    pytest.mark.browser,
    pytest.mark.integration,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="no headless Chromium at /usr/bin/chromium"),
]

sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect


def test_an_admin_pairs_a_button_from_the_fleet_page(gateway_server: GatewayProcess) -> None:
    gw = gateway_server
    home = gw.post("/api/homes", {"home_id": "5-1-302", "address": "5栋1单元302", "resident": "李桂兰", "grid": "g2"})
    assert home.status_code == 201, home.text
    admin = create_user(gw, unique("installer"), "admin")
    publish_z2m(gw.mqtt_url, "old-neighbour", {"battery": 70})  # heard before pairing: not the one
    wait_until(lambda: any(d["device_id"] == "old-neighbour" for d in gw.get("/api/devices/unregistered")),
               what="the neighbour heard")
    with launch_browser(sync_api) as browser, new_page(browser) as page:
        sign_in(page, gw.base_url, admin, next_path="/fleet.html")
        section = page.locator("#pairing")
        expect(section).to_be_visible()
        expect(page.locator("#heard")).to_contain_text("old-neighbour")
        page.fill("#pair-home", "5-1-302")
        page.select_option("#pair-kind", "sos")
        page.click("#pair-start")
        expect(page.locator("#pair-status")).to_contain_text("秒内按一下设备的按钮")
        expect(page.locator("#pair-cancel")).to_be_visible()
        publish_z2m(gw.mqtt_url, "new-sos-button", {"action": "emergency", "battery": 100})
        expect(page.locator("#pair-status")).to_contain_text("已配对：new-sos-button", timeout=20000)
        expect(page.locator("#pair-status")).to_contain_text("5-1-302")
        expect(page.locator("#pair-cancel")).to_be_hidden()
        expect(page.locator("#rows")).to_contain_text("new-sos-button")  # the list reloads with it
        page.click("#lang-toggle")
        expect(page.locator("#pair-status")).to_contain_text("Paired: new-sos-button")
        expect(page.locator("#pair-title")).to_have_text("Pair a new device")
    device: Any = gw.get("/api/devices/new-sos-button")
    assert (device["home_id"], device["kind"], device["resident"]) == ("5-1-302", "sos", "李桂兰")
    [order] = [o for o in gw.get("/api/orders") if o["device_id"] == "new-sos-button"]
    assert (order["kind"], order["address"], order["unregistered"]) == ("sos", "5栋1单元302", False)
