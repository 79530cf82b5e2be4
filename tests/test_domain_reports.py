"""Response reports, pure: percentiles, times from the timeline, on-site outcomes, breaches and
their reasons, grouping by grid, team and month in the community's time zone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from gateway.domain.reports import (
    UNASSIGNED_TEAM,
    Entry,
    OrderIn,
    Outcome,
    build_report,
    histogram,
    months_between,
    order_times,
    parse_period,
    percentile,
    stats,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 11, 10, 2, 0, tzinfo=UTC)
MIN = timedelta(minutes=1)


def sos(oid: int, opened: datetime = T0, *, status: str = "resolved", grid: str = "G1", assignee: str | None = "li",
        team: str = "property", category: str = "emergency", target: timedelta = 15 * MIN) -> OrderIn:
    return OrderIn(id=oid, kind="sos" if category == "emergency" else "leak", category=category,
                   priority="P1" if category == "emergency" else "P2", opened_at=opened, status=status, grid=grid,
                   assignee=assignee, team=team, onsite_due_at=opened + target)


def e(oid: int, at: datetime, action: str, seq: int = 0, actor: str = "xiaoliu", note: str | None = None,
      **data: object) -> Entry:
    return Entry(order_id=oid, at=at, action=action, actor=actor, data=data or None, note=note, seq=seq)


# --- percentiles ------------------------------------------------------------------------------


def test_nearest_rank_percentiles() -> None:
    ten = [float(v) for v in range(10, 0, -1)]  # 10 .. 1, unsorted on purpose
    assert percentile(ten, 50) == 5.0  # the lower middle with an even count
    assert percentile(ten, 90) == 9.0  # rank ceil(0.9 * 10) = 9, no float rounding to rank 10
    assert percentile(ten, 100) == 10.0
    assert percentile([7.0], 90) == 7.0
    assert percentile([1.0, 2.0, 3.0], 50) == 2.0
    assert percentile(list(map(float, range(1, 21))), 90) == 18.0
    assert percentile([], 50) is None
    with pytest.raises(ValueError):
        percentile([1.0], 0)
    s = stats([30.0, None, 10.0, 20.0, 100.0])
    assert (s.count, s.median_s, s.p90_s, s.max_s, s.mean_s) == (4, 20.0, 100.0, 100.0, 40.0)
    assert stats([]).median_s is None


# --- per order --------------------------------------------------------------------------------


def test_times_come_from_the_timeline_and_dispatch_implies_the_ack() -> None:
    o = sos(1)
    timeline = [
        e(1, T0, "opened", 1, actor="device:x"),
        # what order_actions writes when an open emergency is dispatched: an implied ack first
        e(1, T0 + 90 * timedelta(seconds=1), "ack", 2, implied_by="dispatch"),
        e(1, T0 + 90 * timedelta(seconds=1), "dispatch", 3, technician="li"),
        e(1, T0 + 12 * MIN, "arrive", 4),
        e(1, T0 + 20 * MIN, "resolve", 5),
        e(1, T0 + 25 * MIN, "arrive", 6),  # only the first arrival counts
        e(2, T0 + MIN, "ack", 7),  # another order's entry is ignored
    ]
    r = order_times(o, timeline, now=T0 + 60 * MIN, tz=SHANGHAI)
    assert (r.tta_s, r.ttos_s, r.ttr_s) == (90.0, 720.0, 1200.0)
    assert r.outcome is Outcome.ON_TIME and r.breach is None and r.onsite_target_s == 900.0
    # tickets are not acknowledged: their dispatch is the acknowledgement
    leak = sos(3, category="repair", target=60 * MIN)
    r = order_times(leak, [e(3, T0 + 4 * MIN, "dispatch", 1)], now=T0 + 5 * MIN, tz=SHANGHAI)
    assert r.tta_s == 240.0 and r.ttos_s is None and r.outcome is Outcome.PENDING


def test_order_of_entries_at_one_instant_and_out_of_order_input() -> None:
    entries = [e(1, T0 + 3 * MIN, "ack", 9), e(1, T0 + 2 * MIN, "ack", 10)]
    assert order_times(sos(1), entries, now=T0, tz=SHANGHAI).tta_s == 120.0


def test_undecided_missed_late_and_cancelled() -> None:
    now = T0 + 14 * MIN
    pending = order_times(sos(1, status="acknowledged"), [e(1, T0 + MIN, "ack")], now=now, tz=SHANGHAI)
    assert pending.outcome is Outcome.PENDING and pending.breach is None
    # the same order a little past its target, still with nobody there: a miss (and a breach)
    missed = order_times(sos(1, status="acknowledged"), [e(1, T0 + MIN, "ack")], now=T0 + 16 * MIN, tz=SHANGHAI)
    assert missed.outcome is Outcome.MISSED
    assert missed.breach is not None and missed.breach.late_s == 60.0 and missed.breach.steps == ()
    # exactly at the target is on time
    on_time = order_times(sos(2), [e(2, T0 + 15 * MIN, "arrive")], now=now, tz=SHANGHAI)
    assert on_time.outcome is Outcome.ON_TIME
    late = order_times(sos(3), [e(3, T0 + 15 * MIN + timedelta(seconds=1), "arrive")], now=now, tz=SHANGHAI)
    assert late.outcome is Outcome.LATE and late.breach is not None and late.breach.late_s == 1.0
    # cancelled before anyone arrived: out of the percentage, even past the target
    cancelled = order_times(sos(4, status="cancelled"), [e(4, T0 + 20 * MIN, "cancel", reason="误报")],
                            now=T0 + 60 * MIN, tz=SHANGHAI)
    assert cancelled.outcome is Outcome.CANCELLED and cancelled.breach is None
    assert cancelled.cancel_reason == "误报" and cancelled.cancel_at == T0 + 20 * MIN
    # cancelled after someone arrived: judged by the arrival
    arrived = order_times(sos(5, status="cancelled"), [e(5, T0 + 5 * MIN, "arrive"), e(5, T0 + 9 * MIN, "cancel")],
                          now=now, tz=SHANGHAI)
    assert arrived.outcome is Outcome.ON_TIME

    rows = [pending, on_time, late, cancelled, arrived]
    rep = build_report([r.order for r in rows] + [sos(6, status="acknowledged")],
                       [e(2, T0 + 15 * MIN, "arrive"), e(3, T0 + 15 * MIN + timedelta(seconds=1), "arrive"),
                        e(4, T0 + 20 * MIN, "cancel"), e(5, T0 + 5 * MIN, "arrive")],
                       now=T0 + 16 * MIN, tz=SHANGHAI, period_from=T0 - MIN, period_to=T0 + 16 * MIN)
    rate = rep.emergency_onsite
    # at now = T0 + 16 min, orders 1 and 6 (nobody there) are misses
    assert (rate.on_time, rate.late, rate.missed, rate.pending, rate.cancelled) == (2, 1, 2, 0, 1)
    assert rate.decided == 5 and rate.pct == 40.0 and rate.target_s == 900.0
    rep = build_report([sos(7, status="open")], [], now=T0 + 5 * MIN, tz=SHANGHAI, period_from=T0,
                       period_to=T0 + 5 * MIN)
    assert rep.emergency_onsite.pending == 1 and rep.emergency_onsite.pct is None


def test_breach_recorded_by_escalation_and_latest_reason_wins() -> None:
    o = sos(1, status="closed")
    timeline = [
        e(1, T0 + 10 * MIN, "escalation", 1, actor="shewu:escalation", step="onsite_at_risk", breach=False),
        e(1, T0 + 15 * MIN, "escalation", 2, actor="shewu:escalation", step="onsite_breached", breach=True),
        e(1, T0 + 17 * MIN, "arrive", 3),
        e(1, T0 + 2 * 60 * MIN, "breach_reason", 4, actor="admin", note="堵车", reason="traffic"),
        e(1, T0 + 3 * 60 * MIN, "breach_reason", 5, actor="xiaoliu", note="no one free",
          reason="no_technician_available"),
        e(1, T0 + 3 * 60 * MIN, "breach_reason", 4, actor="ignored", reason="other"),  # same instant, earlier row
    ]
    r = order_times(o, timeline, now=T0 + 4 * 60 * MIN, tz=SHANGHAI)
    assert r.breach is not None
    assert r.breach.steps == ("onsite_breached",) and r.breach.recorded_at == T0 + 15 * MIN
    assert r.breach.late_s == 120.0
    assert (r.breach.reason, r.breach.note, r.breach.reviewed_by) == ("no_technician_available", "no one free",
                                                                      "xiaoliu")
    # a breach recorded by the ladder counts even when the order was later cancelled without an arrival
    c = order_times(sos(2, status="cancelled"),
                    [e(2, T0 + 15 * MIN, "escalation", 1, step="onsite_breached", breach=True),
                     e(2, T0 + 16 * MIN, "cancel", 2, reason="误报")], now=T0 + 60 * MIN, tz=SHANGHAI)
    assert c.outcome is Outcome.CANCELLED and c.breach is not None and c.breach.reason is None
    rep = build_report([o, sos(2, status="cancelled"), sos(3)], [*timeline, e(3, T0 + MIN, "arrive")],
                       now=T0 + 4 * 60 * MIN, tz=SHANGHAI, period_from=T0, period_to=T0 + 5 * 60 * MIN)
    assert [b.order.id for b in rep.breaches] == [1]
    assert rep.breach_reason_counts == {"no_technician_available": 1}


# --- groups -----------------------------------------------------------------------------------


def test_month_in_the_community_time_zone() -> None:
    # 2026-10-31T17:00Z is 2026-11-01 01:00 in Shanghai: November
    late_october_utc = datetime(2026, 10, 31, 17, 0, tzinfo=UTC)
    assert order_times(sos(1, late_october_utc), [], now=T0, tz=SHANGHAI).month == "2026-11"
    assert order_times(sos(1, late_october_utc), [], now=T0, tz=UTC).month == "2026-10"
    assert months_between(datetime(2026, 9, 30, 16, 0, tzinfo=UTC), datetime(2026, 12, 1, 0, 0, tzinfo=UTC),
                          SHANGHAI) == ["2026-10", "2026-11", "2026-12"]
    # an end exactly at local midnight of 1 December does not touch December
    assert months_between(datetime(2026, 10, 15, tzinfo=UTC), datetime(2026, 11, 30, 16, 0, tzinfo=UTC),
                          SHANGHAI) == ["2026-10", "2026-11"]
    assert months_between(datetime(2026, 12, 20, tzinfo=UTC), datetime(2027, 1, 5, tzinfo=UTC),
                          SHANGHAI) == ["2026-12", "2027-01"]

    start, end = datetime(2026, 9, 30, 16, 0, tzinfo=UTC), datetime(2026, 11, 30, 16, 0, tzinfo=UTC)
    orders = [sos(1, datetime(2026, 10, 31, 15, 59, tzinfo=UTC)), sos(2, late_october_utc)]
    entries = [e(1, orders[0].opened_at + 2 * MIN, "ack"), e(2, late_october_utc + 4 * MIN, "ack")]
    rep = build_report(orders, entries, now=end, tz=SHANGHAI, period_from=start, period_to=end)
    assert [(g.key, g.orders, g.mtta_s) for g in rep.by_month] == [("2026-10", 1, 120.0), ("2026-11", 1, 240.0)]


def test_groups_by_grid_and_team_with_mtta_and_mttr() -> None:
    orders = [
        sos(1, grid="G2", team="property"),
        sos(2, grid="G1", team="property"),
        sos(3, grid="G1", team="", assignee="zhang"),  # an assignee without a team
        sos(4, grid="", assignee=None, team="", status="open"),
        sos(5, grid="G1", team="community", assignee="wang"),
    ]
    entries = [
        e(1, T0 + 1 * MIN, "ack"), e(1, T0 + 10 * MIN, "arrive"), e(1, T0 + 30 * MIN, "resolve"),
        e(2, T0 + 3 * MIN, "ack"), e(2, T0 + 20 * MIN, "arrive"), e(2, T0 + 50 * MIN, "resolve"),
        e(3, T0 + 2 * MIN, "ack"),
        e(5, T0 + 4 * MIN, "ack"), e(5, T0 + 14 * MIN, "arrive"), e(5, T0 + 40 * MIN, "resolve"),
    ]
    rep = build_report(orders, entries, now=T0 + 60 * MIN, tz=SHANGHAI, period_from=T0, period_to=T0 + 60 * MIN)
    grid = {g.key: g for g in rep.by_grid}
    assert [g.key for g in rep.by_grid] == ["G1", "G2", ""]  # no grid last
    assert (grid["G1"].orders, grid["G1"].acknowledged, grid["G1"].mtta_s) == (3, 3, 180.0)
    assert (grid["G1"].resolved, grid["G1"].mttr_s) == (2, 2700.0)
    assert (grid["G1"].onsite.on_time, grid["G1"].onsite.late, grid["G1"].onsite.missed) == (1, 1, 1)
    assert grid["G1"].breaches == 2 and grid[""].mtta_s is None and grid[""].onsite.missed == 1
    assert [g.key for g in rep.by_team] == ["community", "property", UNASSIGNED_TEAM]
    team = {g.key: g for g in rep.by_team}
    assert (team["property"].orders, team["property"].mtta_s, team["property"].mttr_s) == (2, 120.0, 2400.0)
    assert team[UNASSIGNED_TEAM].orders == 2  # no assignee, and an assignee without a team
    assert (rep.tta.count, rep.tta.median_s, rep.tta.p90_s, rep.tta.max_s) == (4, 120.0, 240.0, 240.0)
    assert (rep.ttos.count, rep.ttos.median_s, rep.ttos.max_s) == (3, 840.0, 1200.0)
    assert rep.by_category["emergency"]["ttr"].count == 3
    hist = {b.from_s: b.count for b in rep.histogram}
    assert hist[600.0] == 1 and hist[840.0] == 1 and hist[1200.0] == 1 and sum(hist.values()) == 3


def test_histogram_bins() -> None:
    bins = histogram([0.0, 59.9, 60.0, 899.0, 900.0, 1799.0, 1800.0, 99999.0, None], bin_s=60, span_s=1800)
    assert len(bins) == 31 and bins[-1].to_s is None
    assert [bins[0].count, bins[1].count, bins[14].count, bins[15].count, bins[29].count, bins[30].count] == [
        2, 1, 1, 1, 1, 2]


# --- periods ----------------------------------------------------------------------------------


def test_period_parsing() -> None:
    now = datetime(2026, 11, 28, 4, 0, tzinfo=UTC)
    assert parse_period(None, None, now=now, tz=SHANGHAI) == (now - timedelta(days=30), now)
    start, end = parse_period("2026-11-01", "2026-11-30", now=now, tz=SHANGHAI)
    assert start == datetime(2026, 10, 31, 16, 0, tzinfo=UTC)  # local midnight
    assert end == datetime(2026, 11, 30, 16, 0, tzinfo=UTC)  # the whole of 30 November
    start, end = parse_period("2026-11-01T00:00:00Z", "2026-11-02T08:00:00", now=now, tz=SHANGHAI)
    assert start == datetime(2026, 11, 1, tzinfo=UTC) and end == datetime(2026, 11, 2, tzinfo=UTC)
    assert parse_period("2026-11-20", None, now=now, tz=SHANGHAI)[1] == now
    for bad in (("2026-11-30", "2026-11-01"), ("yesterday", None), ("2020-01-01", "2026-01-01")):
        with pytest.raises(ValueError):
            parse_period(bad[0], bad[1], now=now, tz=SHANGHAI)
