"""Telemetry end to end: a gateway process with InfluxDB settings writes its device events
through influxdb-client to a real line-protocol server (Debian's victoria-metrics); with the
server away, alarms still open orders and the drop counter in /metrics rises."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from gateway.broker import free_port
from tests.gateway_process import GatewayProcess, wait_until
from tests.test_e2e_alarms import native_sos, orders, publish, publisher
from tests.victoria import Victoria, victoria_path

pytestmark = pytest.mark.integration


def influx_env(url: str) -> dict[str, str]:
    return {"SHEWU_INFLUX_URL": url, "SHEWU_INFLUX_TOKEN": "t", "SHEWU_INFLUX_ORG": "shewu",
            "SHEWU_INFLUX_BUCKET": "telemetry"}


def test_events_reach_the_time_series_store(gateway_factory: Callable[..., GatewayProcess], tmp_path: Path) -> None:
    if victoria_path() is None:
        pytest.skip("victoria-metrics is not installed (scripts/setup --test installs it)")
    vm = Victoria(tmp_path / "vm").start()
    try:
        gw = gateway_factory(env=influx_env(vm.url)).start()
        with publisher(gw.mqtt_url) as pub:
            publish(pub, "zigbee2mqtt/3栋 101 leak", {"water_leak": False, "battery": 87, "linkquality": 96})
            publish(pub, *native_sos("elder-7-sos"))
        wait_until(lambda: orders(gw), what="the SOS order")
        series = vm.wait_for('{__name__=~"device_.*"}', lambda found: any(
            s["metric"].get("device_id") == "3栋 101 leak" and s["metric"]["__name__"] == "device_reading_battery"
            for s in found), timeout=20)
        battery = [s for s in series if s["metric"]["__name__"] == "device_reading_battery"]
        assert battery and battery[0]["values"][-1] == 87
        assert any(s["metric"].get("kind") == "sos" and s["metric"].get("device_id") == "elder-7-sos"
                   for s in series if s["metric"]["__name__"] == "device_event_count")
        # the worker reports its counters with the next batch: a heartbeat brings them
        with publisher(gw.mqtt_url) as pub:
            def written() -> bool:
                publish(pub, "shewu/v1/hb-1/event", {"v": 1, "kind": "heartbeat"})
                return gw.metric("shewu_telemetry_written_total") >= 2
            wait_until(written, interval=0.3, what="the written counter")
    finally:
        vm.stop()


def test_with_the_server_away_alarms_still_open_and_drops_are_counted(
        gateway_factory: Callable[..., GatewayProcess]) -> None:
    gw = gateway_factory(env=influx_env(f"http://127.0.0.1:{free_port()}")).start()  # nothing listens there
    with publisher(gw.mqtt_url) as pub:
        for i in range(12_000):  # more than the telemetry queue holds (10,000)
            body = {"v": 1, "id": uuid.uuid4().hex, "kind": "heartbeat", "ts": time.time()}
            pub.publish(f"shewu/v1/hb-{i % 500}/event", json.dumps(body), qos=1)
        publish(pub, *native_sos("elder-9-sos"))
    found = wait_until(lambda: [o for o in orders(gw) if o["device_id"] == "elder-9-sos"], timeout=60,
                       what="the SOS order while InfluxDB is away")
    assert found[0]["kind"] == "sos"
    wait_until(lambda: gw.metric("shewu_telemetry_dropped_total") > 0, timeout=60, what="telemetry drops")
    assert gw.metric("shewu_telemetry_written_total") == 0
