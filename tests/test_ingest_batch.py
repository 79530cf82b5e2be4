"""The batch processor decodes with the registry's device models (the model table as data)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.engine import Engine
from sqlmodel import select

from gateway.ingest_batch import BatchProcessor, Committed
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


def test_old_event_ids_are_forgotten_hourly(engine: Engine) -> None:
    from datetime import timedelta

    from gateway.storage.models import SeenEvent

    clock = [T0]
    processor = BatchProcessor.for_gateway(engine=engine, z2m_base="zigbee2mqtt", max_payload=65536,
                                           clock=lambda: clock[0])

    def sos(n: int) -> tuple[str, bytes, bool]:
        return (f"shewu/v1/d{n}/event", f'{{"v":1,"id":"id-{n}","kind":"sos"}}'.encode(), False)

    processor.process([sos(1)])
    clock[0] = T0 + timedelta(days=9)
    processor.process([sos(2)])  # more than an hour since the last prune: id-1 is now too old
    with session(engine) as s:
        assert [e.event_id for e in s.exec(select(SeenEvent))] == ["id-2"]
    clock[0] = T0 + timedelta(days=9, minutes=30)
    processor.process([sos(3)])
    with session(engine) as s:
        assert sorted(e.event_id for e in s.exec(select(SeenEvent))) == ["id-2", "id-3"]


def test_alarms_are_committed_before_the_telemetry_around_them(engine: Engine) -> None:
    processor = BatchProcessor.for_gateway(engine=engine, z2m_base="zigbee2mqtt", max_payload=65536,
                                           clock=lambda: T0)
    seen_at_callback: list[tuple[list[int], list[str], int]] = []

    def on_commit(c: Committed) -> None:
        from gateway.storage.models import DeviceStatus

        indexes, live = c.indexes, c.live
        with session(engine) as s:  # another connection: what is committed by now
            committed = [o.device_id for o in s.exec(select(Order))]
            statuses = len(s.exec(select(DeviceStatus)).all())
        seen_at_callback.append((indexes, committed, statuses))
        if indexes == [2]:
            assert [m["order"]["device_id"] for m in live] == committed  # type: ignore[index]
        else:
            assert live == []  # the telemetry changed no order

    items = [(f"zigbee2mqtt/hb-{i}", b'{"battery":90,"linkquality":100}', False) for i in range(5)]
    items.insert(2, ("zigbee2mqtt/elder-9-sos", b'{"action":"emergency"}', False))
    result = processor.process(items, on_commit)
    # the SOS first, with only its own device's status; then the telemetry around it
    assert seen_at_callback == [([2], ["elder-9-sos"], 1), ([0, 1, 3, 4, 5], ["elder-9-sos"], 6)]
    assert result.opened == {"sos": 1} and result.messages == 6 and len(result.live) == 1


def test_without_a_callback_one_transaction_holds_the_batch(engine: Engine) -> None:
    processor = BatchProcessor.for_gateway(engine=engine, z2m_base="zigbee2mqtt", max_payload=65536,
                                           clock=lambda: T0)
    result = processor.process([("zigbee2mqtt/a-sos", b'{"action":"emergency"}', False),
                                ("zigbee2mqtt/hb", b'{"battery":90}', False)])
    assert result.opened == {"sos": 1} and result.events == 2


def test_a_zigbee2mqtt_message_delivered_twice_is_applied_once(engine: Engine) -> None:
    """Zigbee2MQTT sends no message id, but stamps each message with the device's last_seen
    (advanced.last_seen): the same message redelivered after a gateway crash counts once, while a
    second press (a new last_seen) counts as a repeat."""
    processor = BatchProcessor.for_gateway(engine=engine, z2m_base="zigbee2mqtt", max_payload=65536,
                                           clock=lambda: T0)
    ms = int(T0.timestamp() * 1000) - 2000
    press = ("zigbee2mqtt/elder-11-sos", f'{{"action":"emergency","last_seen":{ms}}}'.encode(), False)
    again = ("zigbee2mqtt/elder-11-sos", f'{{"action":"emergency","last_seen":{ms + 900}}}'.encode(), False)
    processor.process([press])
    processor.process([press])  # redelivered
    processor.process([again])  # pressed again
    with session(engine) as s:
        [order] = s.exec(select(Order))
    assert order.event_count == 2
