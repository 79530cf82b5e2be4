"""Shared pieces of the browser tests (tests/test_board_browser.py, tests/test_tech_browser.py).

Playwright for Python drives Debian's /usr/bin/chromium (Playwright's own browser download does
not work here). The gateway is a real process with a real Mosquitto (tests/conftest.py); users
are written straight into its database, and people sign in through login.html like anyone else.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt

from device_adapters.mqtt_client import parse_mqtt_url
from tests.gateway_process import GatewayProcess

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
TIMEOUT_MS = 15_000
PASSWORD = "correct-horse-battery"
PHONE = {"width": 390, "height": 844}


# ---- the browser ---------------------------------------------------------------------------


@contextmanager
def launch_browser(sync_api: Any) -> Iterator[Any]:
    with sync_api.sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


@contextmanager
def new_page(browser: Any, **context: Any) -> Iterator[Any]:
    """A page in a fresh context (no cookies, empty localStorage: Chinese, sound off) that fails
    the test on any script error."""
    ctx = browser.new_context(**context)
    pg = ctx.new_page()
    pg.set_default_timeout(TIMEOUT_MS)
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        yield pg
    finally:
        ctx.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


# ---- people --------------------------------------------------------------------------------


def create_user(gw: GatewayProcess, name: str, role: str, *, password: str = PASSWORD, **profile: Any) -> str:
    """A user with a password in the gateway's database (profile: display_name, skills, grid,
    building, phone, status, ...). Answers the name."""
    from gateway.services.accounts import create_user as make_user
    from gateway.storage.db import create_schema, make_engine, session

    engine = make_engine(gw.db_url)
    try:
        create_schema(engine)
        with session(engine) as s:
            make_user(s, name=name, role=role, password=password, now=datetime.now(UTC), **profile)
            s.commit()
    finally:
        engine.dispose()
    return name


def headers_for(gw: GatewayProcess, name: str, role: str, **profile: Any) -> dict[str, str]:
    """Bearer headers for user ``name`` (made with ``role`` and ``profile`` if missing), to act
    through the API as that person rather than as the tests' admin token."""
    from gateway.storage.db import create_schema, make_engine
    from tests.accounts import bearer, user_token

    engine = make_engine(gw.db_url)
    try:
        create_schema(engine)
        return bearer(user_token(engine, name, role, **profile))
    finally:
        engine.dispose()


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


def sign_in(page: Any, base_url: str, name: str, password: str = PASSWORD, *, next_path: str | None = None) -> None:
    """Sign in through login.html (optionally with ?next=) and wait to leave it."""
    from playwright.sync_api import expect

    url = f"{base_url}/login.html" + (f"?next={next_path}" if next_path is not None else "")
    page.goto(url)
    page.fill("#login-name", name)
    page.fill("#login-password", password)
    page.click("#login-submit")
    expect(page).not_to_have_url(re.compile(r"/login\.html"))


# ---- devices and MQTT ----------------------------------------------------------------------


def register_device(gw: GatewayProcess, **device: str) -> None:
    response = gw.post("/api/devices", device)
    assert response.status_code == 201, response.text


def publish(mqtt_url: str, topic: str, payload: dict[str, Any]) -> None:
    """Publish one JSON message with QoS 1 and wait for the broker's acknowledgement."""
    url = parse_mqtt_url(mqtt_url)
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"browser-test-{uuid.uuid4().hex[:10]}")
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


def leak_state() -> dict[str, Any]:
    return {"water_leak": True, "battery": 80, "linkquality": 100}


def active_order_for(gw: GatewayProcess, device_id: str) -> dict[str, Any] | None:
    """The active order of ``device_id`` as the admin sees it, or None."""
    for order in gw.get("/api/orders", active="true", limit=1000):
        if order["device_id"] == device_id:
            return order  # type: ignore[no-any-return]
    return None
