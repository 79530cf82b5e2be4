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

from device_adapters.edge.serial_bridge import SerialBridge
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


def test_a_broker_that_loses_its_state_loses_no_serial_alarm(
    gateway_factory: Callable[..., GatewayProcess], broker: Mosquitto, serial_port: tuple[int, str], tmp_path: Path,
) -> None:
    """Issue 10, finding 4: the broker acknowledged the bridge's SOS events, then was killed and came
    back without its saved state. The bridge keeps each event until the gateway confirms it is
    committed, sends the unconfirmed ones again, and the gateway opens every order once."""
    master, path = serial_port
    gw = gateway_factory(instance_id="gw-crash").start()
    bridge = SerialBridge(path, tmp_path / "outbox.db", broker.url, "rx-b4", confirm_timeout=1.0)
    bridge.start()
    try:
        wait_until(lambda: bridge.stats.serial_connected and bridge.stats.mqtt_connected, what="bridge up")
        os.write(master, encode_line(1, "elder-401-sos", "sos", time.time(), {}))
        wait_until(lambda: "elder-401-sos" in devices_with_orders(gw), what="the first SOS as an order")
        wait_until(lambda: bridge.pending() == 0, what="the first SOS confirmed")
        gw.stop()  # the gateway is away: the broker queues for its session
        devices = [f"elder-40{n}-sos" for n in range(2, 7)]
        for seq, device in enumerate(devices, start=2):
            os.write(master, encode_line(seq, device, "sos", time.time(), {}))
        wait_until(lambda: bridge.stats.published >= 6, what="the broker acknowledged all five")
        assert bridge.pending() == 5  # the broker has them, the gateway has not confirmed them
        broker.crash(lose_state=True)  # and the broker loses them
        broker.start()
        gw.start()
        want = {"elder-401-sos", *devices}
        wait_until(lambda: devices_with_orders(gw) == want, timeout=40, what="every SOS as an order")
        wait_until(lambda: bridge.pending() == 0, what="all confirmed")
        assert bridge.stats.resent >= 5
        orders = gw.get("/api/orders", limit=1000)
        assert sorted(o["device_id"] for o in orders) == sorted(want)  # each once
        assert all(o["event_count"] == 1 for o in orders)  # the resends were recognised as copies
    finally:
        bridge.stop()


def test_a_home_unit_keeps_its_sos_until_the_gateway_confirms_it(
    gateway_factory: Callable[..., GatewayProcess], broker: Mosquitto, tmp_path: Path,
) -> None:
    """Shewu's home unit (simulated firmware) holds an SOS across a broker crash that loses its
    state, and forgets it only once the gateway has committed it."""
    from firmware_sim.devices import make_device
    from firmware_sim.home_unit import HomeUnit
    from firmware_sim.transport import Sender

    gw = gateway_factory(instance_id="gw-unit").start()
    unit = HomeUnit("unit-b5-301", tmp_path / "unit.db", broker.url, confirm_timeout=1.0).start()
    try:
        sender = Sender(publish=unit.publish)
        gw.stop()
        sender.send(make_device("sos_button", "elder-501-sos"), "sos", "native")
        wait_until(lambda: unit.stats.published >= 1, what="the broker took the SOS")
        assert unit.pending() == 1
        broker.crash(lose_state=True)
        broker.start()
        gw.start()
        wait_until(lambda: "elder-501-sos" in devices_with_orders(gw), timeout=40, what="the SOS as an order")
        wait_until(lambda: unit.pending() == 0, what="confirmed")
    finally:
        unit.stop()
