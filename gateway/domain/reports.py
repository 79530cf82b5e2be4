"""Response reports, computed from the order timeline (DESIGN invariant 4). Pure: no I/O; ``now``
and the community's time zone are arguments.

Per order, every time is measured from ``opened_at`` to the first timeline entry of its kind,
never from the order's columns:

- **time to acknowledge** (TTA): the first ``ack`` entry, which includes the ``ack`` that
  ``order_actions`` writes with ``data.implied_by = "dispatch"`` when an emergency is dispatched
  unacknowledged, or the first ``dispatch`` entry (tickets are not acknowledged: their dispatch
  counts as the acknowledgement, as in ``domain/sla.py``);
- **time to on-site** (TTOS): the first ``arrive`` entry;
- **time to resolve** (TTR): the first ``resolve`` entry.

The on-site target of an order is its stored ``onsite_due_at`` (routing: emergencies 15 min,
leak 1 h, maintenance 48 h). Against it each order has an on-site *outcome*:

- ``on_time``: arrived by the target; ``late``: arrived after it;
- ``missed``: not cancelled, nobody has arrived and the target has passed (still open: a miss);
- ``pending``: not cancelled, nobody has arrived and the target has not passed yet (undecided:
  left out of the on-target percentages);
- ``cancelled``: cancelled before anyone arrived (false alarms): left out of the percentages and
  counted apart. An order cancelled *after* someone arrived is judged by its arrival.

The on-target percentage is ``on_time / (on_time + late + missed)``.

A **breach** is an order with an escalation entry recorded with ``data.breach = true`` (the
ladder's ``onsite_breached`` step), or an outcome ``late`` or ``missed``. Reviewers give it a
reason later, with a ``breach_reason`` timeline entry (``data.reason`` one of
``BREACH_REASONS``); the latest such entry wins.

**Percentiles** are nearest-rank: the p-th percentile of n sorted values is the value at rank
``ceil(p / 100 * n)`` (1-based). It is always an observed time, and at least p % of the values
are at or below it. The median is the 50th percentile by the same rule: with an even count it
is the lower of the two middle values. MTTA and MTTR are arithmetic means.

Groups: per grid (``""`` when the order has none), per team (the assignee's team; no assignee
or an assignee without a team is ``"unassigned"``) and per month of ``opened_at`` in the
community's time zone (``"YYYY-MM"``; every month of the period is listed, empty ones too).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo
from enum import StrEnum
from typing import Any

from gateway.domain.routing import EMERGENCY

UNASSIGNED_TEAM = "unassigned"
EMERGENCY_CATEGORY = "emergency"
# The headline target: someone on site within 15 minutes of an emergency.
EMERGENCY_ONSITE_TARGET = EMERGENCY.onsite
# Histogram of the emergencies' time to on-site: one-minute bins up to this, then one open bin.
HISTOGRAM_BIN = timedelta(minutes=1)
HISTOGRAM_SPAN = timedelta(minutes=30)
DEFAULT_PERIOD = timedelta(days=30)
MAX_PERIOD = timedelta(days=731)

ACK_ACTIONS = frozenset({"ack", "dispatch"})
# The timeline entries reports read (the rest, e.g. repeats, are never loaded).
REPORT_ACTIONS = ("ack", "dispatch", "arrive", "resolve", "cancel", "escalation", "breach_reason")
BREACH_REASON_ACTION = "breach_reason"


@dataclass(frozen=True, slots=True)
class BreachReason:
    code: str
    zh: str
    en: str


BREACH_REASONS: tuple[BreachReason, ...] = (
    BreachReason("traffic", "交通拥堵或路途远", "Traffic or distance"),
    BreachReason("no_technician_available", "无可派人员", "No technician available"),
    BreachReason("wrong_address", "地址有误或难以找到", "Wrong or hard-to-find address"),
    BreachReason("resident_not_home", "居民不在家或无法进门", "Resident not home / no access"),
    BreachReason("late_acknowledgement", "确认或派单过晚", "Late acknowledgement or dispatch"),
    BreachReason("equipment", "设备或系统故障", "Equipment or system fault"),
    BreachReason("other", "其他", "Other"),
)
BREACH_REASON_CODES = frozenset(r.code for r in BREACH_REASONS)


class Outcome(StrEnum):
    ON_TIME = "on_time"
    LATE = "late"
    MISSED = "missed"
    PENDING = "pending"
    CANCELLED = "cancelled"
    NO_TARGET = "no_target"


DECIDED = frozenset({Outcome.ON_TIME, Outcome.LATE, Outcome.MISSED})


@dataclass(frozen=True, slots=True)
class OrderIn:
    """What reports need of an order row (and its assignee's team)."""

    id: int
    kind: str
    category: str
    priority: str
    opened_at: datetime
    status: str
    grid: str = ""
    assignee: str | None = None
    team: str = ""
    onsite_due_at: datetime | None = None
    cancelled_at: datetime | None = None
    cancel_reason: str | None = None


@dataclass(frozen=True, slots=True)
class Entry:
    """One timeline entry. ``seq`` (the row id) orders entries recorded at the same instant."""

    order_id: int
    at: datetime
    action: str
    actor: str = ""
    data: Mapping[str, Any] | None = None
    note: str | None = None
    seq: int = 0


@dataclass(frozen=True, slots=True)
class Breach:
    steps: tuple[str, ...]  # escalation steps recorded as breaches
    recorded_at: datetime | None  # the first of those
    late_s: float | None  # arrival after the target, or for a miss how long past it at ``now``
    reason: str | None = None  # the latest review's reason code
    note: str | None = None
    reviewed_by: str | None = None
    reviewed_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class OrderTimes:
    order: OrderIn
    team: str  # the group key: the assignee's team, or UNASSIGNED_TEAM
    month: str  # "YYYY-MM" of opened_at in the community's time zone
    ack_at: datetime | None
    arrive_at: datetime | None
    resolve_at: datetime | None
    cancel_at: datetime | None
    cancel_reason: str | None
    onsite_target_s: float | None
    outcome: Outcome
    breach: Breach | None

    @property
    def tta_s(self) -> float | None:
        return _since(self.order.opened_at, self.ack_at)

    @property
    def ttos_s(self) -> float | None:
        return _since(self.order.opened_at, self.arrive_at)

    @property
    def ttr_s(self) -> float | None:
        return _since(self.order.opened_at, self.resolve_at)


@dataclass(frozen=True, slots=True)
class Stats:
    count: int
    median_s: float | None
    p90_s: float | None
    max_s: float | None
    mean_s: float | None


@dataclass(frozen=True, slots=True)
class OnsiteRate:
    target_s: float | None
    on_time: int
    late: int
    missed: int
    pending: int
    cancelled: int

    @property
    def decided(self) -> int:
        return self.on_time + self.late + self.missed

    @property
    def pct(self) -> float | None:
        return None if self.decided == 0 else round(100.0 * self.on_time / self.decided, 1)


@dataclass(frozen=True, slots=True)
class Bin:
    from_s: float
    to_s: float | None  # None: the open last bin
    count: int


@dataclass(frozen=True, slots=True)
class GroupRow:
    key: str
    orders: int
    acknowledged: int
    mtta_s: float | None
    resolved: int
    mttr_s: float | None
    onsite: OnsiteRate
    breaches: int


@dataclass(frozen=True, slots=True)
class Report:
    period_from: datetime
    period_to: datetime
    now: datetime
    orders: list[OrderTimes]
    tta: Stats
    ttos: Stats
    ttr: Stats
    by_category: dict[str, dict[str, Stats]]
    emergency_onsite: OnsiteRate
    histogram: list[Bin]
    by_grid: list[GroupRow]
    by_team: list[GroupRow]
    by_month: list[GroupRow]
    breaches: list[OrderTimes]
    breach_reason_counts: dict[str, int] = field(default_factory=dict)  # "" : not reviewed yet


# --- numbers ----------------------------------------------------------------------------------


def _since(start: datetime, end: datetime | None) -> float | None:
    if end is None:
        return None
    return round(max(0.0, (end - start).total_seconds()), 3)


def percentile(values: Sequence[float], p: float) -> float | None:
    """Nearest-rank percentile (0 < p <= 100) of ``values`` (any order); None when empty."""
    if not values:
        return None
    if not 0 < p <= 100:
        raise ValueError("p is in (0, 100]")
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100.0 * len(ordered) - 1e-9))
    return ordered[rank - 1]


