"""Pairing the way installers work (issue 9): a registry change takes effect for the next message,
and "this home, this kind: press the button now" binds the next new device heard."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import select

from device_adapters.events import DeviceEvent, EventKind
from gateway.domain.pairing import first_new, status_at
from gateway.ingest_batch import BatchProcessor
from gateway.storage import crud
from gateway.storage.db import session
from gateway.storage.models import Device, Home, Order

T0 = datetime(2026, 11, 28, 4, 0, tzinfo=UTC)


def ev(device: str, kind: EventKind) -> DeviceEvent:
    return DeviceEvent(device_id=device, kind=kind, at=T0, source="zigbee2mqtt")


def test_the_first_press_of_a_new_device_is_the_one() -> None:
    events = [ev("old", EventKind.SOS), ev("new-1", EventKind.AVAILABILITY), ev("new-2", EventKind.TELEMETRY),
              ev("new-1", EventKind.SOS)]
    picked = first_new(events, {"new-1", "new-2"})
    assert picked is not None and picked.device_id == "new-2"  # availability is not a press; "old" is not new
    assert first_new([ev("old", EventKind.SOS)], set()) is None
    assert status_at("waiting", T0, T0 + timedelta(seconds=1)) == "expired"
    assert status_at("paired", T0, T0 + timedelta(days=1)) == "paired"


def test_a_device_registered_a_moment_ago_is_decoded_with_its_profile_at_once(engine: Engine) -> None:
    """Was: up to 30 s of the generic profile, which does not read a HEIMAN button's 'single'."""
    processor = BatchProcessor.for_gateway(engine=engine, z2m_base="zigbee2mqtt", max_payload=65536,
                                           clock=lambda: T0)
    press = ("zigbee2mqtt/3-101/sos", b'{"action":"single","battery":90}', False)
    assert processor.process([press]).opened == {}  # unknown: an ordinary button's press pages nobody
    with session(engine) as s:
        crud.save_device(s, device=Device(device_id="3-101/sos", model="HS1EB", kind="sos"))
        s.commit()
    assert processor.process([press]).opened == {"sos": 1}  # the very next message


def test_pairing_binds_the_next_new_device_and_its_press_opens_an_order_with_the_home(engine: Engine) -> None:
    from gateway.app import create_app
    from gateway.config import Settings
    from tests.accounts import user_token

    with session(engine) as s:
        s.add(Home(home_id="3-2-101", address="3栋2单元101", resident="王秀英", grid="g1"))
        s.commit()
    url = str(engine.url.render_as_string(hide_password=False))
    app = create_app(Settings(db_url=url, ingest=False, scheduler_interval=0), clock=lambda: T0)
    admin = user_token(engine, "installer", "admin")
    clock = [T0 - timedelta(minutes=5)]
    processor = BatchProcessor.for_gateway(engine=engine, z2m_base="zigbee2mqtt", max_payload=65536,
                                           clock=lambda: clock[0])
    # a device the gateway heard before pairing began is not the one being paired
    processor.process([("zigbee2mqtt/neighbour", b'{"battery":80}', False)])
    clock[0] = T0 + timedelta(seconds=5)
    with TestClient(app) as client:
        h = {"Authorization": f"Bearer {admin}"}
        bad = client.post("/api/pairing", json={"home_id": "3-2-101", "kind": "toaster"}, headers=h)
        assert bad.status_code == 422
        started = client.post("/api/pairing", json={"home_id": "3-2-101", "kind": "sos", "seconds": 60}, headers=h)
        assert started.status_code == 201, started.text
        pid = started.json()["id"]
        assert started.json()["status"] == "waiting"
        result = processor.process([
            ("zigbee2mqtt/neighbour", b'{"battery":80}', False),
            ("zigbee2mqtt/new-button", b'{"action":"emergency","battery":100}', False),
        ])
        assert result.opened == {"sos": 1}
        paired = client.get(f"/api/pairing/{pid}", headers=h).json()
        assert (paired["status"], paired["device_id"], paired["heard"]["kind"]) == ("paired", "new-button", "sos")
        assert client.delete(f"/api/pairing/{pid}", headers=h).status_code == 409  # nothing to cancel
        unregistered = client.get("/api/devices/unregistered", headers=h).json()
        assert [d["device_id"] for d in unregistered] == ["neighbour"]
    with session(engine) as s:
        device = crud.get_device(s, device_id="new-button")
        [order] = s.exec(select(Order))
    assert device is not None and (device.home_id, device.kind, device.resident) == ("3-2-101", "sos", "王秀英")
    assert (order.device_id, order.address, order.unregistered) == ("new-button", "3栋2单元101", False)


def test_a_pairing_window_that_passes_binds_nothing(engine: Engine) -> None:
    from gateway.services import pairing

    with session(engine) as s:
        s.add(Home(home_id="h1"))
        s.flush()
        pairing.start(s, home_id="h1", kind="leak", by="admin", now=T0, window=timedelta(seconds=30))
        s.commit()
    processor = BatchProcessor.for_gateway(engine=engine, z2m_base="zigbee2mqtt", max_payload=65536,
                                           clock=lambda: T0 + timedelta(seconds=31))
    processor.process([("zigbee2mqtt/late", b'{"water_leak":true}', False)])
    with session(engine) as s:
        assert crud.get_device(s, device_id="late") is None
