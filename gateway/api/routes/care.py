"""Care plans (银龄关爱五件套): each elderly resident's plan, its history and what is due next.

Grid workers read the plans of their grid, office staff (admin, dispatcher) read all and write.
Done and missed are recorded on the care orders themselves: ``POST /api/orders/{id}/arrive``
then ``/resolve`` with a note, or ``POST /api/orders/{id}/miss`` with a reason.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, HTTPException, Query
from pydantic import BaseModel, Field

from gateway.api.deps import NowDep, PrincipalDep, SessionDep, ZoneDep
from gateway.api.schemas import care as schemas
from gateway.api.schemas.base import ExactRoute
from gateway.clock import iso
from gateway.domain import care as domain
from gateway.domain.roles import Role
from gateway.services.accounts import Principal
from gateway.services.care import (
    CareError,
    ItemSettings,
    VisitRecord,
    history,
    is_active,
    items_of,
    list_plans,
    plan_of,
    rule_of,
    save_plan,
)
from gateway.storage.care_models import CareItem, CarePlan
from gateway.storage.models import Home

router = APIRouter(prefix="/api/care", tags=["care"], route_class=ExactRoute)

OFFICE = frozenset({Role.ADMIN, Role.DISPATCHER})
READERS = OFFICE | {Role.GRID_WORKER}


def _reader(principal: PrincipalDep) -> Principal:
    if principal.role not in READERS:
        raise HTTPException(403, f"role {principal.role.value} may not read care plans")
    if principal.role is Role.GRID_WORKER and not principal.grid:
        raise HTTPException(403, "no grid is assigned to you; ask an admin")
    return principal


def _writer(principal: PrincipalDep) -> Principal:
    if principal.role not in OFFICE:
        raise HTTPException(403, f"role {principal.role.value} may not change care plans")
    return principal


Reader = Annotated[Principal, Depends(_reader)]
Writer = Annotated[Principal, Depends(_writer)]


class ItemIn(BaseModel):
    kind: str = Field(description="weekly_visit, monthly_activity, quarterly_clinic, yearly_survey")
    enabled: bool = True
    every: str | None = Field(default=None, description="week, month, quarter, year (default: the kind's)")
    weekday: int | None = Field(default=None, description="week: 0 = Monday ... 6 = Sunday")
    day: int | None = Field(default=None, description="month, quarter, year: 1-31, clamped to the month's length")
    month: int | None = Field(default=None, description="quarter: 1-3 (month of the quarter); year: 1-12")
    due_time: str | None = Field(default=None, max_length=5, description='local "HH:MM"; "" = end of the due day')
    lead_days: int | None = Field(default=None, description="generate the order this many days before it is due")
    assignee: str | None = Field(default=None, max_length=64,
                                 description="who goes (user name); empty: the home's grid worker")


class PlanIn(BaseModel):
    resident: str | None = Field(default=None, max_length=128, description="default: the home's resident")
    resident_id: int | None = Field(default=None, description="the resident's record id, if known")
    enabled: bool = True
    items: list[ItemIn] | None = Field(default=None, description="kinds left out get their defaults")


def _home(session: Any, principal: Principal, home_id: str) -> Home:
    home = session.get(Home, home_id)
    if home is None:
        raise HTTPException(404, f"no home {home_id!r}")
    if principal.role is Role.GRID_WORKER and home.grid != principal.grid:
        raise HTTPException(403, f"home {home_id} is not in your grid")
    return home


def _date(d: Any) -> str | None:
    return d.isoformat() if d is not None else None


def item_json(item: CareItem, tz: ZoneInfo) -> dict[str, Any]:
    care = domain.KINDS.get(item.kind)
    rule = rule_of(item)
    zh, en = domain.describe(rule)
    nxt = None
    if item.next_due is not None:
        occ = domain.occurrence(rule, item.next_due, lead_days=item.lead_days, tz=tz)
        nxt = {"due_date": _date(occ.due_date), "due_at": iso(occ.due_at), "generate_at": iso(occ.generate_at),
               "missed_at": iso(occ.missed_at)}
    return {
        "kind": item.kind, "zh": care.zh if care else item.kind, "en": care.en if care else item.kind,
        "enabled": item.enabled, "every": item.every, "weekday": item.weekday, "day": item.day, "month": item.month,
        "due_time": item.due_time, "lead_days": item.lead_days, "assignee": item.assignee,
        "rule_zh": zh, "rule_en": en, "next": nxt, "last_due": _date(item.last_due),
    }


def visit_json(v: VisitRecord, now: datetime) -> dict[str, Any]:
    o = v.order
    care = domain.KINDS.get(o.kind)
    return {
        "order_id": o.id, "kind": o.kind, "zh": care.zh if care else o.kind, "en": care.en if care else o.kind,
        "due_date": _date(v.due_date), "due_at": iso(o.onsite_due_at), "missed_at": iso(o.resolve_due_at),
        "status": o.status, "outcome": v.outcome, "assignee": o.assignee, "opened_at": iso(o.opened_at),
        "arrived_at": iso(o.arrived_at), "resolved_at": iso(o.resolved_at), "closed_at": iso(o.closed_at),
        "note": v.note, "reason": v.reason, "recorded_by": v.recorded_by, "escalated": v.escalated,
        "overdue": is_active(o) and now >= o.onsite_due_at,
    }


def _due_next(items: list[dict[str, Any]], visits: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What is due next: the open care orders, then each enabled item's next date, soonest first."""
    out = [{"kind": v["kind"], "zh": v["zh"], "en": v["en"], "due_date": v["due_date"], "due_at": v["due_at"],
            "order_id": v["order_id"], "status": v["status"], "assignee": v["assignee"], "overdue": v["overdue"]}
           for v in visits if v["outcome"] == "open"]
    out += [{"kind": i["kind"], "zh": i["zh"], "en": i["en"], "due_date": i["next"]["due_date"],
             "due_at": i["next"]["due_at"], "order_id": None, "status": "scheduled", "assignee": i["assignee"],
             "generate_at": i["next"]["generate_at"], "overdue": False}
            for i in items if i["enabled"] and i["next"] is not None]
    return sorted(out, key=lambda d: (d["due_at"] or "", d["kind"]))