def stats(values: Iterable[float | None]) -> Stats:
    vs = [v for v in values if v is not None]
    if not vs:
        return Stats(0, None, None, None, None)
    return Stats(len(vs), percentile(vs, 50), percentile(vs, 90), max(vs), round(sum(vs) / len(vs), 3))


def _mean(values: Iterable[float | None]) -> tuple[int, float | None]:
    vs = [v for v in values if v is not None]
    return len(vs), (round(sum(vs) / len(vs), 3) if vs else None)


# --- periods and months -----------------------------------------------------------------------


def month_of(at: datetime, tz: tzinfo) -> str:
    return at.astimezone(tz).strftime("%Y-%m")


def months_between(start: datetime, end: datetime, tz: tzinfo) -> list[str]:
    """Every month touched by [start, end) in ``tz``, oldest first."""
    if end <= start:
        return []
    first = start.astimezone(tz)
    last = (end - timedelta(microseconds=1)).astimezone(tz)
    y, m = first.year, first.month
    out: list[str] = []
    while (y, m) <= (last.year, last.month):
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def _parse_bound(text: str, tz: tzinfo, *, end: bool) -> datetime:
    text = text.strip()
    if len(text) == 10:  # a local date: from its start; as "to", through its end
        d = date.fromisoformat(text)
        if end:
            d += timedelta(days=1)
        return datetime.combine(d, time(0), tzinfo=tz)
    dt = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    return dt if dt.tzinfo is not None else dt.replace(tzinfo=tz)


