"""Serial receivers end to end: pty → `SerialBridge` → Mosquitto → gateway → orders, including
events read while the broker is down, which wait in the bridge's outbox."""

from __future__ import annotations

import os
import pty
import time
import tty
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from device_adapters.serial_bridge import SerialBridge
from device_adapters.serial_protocol import encode_line
from gateway.broker import Mosquitto
from tests.gateway_process import GatewayProcess, wait_until

pytestmark = pytest.mark.integration


@pytest.fixture
def serial_port() -> Iterator[tuple[int, str]]:
    master, slave = pty.openpty()
    tty.setraw(slave)
    path = os.ttyname(slave)
    yield master, path
    os.close(master)
    os.close(slave)


def devices_with_orders(gw: GatewayProcess) -> set[str]:
    return {o["device_id"] for o in gw.get("/api/orders", limit=1000)}


def test_serial_lines_become_orders_even_across_a_broker_outage(
    gateway_factory: Callable[..., GatewayProcess], broker: Mosquitto, serial_port: tuple[int, str], tmp_path: Path,
) -> None:
    master, path = serial_port
    gw = gateway_factory(instance_id="gw-serial").start()
    bridge = SerialBridge(path, tmp_path / "outbox.db", broker.url, "rx-b3")
    bridge.start()
    try:
        wait_until(lambda: bridge.stats.serial_connected and bridge.stats.mqtt_connected, what="bridge up")
        now = time.time()
        os.write(master, b"line noise\r\n" + encode_line(1, "elder-301-sos", "sos", now, {"battery": 77}))
        wait_until(lambda: "elder-301-sos" in devices_with_orders(gw), what="the serial SOS as an order")

        broker.stop()
        wait_until(lambda: not bridge.stats.mqtt_connected, what="the bridge to notice the broker is gone")
        for seq, device in enumerate(("elder-302-sos", "elder-303-radar", "elder-304-sos"), start=2):
            kind = "fall" if "radar" in device else "sos"
            os.write(master, encode_line(seq, device, kind, time.time(), {}))
        wait_until(lambda: bridge.pending() == 3, what="three events waiting in the outbox")
        broker.start()  # same port; the gateway and the bridge reconnect by themselves

        want = {"elder-301-sos", "elder-302-sos", "elder-303-radar", "elder-304-sos"}
        wait_until(lambda: devices_with_orders(gw) == want, timeout=40, what="every serial event as an order")
        kinds = {o["device_id"]: o["kind"] for o in gw.get("/api/orders")}
        assert kinds["elder-303-radar"] == "fall"
        assert bridge.pending() == 0
        assert bridge.stats.rejected["bad_frame"] == 1  # the line noise was refused, not forwarded
    finally:
        bridge.stop()
