"""Response reports (服务清单: how fast): JSON, CSV exports, and reviewers' reasons for breaches.

Computed from the order timeline by ``gateway.domain.reports`` (its docstring defines every
number); ``gateway.services.reports`` loads the period's orders and timelines.
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query
from fastapi.responses import Response
from pydantic import BaseModel, Field

from gateway.api.deps import Allowed, NowDep, RuntimeDep, SessionDep, ZoneDep
from gateway.api.downloads import CsvFile, csv_text, download
from gateway.api.schemas import reports as schemas
from gateway.api.schemas.base import ExactRoute
from gateway.clock import iso
from gateway.domain.reports import (
    BREACH_REASONS,
    EMERGENCY_CATEGORY,
    Bin,
    GroupRow,
    OnsiteRate,
    OrderTimes,
    Report,
    Stats,
    group_row,
    parse_period,
)
from gateway.domain.roles import Perm
from gateway.services.accounts import Principal
from gateway.services.reports import Filters, NoBreach, OrderNotFound, response_report, set_breach_reason

router = APIRouter(prefix="/api/reports", tags=["reports"], route_class=ExactRoute)

Reader = Annotated[Principal, Depends(Allowed(Perm.REPORTS_READ))]
Reviewer = Annotated[Principal, Depends(Allowed(Perm.ORDERS_REVIEW))]

UNREVIEWED = "unreviewed"



def report_filters(
    now: NowDep,
    tz: ZoneDep,
    from_: Annotated[str | None, Query(alias="from", max_length=40,
                                       description="YYYY-MM-DD (community time zone) or RFC 3339")] = None,
    to: Annotated[str | None, Query(max_length=40, description="exclusive; a date includes that whole day")] = None,
    kind: Annotated[list[str] | None, Query(description="order kinds: sos, fall, leak, ...")] = None,
    category: Annotated[list[str] | None, Query(description="emergency, repair, maintenance")] = None,
    grid: Annotated[list[str] | None, Query()] = None,
) -> Filters:
    try:
        start, end = parse_period(from_, to, now=now, tz=tz)
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from exc
    return Filters(period_from=start, period_to=end, kinds=tuple(kind or ()), categories=tuple(category or ()),
                   grids=tuple(grid or ()))


FiltersDep = Annotated[Filters, Depends(report_filters)]


# --- JSON -------------------------------------------------------------------------------------


def _stats(s: Stats) -> dict[str, Any]:
    return {"count": s.count, "median_s": s.median_s, "p90_s": s.p90_s, "max_s": s.max_s, "mean_s": s.mean_s}


def _onsite(o: OnsiteRate) -> dict[str, Any]:
    return {"target_s": o.target_s, "decided": o.decided, "on_time": o.on_time, "late": o.late, "missed": o.missed,
            "pending": o.pending, "cancelled": o.cancelled, "pct": o.pct}


def _group(g: GroupRow) -> dict[str, Any]:
    onsite = _onsite(g.onsite)
    del onsite["target_s"]  # each order against its own target
    return {"key": g.key, "orders": g.orders, "acknowledged": g.acknowledged, "mtta_s": g.mtta_s,
            "resolved": g.resolved, "mttr_s": g.mttr_s, "onsite": onsite, "breaches": g.breaches}


def _bin(b: Bin) -> dict[str, Any]:
    return {"from_s": b.from_s, "to_s": b.to_s, "count": b.count}


def breach_json(r: OrderTimes) -> dict[str, Any]:
    o, b = r.order, r.breach
    return {
        "order_id": o.id, "kind": o.kind, "category": o.category, "priority": o.priority, "status": o.status,
        "grid": o.grid, "team": r.team, "assignee": o.assignee, "opened_at": iso(o.opened_at),
        "onsite_due_at": iso(o.onsite_due_at), "arrived_at": iso(r.arrive_at), "outcome": r.outcome.value,
        "breach": b is not None,
        "late_s": b.late_s if b else None,
        "steps": list(b.steps) if b else [],
        "recorded_at": iso(b.recorded_at) if b else None,
        "reason": b.reason if b else None,
        "note": b.note if b else None,
        "reviewed_by": b.reviewed_by if b else None,
        "reviewed_at": iso(b.reviewed_at) if b else None,
    }


def report_json(rep: Report, filters: Filters, time_zone: str) -> dict[str, Any]:
    counts = {(k or UNREVIEWED): v for k, v in sorted(rep.breach_reason_counts.items())}
    return {
        "period": {"from": iso(rep.period_from), "to": iso(rep.period_to), "time_zone": time_zone},
        "now": iso(rep.now),
        "filters": {"kind": list(filters.kinds), "category": list(filters.categories), "grid": list(filters.grids)},
        "orders": len(rep.orders),
        "summary": {"tta": _stats(rep.tta), "ttos": _stats(rep.ttos), "ttr": _stats(rep.ttr)},
        "by_category": {c: {k: _stats(s) for k, s in v.items()} for c, v in rep.by_category.items()},
        "emergency_onsite": _onsite(rep.emergency_onsite),
        "onsite_histogram": {"category": EMERGENCY_CATEGORY, "target_s": rep.emergency_onsite.target_s,
                             "bins": [_bin(b) for b in rep.histogram]},
        "by_grid": [_group(g) for g in rep.by_grid],
        "by_team": [_group(g) for g in rep.by_team],
        "by_month": [_group(g) for g in rep.by_month],
        "breaches": [breach_json(r) for r in rep.breaches],
        "breach_reason_counts": counts,
    }


@router.get("/response", response_model=schemas.ResponseReport)
def response(session: SessionDep, now: NowDep, runtime: RuntimeDep, tz: ZoneDep, filters: FiltersDep,
             principal: Reader) -> dict[str, Any]:
    """Time to acknowledge / on site / resolve, the emergencies' on-site rate, breaches, and MTTA
    and MTTR per grid, team and month. Default period: the 30 days up to now."""
    rep = response_report(session, filters=filters, now=now, tz=tz)
    return report_json(rep, filters, runtime.settings.time_zone)


# --- CSV --------------------------------------------------------------------------------------


def _local(at: datetime | None, tz: tzinfo) -> str | None:
    return None if at is None else at.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S")


def _filename(stem: str, filters: Filters, tz: tzinfo) -> str:
    start = filters.period_from.astimezone(tz).strftime("%Y%m%d")
    end = filters.period_to.astimezone(tz).strftime("%Y%m%d")
    return f"shewu-{stem}-{start}-{end}.csv"


ORDER_COLUMNS = [
    "order_id", "kind", "category", "priority", "status", "grid", "assignee", "team", "month",
    "opened_at", "opened_local", "ack_at", "tta_s", "arrived_at", "ttos_s", "resolved_at", "ttr_s",
    "onsite_target_s", "onsite_outcome", "breach", "breach_steps", "late_s", "breach_reason", "breach_reason_zh",
    "breach_reason_en", "breach_note", "reviewed_by", "reviewed_at", "cancelled_at", "cancel_reason",
]


@router.get("/response.csv", response_class=CsvFile)
def response_csv(session: SessionDep, now: NowDep, tz: ZoneDep, filters: FiltersDep,
                 principal: Reader) -> Response:
    """One row per order of the period, with its times (seconds) and breach; UTF-8 with a BOM."""
    rep = response_report(session, filters=filters, now=now, tz=tz)
    labels = {r.code: r for r in BREACH_REASONS}
    rows: list[list[Any]] = []
    for r in rep.orders:
        o, b = r.order, r.breach
        label = labels.get(b.reason) if b and b.reason else None
        rows.append([
            o.id, o.kind, o.category, o.priority, o.status, o.grid, o.assignee, r.team, r.month,
            iso(o.opened_at), _local(o.opened_at, tz), iso(r.ack_at), r.tta_s, iso(r.arrive_at), r.ttos_s,
            iso(r.resolve_at), r.ttr_s, r.onsite_target_s, r.outcome.value, "yes" if b else "no",
            " ".join(b.steps) if b else None, b.late_s if b else None, b.reason if b else None,
            label.zh if label else None, label.en if label else None, b.note if b else None,
            b.reviewed_by if b else None, iso(b.reviewed_at) if b else None, iso(r.cancel_at), r.cancel_reason,
        ])
    return download(csv_text(ORDER_COLUMNS, rows), _filename("response-orders", filters, tz))


GROUP_COLUMNS = [
    "group", "key", "orders", "acknowledged", "mtta_s", "resolved", "mttr_s", "onsite_decided", "onsite_on_time",
    "onsite_late", "onsite_missed", "onsite_pending", "onsite_cancelled", "onsite_pct", "breaches",
]


@router.get("/response-groups.csv", response_class=CsvFile)
def response_groups_csv(session: SessionDep, now: NowDep, tz: ZoneDep, filters: FiltersDep,
                        principal: Reader) -> Response:
    """The aggregates: one row per grid, team and month (``group`` says which), after a row
    ``all`` for the whole period."""
    rep = response_report(session, filters=filters, now=now, tz=tz)
    groups = [("all", group_row("", rep.orders))]
    groups += [("grid", g) for g in rep.by_grid] + [("team", g) for g in rep.by_team]
    groups += [("month", g) for g in rep.by_month]
    rows = [[name, g.key, g.orders, g.acknowledged, g.mtta_s, g.resolved, g.mttr_s, g.onsite.decided,
             g.onsite.on_time, g.onsite.late, g.onsite.missed, g.onsite.pending, g.onsite.cancelled, g.onsite.pct,
             g.breaches] for name, g in groups]
    return download(csv_text(GROUP_COLUMNS, rows), _filename("response-groups", filters, tz))


# --- breach review ----------------------------------------------------------------------------


@router.get("/breach-reasons", response_model=list[schemas.BreachReason])
def breach_reasons(principal: Reader) -> list[dict[str, str]]:
    """The reasons a reviewer may give for a breach, with their labels."""
    return [{"code": r.code, "zh": r.zh, "en": r.en} for r in BREACH_REASONS]


class BreachReasonBody(BaseModel):
    reason: str = Field(max_length=64, description="a code from GET /api/reports/breach-reasons")
    note: str | None = Field(default=None, max_length=2000)


@router.put("/breaches/{order_id}", response_model=schemas.Breach)
def review_breach(order_id: int, body: BreachReasonBody, session: SessionDep, now: NowDep, tz: ZoneDep,
                  principal: Reviewer) -> dict[str, Any]:
    """Give (or change) the reason for an order's breach: a ``breach_reason`` timeline entry; the
    latest wins. 409 when the order has no breach; the order may be closed already."""
    try:
        r = set_breach_reason(session, order_id=order_id, reason=body.reason, note=body.note,
                              actor=principal.actor, now=now, tz=tz)
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from exc
    except OrderNotFound as exc:
        raise HTTPException(404, str(exc)) from exc
    except NoBreach as exc:
        raise HTTPException(409, str(exc)) from exc
    session.commit()
    return breach_json(r)