def parse_period(from_text: str | None, to_text: str | None, *, now: datetime, tz: tzinfo) -> tuple[datetime, datetime]:
    """The report's period [from, to). Each bound is a date ``YYYY-MM-DD`` in the community's
    time zone (``to`` includes that whole day) or an RFC 3339 time (without an offset: local).
    Defaults: to = now, from = 30 days before ``to``. Raises ValueError with a reason."""
    try:
        end = _parse_bound(to_text, tz, end=True) if to_text else now
        start = _parse_bound(from_text, tz, end=False) if from_text else end - DEFAULT_PERIOD
    except ValueError as exc:
        raise ValueError(f"from/to: a date YYYY-MM-DD or an RFC 3339 time ({exc})") from exc
    if end <= start:
        raise ValueError("from must be before to")
    if end - start > MAX_PERIOD:
        raise ValueError(f"the period is at most {MAX_PERIOD.days} days")
    return start, end


# --- per order --------------------------------------------------------------------------------


def _first(entries: Sequence[Entry], actions: frozenset[str] | set[str]) -> Entry | None:
    for e in entries:
        if e.action in actions:
            return e
    return None


def order_times(order: OrderIn, entries: Iterable[Entry], *, now: datetime, tz: tzinfo) -> OrderTimes:
    """One order's response times, on-site outcome and breach, from its timeline."""
    timeline = sorted((e for e in entries if e.order_id == order.id), key=lambda e: (e.at, e.seq))
    ack = _first(timeline, ACK_ACTIONS)
    arrive = _first(timeline, {"arrive"})
    resolve = _first(timeline, {"resolve"})
    cancel = _first(timeline, {"cancel"})
    cancel_at = cancel.at if cancel else order.cancelled_at
    cancel_reason = (str((cancel.data or {}).get("reason") or "") or None) if cancel else None
    cancel_reason = cancel_reason or order.cancel_reason
    cancelled = order.status == "cancelled" or cancel is not None

    due = order.onsite_due_at
    target_s = None if due is None else round((due - order.opened_at).total_seconds(), 3)
    late_s: float | None = None
    if arrive is not None and due is not None:
        outcome = Outcome.ON_TIME if arrive.at <= due else Outcome.LATE
        if outcome is Outcome.LATE:
            late_s = round((arrive.at - due).total_seconds(), 3)
    elif arrive is None and cancelled:
        outcome = Outcome.CANCELLED
    elif due is None:
        outcome = Outcome.NO_TARGET
    elif now > due:
        outcome = Outcome.MISSED
        late_s = round((now - due).total_seconds(), 3)
    else:
        outcome = Outcome.PENDING

    recorded = [e for e in timeline if e.action == "escalation" and (e.data or {}).get("breach") is True]
    breach: Breach | None = None
    if recorded or outcome in (Outcome.LATE, Outcome.MISSED):
        reviews = [e for e in timeline if e.action == BREACH_REASON_ACTION]
        review = reviews[-1] if reviews else None
        breach = Breach(
            steps=tuple(str((e.data or {}).get("step") or "") for e in recorded),
            recorded_at=recorded[0].at if recorded else None,
            late_s=late_s,
            reason=(str((review.data or {}).get("reason") or "") or None) if review else None,
            note=review.note if review else None,
            reviewed_by=review.actor if review else None,
            reviewed_at=review.at if review else None,
        )
    return OrderTimes(
        order=order,
        team=order.team if order.assignee and order.team else UNASSIGNED_TEAM,
        month=month_of(order.opened_at, tz),
        ack_at=ack.at if ack else None,
        arrive_at=arrive.at if arrive else None,
        resolve_at=resolve.at if resolve else None,
        cancel_at=cancel_at,
        cancel_reason=cancel_reason,
        onsite_target_s=target_s,
        outcome=outcome,
        breach=breach,
    )