def plan_json(plan: CarePlan, home: Home | None, items: list[CareItem], tz: ZoneInfo) -> dict[str, Any]:
    return {
        "id": plan.id, "home_id": plan.home_id, "resident": plan.resident, "resident_id": plan.resident_id,
        "enabled": plan.enabled, "address": home.address if home else "", "grid": home.grid if home else "",
        "phone": home.phone if home else "", "created_at": iso(plan.created_at), "updated_at": iso(plan.updated_at),
        "updated_by": plan.updated_by, "items": [item_json(i, tz) for i in items],
    }


def _detail(session: Any, plan: CarePlan, home: Home | None, now: datetime, tz: ZoneInfo) -> dict[str, Any]:
    assert plan.id is not None
    out = plan_json(plan, home, items_of(session, plan_ids=[plan.id])[plan.id], tz)
    visits = [visit_json(v, now) for v in history(session, home_id=plan.home_id, tz=tz)]
    out["history"] = visits
    out["due_next"] = _due_next(out["items"], visits) if plan.enabled else []
    out["time_zone"] = tz.key
    out["now"] = iso(now)
    return out


@router.get("/kinds", response_model=list[schemas.CareKind])
def kinds(_: Reader) -> list[dict[str, Any]]:
    """The care items and their defaults."""
    out = []
    for care in domain.KINDS.values():
        zh, en = domain.describe(care.rule)
        out.append({"kind": care.code, "zh": care.zh, "en": care.en, "every": care.rule.every.value,
                    "weekday": care.rule.weekday, "day": care.rule.day, "month": care.rule.month,
                    "due_time": care.rule.due_time, "lead_days": care.lead_days, "rule_zh": zh, "rule_en": en})
    return out


@router.get("/plans", response_model=list[schemas.Plan])
def plans(session: SessionDep, tz: ZoneDep, principal: Reader, grid: str | None = None,
          home_id: str | None = None, limit: Annotated[int, Query(ge=1, le=2000)] = 500) -> list[dict[str, Any]]:
    if principal.role is Role.GRID_WORKER:
        if grid is not None and grid != principal.grid:
            raise HTTPException(403, f"grid {grid} is not yours")
        grid = principal.grid
    rows = list_plans(session, grid=grid or None, home_id=home_id or None, limit=limit)
    items = items_of(session, plan_ids=[p.id for p, _ in rows if p.id is not None])
    return [plan_json(p, h, items.get(p.id or 0, []), tz) for p, h in rows]


@router.get("/plans/{home_id}", response_model=schemas.PlanDetail)
def get_plan(home_id: str, session: SessionDep, now: NowDep, tz: ZoneDep, principal: Reader) -> dict[str, Any]:
    home = _home(session, principal, home_id)
    plan = plan_of(session, home_id=home_id)
    if plan is None:
        raise HTTPException(404, f"home {home_id} has no care plan")
    return _detail(session, plan, home, now, tz)


@router.put("/plans/{home_id}", response_model=schemas.PlanDetail)
def put_plan(home_id: str, body: PlanIn, session: SessionDep, now: NowDep, tz: ZoneDep,
             principal: Writer) -> dict[str, Any]:
    """Create or replace the plan: every care item is set as given, or to its defaults."""
    home = _home(session, principal, home_id)
    items = None if body.items is None else [ItemSettings(**i.model_dump()) for i in body.items]
    try:
        plan = save_plan(session, home=home, resident=body.resident, resident_id=body.resident_id,
                         enabled=body.enabled, items=items, now=now, tz=tz, actor=principal.actor)
    except CareError as exc:
        raise HTTPException(422, str(exc)) from exc
    session.commit()
    return _detail(session, plan, home, now, tz)
