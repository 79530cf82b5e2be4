"""Inactivity monitoring with an injected clock: windows across midnight and daylight-saving
days, one wellbeing check per silence, "activity resumed" noted, "away" suspends it; and the
Zigbee2MQTT activity sensors that feed it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine
from sqlmodel import select

from device_adapters.events import DeviceEvent, EventKind
from device_adapters.zigbee2mqtt import Zigbee2MqttDecoder
from gateway.domain.inactivity import silence_due, watched_seconds
from gateway.services.events import apply_events
from gateway.services.inactivity import poll
from gateway.storage import crud
from gateway.storage.db import session
from gateway.storage.models import Device, Home, Order

SH = ZoneInfo("Asia/Shanghai")
BERLIN = ZoneInfo("Europe/Berlin")


def local(tz: ZoneInfo, *args: int) -> datetime:
    return datetime(*args, tzinfo=tz).astimezone(UTC)  # type: ignore[misc]


def test_only_time_in_the_window_counts() -> None:
    last = local(SH, 2026, 11, 28, 21, 0)
    # 21:00-22:00 counts, the night does not, then 07:00-10:00: the 4 hours end at 10:00
    assert silence_due(last, hours=4, tz=SH, start="07:00", end="22:00") == local(SH, 2026, 11, 29, 10, 0)
    assert watched_seconds(last, local(SH, 2026, 11, 29, 8, 0), tz=SH, start="07:00", end="22:00") == 2 * 3600
    # in the middle of the day it is plain elapsed time
    assert silence_due(local(SH, 2026, 11, 28, 9, 30), hours=4, tz=SH, start="07:00",
                       end="22:00") == local(SH, 2026, 11, 28, 13, 30)


def test_a_night_window_runs_across_midnight() -> None:
    last = local(SH, 2026, 11, 28, 23, 0)  # watched 22:00-07:00
    assert silence_due(last, hours=4, tz=SH, start="22:00", end="07:00") == local(SH, 2026, 11, 29, 3, 0)
    last = local(SH, 2026, 11, 28, 6, 0)  # an hour left this morning, then three from 22:00
    assert silence_due(last, hours=4, tz=SH, start="22:00", end="07:00") == local(SH, 2026, 11, 29, 1, 0)


def test_daylight_saving_days_are_counted_in_real_hours() -> None:
    # Europe/Berlin springs forward on 2026-03-29 at 02:00: the night 22:00-07:00 lasts 8 hours
    spring = local(BERLIN, 2026, 3, 28, 22, 0)
    assert watched_seconds(spring, local(BERLIN, 2026, 3, 29, 7, 0), tz=BERLIN, start="22:00",
                           end="07:00") == 8 * 3600
    assert silence_due(spring, hours=8, tz=BERLIN, start="22:00", end="07:00") == local(BERLIN, 2026, 3, 29, 7, 0)
    # and falls back on 2026-10-25: that night lasts 10 hours
    autumn = local(BERLIN, 2026, 10, 24, 22, 0)
    assert watched_seconds(autumn, local(BERLIN, 2026, 10, 25, 7, 0), tz=BERLIN, start="22:00",
                           end="07:00") == 10 * 3600


def test_a_tiny_window_never_reaches_a_long_limit() -> None:
    assert silence_due(local(SH, 2026, 11, 28, 9, 0), hours=48, tz=SH, start="09:00", end="09:10") is None


# --- the service, on a real database ------------------------------------------------------------

T0 = local(SH, 2026, 11, 28, 9, 0)


def setup_home(engine: Engine, *, away: bool = False) -> None:
    with session(engine) as s:
        s.add(Home(home_id="3-2-101", address="3栋2单元101", grid="G1", resident="王秀英", inactivity_hours=4,
                   window_start="07:00", window_end="22:00", away=away))
        crud.save_device(s, device=Device(device_id="pir-101", home_id="3-2-101", kind="motion", resident="王秀英",
                                          address="3栋2单元101", grid="G1"))
        s.commit()


def move(engine: Engine, at: datetime) -> None:
    with session(engine) as s:
        apply_events(s, [DeviceEvent(device_id="pir-101", kind=EventKind.ACTIVITY, at=at, source="native")], now=at)
        s.commit()


def watch(engine: Engine, now: datetime) -> list[str]:
    with session(engine) as s:
        found = poll(s, now=now, tz=SH)
        s.commit()
    return [e.kind.value for e in found.events]


def wellbeing(engine: Engine) -> list[Order]:
    with session(engine) as s:
        return list(s.exec(select(Order).where(Order.kind == "wellbeing")))


def test_a_silent_home_gets_one_wellbeing_check_then_activity_is_noted(engine: Engine) -> None:
    setup_home(engine)
    move(engine, T0)
    assert watch(engine, T0 + timedelta(hours=3, minutes=59)) == []
    assert watch(engine, T0 + timedelta(hours=4)) == ["inactivity"]
    [order] = wellbeing(engine)
    assert (order.priority, order.category, order.device_id, order.resident) == ("P2", "wellbeing", "pir-101", "王秀英")
    assert watch(engine, T0 + timedelta(hours=6)) == []  # once per silence
    move(engine, T0 + timedelta(hours=6, minutes=5))
    assert watch(engine, T0 + timedelta(hours=6, minutes=6)) == ["activity_resumed"]
    with session(engine) as s:
        assert [e.action for e in crud.timeline_for(s, order_id=order.id or 0)] == ["opened", "activity_resumed"]
    assert watch(engine, T0 + timedelta(hours=7)) == []


def test_away_suspends_the_watch(engine: Engine) -> None:
    setup_home(engine, away=True)
    move(engine, T0)
    assert watch(engine, T0 + timedelta(days=2)) == []
    assert wellbeing(engine) == []


def test_the_night_is_not_silence(engine: Engine) -> None:
    setup_home(engine)
    move(engine, local(SH, 2026, 11, 28, 21, 0))
    assert watch(engine, local(SH, 2026, 11, 29, 9, 59)) == []
    assert watch(engine, local(SH, 2026, 11, 29, 10, 0)) == ["inactivity"]


def test_zigbee2mqtt_motion_and_doors_are_activity() -> None:
    decoder = Zigbee2MqttDecoder(base="zigbee2mqtt")
    now = datetime(2026, 11, 28, 1, 0, tzinfo=UTC)

    def kinds(name: str, body: bytes) -> list[str]:
        return [e.kind.value for e in decoder.decode(f"zigbee2mqtt/{name}", body, now)]

    assert kinds("pir", b'{"occupancy": true, "battery": 90}') == ["activity"]
    assert kinds("pir", b'{"occupancy": true, "battery": 90}') == ["telemetry"]  # still the same detection
    assert kinds("pir", b'{"occupancy": false}') == ["telemetry"]
    assert kinds("pir", b'{"occupancy": true}') == ["activity"]
    assert kinds("door", b'{"contact": true}') == ["telemetry"]  # closed
    assert kinds("door", b'{"contact": false}') == ["activity"]  # opened