# --- aggregates -------------------------------------------------------------------------------


def onsite_rate(rows: Iterable[OrderTimes], target_s: float | None = None) -> OnsiteRate:
    counts = dict.fromkeys(Outcome, 0)
    for r in rows:
        counts[r.outcome] += 1
    return OnsiteRate(target_s, counts[Outcome.ON_TIME], counts[Outcome.LATE], counts[Outcome.MISSED],
                      counts[Outcome.PENDING], counts[Outcome.CANCELLED])


def histogram(values: Iterable[float | None], *, bin_s: float, span_s: float) -> list[Bin]:
    n = math.ceil(span_s / bin_s)
    counts = [0] * (n + 1)
    for v in values:
        if v is not None:
            counts[min(n, int(v // bin_s))] += 1
    bins = [Bin(i * bin_s, (i + 1) * bin_s, counts[i]) for i in range(n)]
    bins.append(Bin(n * bin_s, None, counts[n]))
    return bins


def group_row(key: str, rows: Sequence[OrderTimes]) -> GroupRow:
    acked, mtta = _mean(r.tta_s for r in rows)
    resolved, mttr = _mean(r.ttr_s for r in rows)
    return GroupRow(key=key, orders=len(rows), acknowledged=acked, mtta_s=mtta, resolved=resolved, mttr_s=mttr,
                    onsite=onsite_rate(rows), breaches=sum(1 for r in rows if r.breach is not None))


def _groups(rows: Sequence[OrderTimes], key_of: Callable[[OrderTimes], str], keys: Sequence[str] = (),
            last: str | None = None) -> list[GroupRow]:
    buckets: dict[str, list[OrderTimes]] = {k: [] for k in keys}
    for r in rows:
        buckets.setdefault(key_of(r), []).append(r)
    order = sorted(buckets) if not keys else list(keys) + sorted(k for k in buckets if k not in set(keys))
    if last is not None and last in buckets:
        order = [k for k in order if k != last] + [last]
    return [group_row(k, buckets[k]) for k in order]


def build_report(orders: Iterable[OrderIn], entries: Iterable[Entry], *, now: datetime, tz: tzinfo,
                 period_from: datetime, period_to: datetime) -> Report:
    """The whole report for the orders given (already filtered by period, kind, grid)."""
    by_order: dict[int, list[Entry]] = {}
    for e in entries:
        by_order.setdefault(e.order_id, []).append(e)
    rows = sorted((order_times(o, by_order.get(o.id, ()), now=now, tz=tz) for o in orders),
                  key=lambda r: (r.order.opened_at, r.order.id))
    emergencies = [r for r in rows if r.order.category == EMERGENCY_CATEGORY]
    target_s = EMERGENCY_ONSITE_TARGET.total_seconds()
    by_category: dict[str, dict[str, Stats]] = {}
    for category in sorted({r.order.category for r in rows}):
        these = [r for r in rows if r.order.category == category]
        by_category[category] = {"tta": stats(r.tta_s for r in these), "ttos": stats(r.ttos_s for r in these),
                                 "ttr": stats(r.ttr_s for r in these)}
    breaches = [r for r in rows if r.breach is not None]
    reason_counts: dict[str, int] = {}
    for r in breaches:
        code = (r.breach.reason if r.breach else None) or ""
        reason_counts[code] = reason_counts.get(code, 0) + 1
    return Report(
        period_from=period_from,
        period_to=period_to,
        now=now,
        orders=rows,
        tta=stats(r.tta_s for r in rows),
        ttos=stats(r.ttos_s for r in rows),
        ttr=stats(r.ttr_s for r in rows),
        by_category=by_category,
        emergency_onsite=onsite_rate(emergencies, target_s),
        histogram=histogram((r.ttos_s for r in emergencies), bin_s=HISTOGRAM_BIN.total_seconds(),
                            span_s=HISTOGRAM_SPAN.total_seconds()),
        by_grid=_groups(rows, lambda r: r.order.grid, last=""),
        by_team=_groups(rows, lambda r: r.team, last=UNASSIGNED_TEAM),
        by_month=_groups(rows, lambda r: r.month, keys=months_between(period_from, period_to, tz)),
        breaches=breaches,
        breach_reason_counts=reason_counts,
    )
