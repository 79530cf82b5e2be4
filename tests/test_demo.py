"""The README's first command keeps working: `shewu demo` starts a broker, the gateway and a
simulated community, and orders appear on the board's API. Also the embedded broker that
the demo falls back to when Mosquitto is not installed."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import paho.mqtt.client as mqtt
import pytest

from gateway.broker import EmbeddedBroker, free_port, mosquitto_path
from tests.gateway_process import GatewayProcess, wait_until

pytestmark = pytest.mark.integration


def test_demo_runs_a_community_that_raises_orders(tmp_path: Path) -> None:
    if mosquitto_path() is None:
        pytest.skip("mosquitto is not installed")
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "gateway.cli", "demo", "--homes", "4", "--alarm-rate", "30", "--port", str(port),
         "--data-dir", str(tmp_path / "demo")],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        def healthy() -> bool:
            try:
                return httpx.get(f"{base}/healthz", timeout=1).json().get("mqtt") is True
            except httpx.HTTPError:
                return False

        wait_until(healthy, timeout=40, interval=0.2, what="the demo gateway")
        assert httpx.get(f"{base}/api/orders").status_code == 401  # signed-in staff only
        passwords = dict(line.split(" ", 1) for line in (tmp_path / "demo" / "accounts.txt").read_text().splitlines())
        web = httpx.Client(base_url=base, timeout=10)
        assert web.post("/api/auth/login", json={"name": "duty", "password": passwords["duty"]}).status_code == 200
        assert len(web.get("/api/devices").json()) == 12  # 4 homes x 3 devices, registered
        oncall = web.get("/api/oncall").json()  # someone is on call, so escalations reach people
        assert [d["user"] for d in oncall["dispatchers"]] == ["duty"] and not oncall["leader_missing"]
        orders = wait_until(lambda: web.get("/api/orders").json(), timeout=40, interval=0.5,
                            what="an order from the simulated community")
        assert orders[0]["resident"]  # registered devices: the order names its resident
        assert "社物共治" in httpx.get(f"{base}/").text
    finally:
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=30)
    assert f"http://127.0.0.1:{port}/" in out  # it told the user where the board is
    assert passwords["duty"] in out  # and how to sign in
    assert proc.returncode == 0, out[-2000:]


def test_gateway_on_the_embedded_broker_speaks_mqtt_311(tmp_path: Path) -> None:
    broker = EmbeddedBroker().start()
    try:
        gw = GatewayProcess(mqtt_url=broker.url, db_url=f"sqlite:///{tmp_path / 'gw.db'}", log_dir=tmp_path,
                            protocol=4).start()
        try:
            client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"pub-{uuid.uuid4().hex[:6]}",
                                 protocol=mqtt.MQTTv311)
            client.connect(broker.host, broker.port)
            client.loop_start()
            body = {"v": 1, "id": uuid.uuid4().hex, "kind": "sos", "ts": time.time()}
            client.publish("shewu/v1/elder-5-sos/event", json.dumps(body), qos=1).wait_for_publish(10)
            client.loop_stop()
            client.disconnect()
            found = wait_until(lambda: gw.get("/api/orders"), what="the order via amqtt")
            assert [(o["device_id"], o["kind"]) for o in found] == [("elder-5-sos", "sos")]
        finally:
            gw.stop()
    finally:
        broker.stop()
