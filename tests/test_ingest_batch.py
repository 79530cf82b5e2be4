"""The batch processor decodes with the registry's device models (the model table as data)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.engine import Engine
from sqlmodel import select

from gateway.ingest_batch import BatchProcessor
from gateway.storage import crud
from gateway.storage.db import session
from gateway.storage.models import Device, Order

T0 = datetime(2026, 11, 28, 4, 0, tzinfo=UTC)


def test_registered_model_picks_its_profile(engine: Engine) -> None:
    with session(engine) as s:
        # A HEIMAN button says "single" when pressed; the generic profile does not know that word.
        crud.save_device(s, device=Device(device_id="3-101/sos", model="HS1EB", resident="王秀英"))
        s.commit()
    processor = BatchProcessor.for_gateway(engine=engine, z2m_base="zigbee2mqtt", max_payload=65536,
                                           clock=lambda: T0)
    result = processor.process([
        ("zigbee2mqtt/3-101/sos", b'{"action":"single","battery":90}', False),
        ("zigbee2mqtt/unknown-button", b'{"action":"single","battery":90}', False),
    ])
    assert result.opened == {"sos": 1}
    with session(engine) as s:
        assert [(o.device_id, o.resident) for o in s.exec(select(Order))] == [("3-101/sos", "王秀英")]
