"""The simulated community: residents, addresses, registry rows and a run on an injected clock."""

from __future__ import annotations

import csv
import re
from datetime import UTC, datetime
from pathlib import Path

from device_adapters.decoder import MessageDecoder
from firmware_sim.community import CSV_HEADER, Community
from firmware_sim.encoding import Message
from firmware_sim.models import Format, Role
from firmware_sim.transport import Sender

ADDRESS = re.compile(r"^\d+栋[12]单元[1-6]\d{2}$")
HAN = re.compile(r"^[\u4e00-\u9fff]{2,3}$")


def test_registry_rows_describe_every_device() -> None:
    community = Community(30)
    rows = community.registry_rows()
    assert len(rows) == 90
    assert len({r.device_id for r in rows}) == 90
    assert len({r.address for r in rows}) == 30
    assert {r.kind for r in rows} == {"sos", "fall", "leak"}  # the registry's words, which the gateway reads
    models = {(r.kind, r.model) for r in rows}
    assert models == {
        ("sos", "TS0215A_sos"),
        ("fall", "SW-FALL-1"),
        ("leak", "SNZB-05"),
    }
    for row in rows:
        assert ADDRESS.match(row.address), row.address
        assert HAN.match(row.resident), row.resident
        assert re.match(r"^G\d+$", row.grid)
        assert row.device_id.startswith("b") and row.device_id.rsplit("-", 1)[1] in ("sos", "radar", "leak")
    first = rows[0].as_dict()
    assert list(first) == list(CSV_HEADER)
    assert first["address"] == "1栋1单元101"


def test_same_seed_same_community() -> None:
    assert Community(10, seed=5).registry_rows() == Community(10, seed=5).registry_rows()
    assert Community(10, seed=5).registry_rows() != Community(10, seed=6).registry_rows()


def test_write_csv(tmp_path: Path) -> None:
    community = Community(4, formats={})
    path = tmp_path / "devices.csv"
    community.write_csv(path)
    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == list(CSV_HEADER)
    assert rows == [r.as_dict() for r in community.registry_rows()]


def test_run_on_a_fake_clock_heartbeats_and_alarms() -> None:
    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds

    published: list[Message] = []
    community = Community(10, seed=3, alarm_rate=0.5, heartbeat_s=60.0)
    community.run(
        Sender(publish=published.append), duration=600.0, tick=1.0, clock=lambda: now[0], sleep=sleep
    )
    assert now[0] >= 600.0
    counts = community.counts
    assert counts["online"] == 30
    # one at start, then one every 60 s for ten minutes (the first spread over the first period)
    assert 30 * 10 <= counts["heartbeat"] <= 30 * 11
    alarms = sum(counts.get(k, 0) for k in ("sos", "fall", "leak", "battery_low", "tamper"))
    assert 20 <= alarms <= 100  # ~0.5 per home per minute x 10 homes x 10 minutes = 50
    assert counts.get("leak_cleared", 0) >= counts.get("leak", 0) - 5  # most leaks dry up within 3 min
    # every message is valid on the wire: the gateway's decoder takes all of them
    decoder = MessageDecoder()
    at = datetime.now(UTC)
    for m in published:
        assert decoder.decode(m.topic, m.payload, at, retained=m.retain)
    radar_topics = {m.topic for m in published if m.topic.startswith("shewu/v1/")}
    assert all(t.split("/")[2].endswith("-radar") for t in radar_topics)


def test_raise_alarm_on_demand() -> None:
    published: list[Message] = []
    community = Community(2, formats={})
    sender = Sender(publish=published.append)
    home = community.homes[1]
    assert community.raise_alarm(sender, home, 0.0, "fall") == "fall"
    (msg,) = published
    assert msg.topic == f"shewu/v1/{home.devices[Role.FALL_RADAR].device_id}/event"
    assert community.formats[Role.FALL_RADAR] is Format.NATIVE
