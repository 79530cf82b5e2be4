"""End to end with a third-party DC-09 sender: the dialler published on PyPI as ``my-dc09-spt`` (a
fork of ``dc09_spt``, whose own release needs pycrypto, which no longer builds) sends, at its default
settings (no ``L`` field, no receiver number, TCP), to a real ``shewu bridge dc09`` process; the
events go through a real Mosquitto to a real gateway and end as orders."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gateway.broker import Mosquitto, free_port, port_open
from tests.gateway_process import GatewayProcess, wait_until

dc09_spt = pytest.importorskip("my_dc09_spt.dc09_spt")

pytestmark = pytest.mark.integration

KEY = b"0123456789ABCDEF"  # the dialler takes the key as 16 bytes; the receiver as 16 characters


@pytest.fixture
def bridge(broker: Mosquitto, tmp_path: Path) -> Iterator[int]:
    """``shewu bridge dc09`` as an operator starts it, with a key file for account 5678."""
    keys = tmp_path / "dc09-keys.json"
    keys.write_text(json.dumps({"5678": {"key": KEY.decode()}}))
    port = free_port()
    log = (tmp_path / "bridge.log").open("ab")
    proc = subprocess.Popen(
        [sys.executable, "-m", "gateway.cli", "bridge", "dc09", "--listen", f"127.0.0.1:{port}",
         "--mqtt", broker.url, "--outbox", str(tmp_path / "outbox.db"), "--receiver-id", "e2e-dc09",
         "--keys", str(keys)],
        stdout=log, stderr=subprocess.STDOUT,
    )
    try:
        wait_until(lambda: proc.poll() is not None or port_open("127.0.0.1", port), what="the bridge listening")
        assert proc.poll() is None, (tmp_path / "bridge.log").read_text()
        yield port
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def send(port: int, account: str, mtype: str, params: dict[str, Any], key: bytes | None = None) -> None:
    spt = dc09_spt.dc09_spt(account)
    spt.set_path("main", "primary", "127.0.0.1", port, account=account, key=key)
    spt.send_msg(mtype, params)  # returns when the receiver has answered
    assert spt.notSent() == 0


def orders(gw: GatewayProcess) -> dict[tuple[str, str], dict[str, Any]]:
    return {(o["device_id"], o["kind"]): o for o in gw.get("/api/orders", limit=100)}


def test_third_party_dialler_alarms_become_orders(gateway_server: GatewayProcess, bridge: int) -> None:
    gw = gateway_server
    send(bridge, "1234", "ADM-CID", {"code": "111", "zone": "3", "area": "1"})  # smoke, zone 3
    send(bridge, "1234", "SIA-DCS", {"code": "GA", "zone": "2", "area": "1"})  # gas, zone 2
    send(bridge, "1234", "ADM-CID", {"code": "121", "user": "7"})  # duress by user 7
    send(bridge, "1234", "ADM-CID", {"code": "999", "zone": "5"})  # a code nobody knows
    send(bridge, "5678", "ADM-CID", {"code": "162", "zone": "1"}, key=KEY)  # CO, encrypted
    got = wait_until(lambda: o if len(o := orders(gw)) >= 5 else None, what="5 orders")
    summary = {k: (o["priority"], o["category"]) for k, o in got.items()}
    assert summary == {
        ("dc09-1234-003", "fire"): ("P1", "emergency"),
        ("dc09-1234-002", "gas"): ("P1", "emergency"),
        ("dc09-1234", "sos"): ("P1", "emergency"),
        ("dc09-1234", "unknown_alarm"): ("P2", "emergency"),
        ("dc09-5678-001", "co"): ("P1", "emergency"),
    }
    unknown = gw.get(f"/api/orders/{got[('dc09-1234', 'unknown_alarm')]['id']}")
    reading = unknown["timeline"][0]["data"]["reading"]
    assert (reading["reason"], reading["code"]) == ("unknown_event_code", "999")
    duress = gw.get(f"/api/orders/{got[('dc09-1234', 'sos')]['id']}")["timeline"][0]["data"]["reading"]
    assert (duress["event"], duress["user"]) == ("duress", "007")
