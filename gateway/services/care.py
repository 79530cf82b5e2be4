"""Care plans (银龄关爱五件套): saving a resident's plan, generating its care orders as they come
due, and reading a plan's history.

``generate_due`` is the scheduler's pass (about once a minute): every enabled item whose
``generate_at`` has come is claimed by a conditional update of its timer (so that of two
instances only one takes it), its occurrence is recorded in ``care_visits`` (unique per plan,
kind and due date: an occurrence is never generated twice, whatever happens to the timer) and a
care order is opened with ``open_order``: category care, the item's kind, P3, assigned to the
item's assignee or else the home's grid worker (then ``dispatched``), due at the occurrence's
due moment, with one ladder step, ``care_overdue``, at the due moment plus the grace. Done and
missed are recorded on the order itself (resolve with a note, miss with a reason).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from gateway.domain import care as domain
from gateway.domain.orders import ACTIVE_STATUSES, Category, Priority
from gateway.domain.roles import Role
from gateway.services.dispatch import SENDABLE, OnAssigned
from gateway.services.events import OrderChange
from gateway.services.opening import Due, open_order
from gateway.storage import accounts, crud
from gateway.storage.care_models import CareItem, CarePlan, CareVisit
from gateway.storage.models import Home, Order, TimelineEntry, User

ACTOR = "shewu:care-plan"
MISSED_STEP = "care_overdue"  # gateway.domain.ladders.CARE

_ITEMS: Any = CareItem.__table__
_PLANS: Any = CarePlan.__table__
_VISITS: Any = CareVisit.__table__
_USERS: Any = User.__table__


class CareError(ValueError):
    """A plan that cannot be saved, with a reason a person can read."""


# --- plans ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ItemSettings:
    """What a PUT says about one item; None keeps the kind's default."""

    kind: str
    enabled: bool = True
    every: str | None = None
    weekday: int | None = None
    day: int | None = None
    month: int | None = None
    due_time: str | None = None
    lead_days: int | None = None
    assignee: str | None = None


def rule_of(item: CareItem | Any) -> domain.Rule:
    return domain.Rule(domain.Every(item.every), weekday=item.weekday, day=item.day, month=item.month,
                       due_time=item.due_time or "")


def _check_assignee(session: Session, name: str | None, home: Home) -> str | None:
    """Anyone who can be sent (care staff, a technician, the office), but a grid worker only in
    their own grid: the grid is what they see."""
    name = (name or "").strip() or None
    if name is None:
        return None
    user = accounts.get_user(session, name=name)
    if user is None or not user.active:
        raise CareError(f"assignee: no active user {name!r}")
    if user.role not in SENDABLE:
        raise CareError(f"assignee: a {user.role} cannot be sent on care visits")
    if user.role == Role.GRID_WORKER.value and user.grid != home.grid:
        raise CareError(f"assignee: {user.name} is a grid worker of grid {user.grid or '(none)'}, "
                        f"not of this home's grid {home.grid or '(none)'}")
    return user.name


def _schedule(item: CareItem, *, enabled: bool, today: date, tz: ZoneInfo) -> None:
    """Set the item's timer: the next date to generate and when, or none while disabled."""
    if not enabled:
        item.next_due, item.generate_at = None, None
        return
    rule = rule_of(item)
    item.next_due = domain.first_due(rule, today=today, last_due=item.last_due)
    item.generate_at = domain.occurrence(rule, item.next_due, lead_days=item.lead_days, tz=tz).generate_at


def save_plan(session: Session, *, home: Home, resident: str | None, resident_id: int | None, enabled: bool,
              items: list[ItemSettings] | None, now: datetime, tz: ZoneInfo, actor: str) -> CarePlan:
    """Create or replace the plan of ``home``. Every kind of ``KINDS`` gets an item: as given in
    ``items``, else the kind's defaults (to leave one out, disable it). Timers are set from the
    community's today on, after the last date already generated. Raises CareError."""
    given: dict[str, ItemSettings] = {}
    for settings in items or []:
        if settings.kind not in domain.KINDS:
            raise CareError(f"unknown care item {settings.kind!r}; one of: {', '.join(domain.KINDS)}")
        if settings.kind in given:
            raise CareError(f"care item {settings.kind!r} is given twice")
        given[settings.kind] = settings
    checked: dict[str, tuple[ItemSettings, domain.Rule, int, str | None]] = {}
    for kind, care in domain.KINDS.items():
        settings = given.get(kind, ItemSettings(kind))
        try:
            rule = domain.rule_for(kind, every=settings.every, weekday=settings.weekday, day=settings.day,
                                   month=settings.month, due_time=settings.due_time)
            lead = domain.check_lead_days(care.lead_days if settings.lead_days is None else settings.lead_days)
        except domain.CareRuleError as exc:
            raise CareError(f"{kind}: {exc}") from exc
        checked[kind] = (settings, rule, lead, _check_assignee(session, settings.assignee, home))

    plan = session.exec(select(CarePlan).where(CarePlan.home_id == home.home_id)).first()
    if plan is None:
        plan = CarePlan(home_id=home.home_id, created_at=now)
    plan.resident = ((resident or "").strip() or home.resident)[:128]
    plan.resident_id = resident_id
    plan.enabled = enabled
    plan.updated_at, plan.updated_by = now, actor
    session.add(plan)
    session.flush()
    assert plan.id is not None
    existing = {i.kind: i for i in session.exec(select(CareItem).where(CareItem.plan_id == plan.id)).all()}
    today = domain.local_date(now, tz)
    for kind, (settings, rule, lead, assignee) in checked.items():
        item = existing.get(kind) or CareItem(plan_id=plan.id, kind=kind, every=rule.every.value)
        item.enabled = settings.enabled
        item.every, item.weekday, item.day, item.month = rule.every.value, rule.weekday, rule.day, rule.month
        item.due_time, item.lead_days, item.assignee, item.updated_at = rule.due_time, lead, assignee, now
        _schedule(item, enabled=enabled and settings.enabled, today=today, tz=tz)
        session.add(item)
    session.flush()
    return plan


def plan_of(session: Session, *, home_id: str) -> CarePlan | None:
    return session.exec(select(CarePlan).where(CarePlan.home_id == home_id)).first()


def items_of(session: Session, *, plan_ids: list[int]) -> dict[int, list[CareItem]]:
    out: dict[int, list[CareItem]] = {pid: [] for pid in plan_ids}
    if not plan_ids:
        return out
    order = list(domain.KINDS)
    rows = session.exec(select(CareItem).where(col(CareItem.plan_id).in_(plan_ids))).all()
    for item in sorted(rows, key=lambda i: (order.index(i.kind) if i.kind in order else 99, i.kind)):
        out[item.plan_id].append(item)
    return out


def list_plans(session: Session, *, grid: str | None = None, home_id: str | None = None,
               limit: int = 500) -> list[tuple[CarePlan, Home | None]]:
    q = select(CarePlan, Home).join(Home, col(Home.home_id) == CarePlan.home_id, isouter=True)
    if grid is not None:
        q = q.where(Home.grid == grid)
    if home_id is not None:
        q = q.where(CarePlan.home_id == home_id)
    return list(session.exec(q.order_by(col(CarePlan.home_id)).limit(limit)).all())  # type: ignore[arg-type]


# --- generation -------------------------------------------------------------------------------


@dataclass
class Generated:
    orders: list[Any] = field(default_factory=list)  # the care orders opened (rows of the orders table)
    changes: list[OrderChange] = field(default_factory=list)  # for the live feed (``live_changes``)
    skipped: int = 0  # occurrences claimed but already generated (never opened twice)
    taken: int = 0  # due items looked at: ``limit`` means there may be more (a backlog)


def _insert_visit(session: Session, values: dict[str, Any]) -> int | None:
    dialect = session.get_bind().dialect.name
    insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(_VISITS)
    stmt = insert.on_conflict_do_nothing(index_elements=["plan_id", "kind", "due_date"]).returning(_VISITS.c.id)
    return session.connection().execute(stmt, values).scalar_one_or_none()


def _grid_worker(session: Session, grid: str, cache: dict[str, str | None]) -> str | None:
    if grid not in cache:
        cache[grid] = session.connection().execute(
            sa.select(_USERS.c.name)
            .where(_USERS.c.role == Role.GRID_WORKER.value, _USERS.c.grid == grid, _USERS.c.active.is_(True))
            .order_by(_USERS.c.name).limit(1)
        ).scalar_one_or_none() if grid else None
    return cache[grid]


def _due_items(session: Session, *, now: datetime, limit: int) -> list[Any]:
    stmt = (
        sa.select(_ITEMS, _PLANS.c.home_id, _PLANS.c.resident.label("plan_resident"))
        .select_from(_ITEMS.join(_PLANS, _PLANS.c.id == _ITEMS.c.plan_id))
        .where(_ITEMS.c.generate_at <= now, _ITEMS.c.enabled.is_(True), _PLANS.c.enabled.is_(True),
               _ITEMS.c.next_due.is_not(None))
        .order_by(_ITEMS.c.generate_at, _ITEMS.c.id)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True, of=_ITEMS)
    return list(session.connection().execute(stmt))


def _claim(session: Session, row: Any, *, tz: ZoneInfo) -> bool:
    """Move the item's timer on to its next occurrence, if nobody else has meanwhile."""
    rule = rule_of(row)
    following = domain.next_due(rule, row.next_due)
    at = domain.occurrence(rule, following, lead_days=row.lead_days, tz=tz).generate_at
    done = session.connection().execute(
        sa.update(_ITEMS)
        .where(_ITEMS.c.id == row.id, _ITEMS.c.next_due == row.next_due, _ITEMS.c.generate_at == row.generate_at)
        .values(next_due=following, generate_at=at, last_due=row.next_due)
    )
    return done.rowcount == 1


def generate_due(session: Session, *, now: datetime, tz: ZoneInfo, limit: int = 500,
                 on_assigned: OnAssigned | None = None) -> Generated:
    """Open the care orders whose generation time has come (at most ``limit`` occurrences per
    call, a backlog after downtime included: each occurrence missed while the gateway was down
    is generated too, late, and says so). The caller commits. Safe to run on several instances
    at once and to run again: each occurrence is generated exactly once."""
    out = Generated()
    homes: dict[str, Home | None] = {}
    workers: dict[str, str | None] = {}
    while out.taken < limit:
        due = _due_items(session, now=now, limit=limit - out.taken)
        if not due:
            break
        for row in due:
            out.taken += 1
            if not _claim(session, row, tz=tz):
                continue  # another instance took it
            visit_id = _insert_visit(session, {"plan_id": row.plan_id, "item_id": row.id, "home_id": row.home_id,
                                               "kind": row.kind, "due_date": row.next_due, "created_at": now})
            if visit_id is None:
                out.skipped += 1  # this date was generated already
                continue
            order = _open(session, row, now=now, tz=tz, homes=homes, workers=workers, on_assigned=on_assigned)
            session.connection().execute(sa.update(_VISITS).where(_VISITS.c.id == visit_id)
                                         .values(order_id=order.id))
            out.orders.append(order)
            out.changes.append(OrderChange(order.id, "opened", order))
    return out


def _open(session: Session, row: Any, *, now: datetime, tz: ZoneInfo, homes: dict[str, Home | None],
          workers: dict[str, str | None], on_assigned: OnAssigned | None) -> Any:
    care = domain.KINDS.get(row.kind)
    zh, en = (care.zh, care.en) if care else (row.kind, row.kind)
    rule = rule_of(row)
    occ = domain.occurrence(rule, row.next_due, lead_days=row.lead_days, tz=tz)
    if row.home_id not in homes:
        homes[row.home_id] = session.get(Home, row.home_id)
    home = homes[row.home_id]
    # The order names the plan's resident; address and grid come from the home.
    target = Home(home_id=row.home_id, address=home.address if home else "", grid=home.grid if home else "",
                  resident=row.plan_resident or (home.resident if home else ""))
    assignee = row.assignee or _grid_worker(session, target.grid, workers)
    due_date = row.next_due.isoformat()
    data: dict[str, Any] = {"care_kind": row.kind, "plan_id": row.plan_id, "item_id": row.id, "due_date": due_date,
                            "assignee": assignee}
    if now > occ.due_at:
        data["late"] = True  # generated after it was due (the gateway was down)
    order, _ = open_order(
        session, kind=row.kind, category=Category.CARE, priority=Priority.P3, now=now,
        due=Due(ack=None, onsite=occ.due_at, at_risk=occ.at_risk_at, resolve=occ.missed_at), home=target,
        open_key=f"care|{row.plan_id}|{row.kind}|{due_date}", actor=ACTOR,
        note=f"{zh}，应于 {due_date} 完成 / {en}, due {due_date}", assignee=assignee,
        steps=[(MISSED_STEP, occ.missed_at)], data=data,
    )
    if assignee:
        crud.append_timeline_rows(session, rows=[{
            "order_id": order.id, "at": now, "actor": ACTOR, "action": "dispatch", "note": None,
            "data": {"from": "new", "to": "dispatched", "technician": assignee},
        }])
        if on_assigned is not None:
            on_assigned(session, order, now)
    return order


# --- history ----------------------------------------------------------------------------------

_DONE = frozenset({"resolved", "closed"})
_ACTIVE = frozenset(s.value for s in ACTIVE_STATUSES)


@dataclass(frozen=True, slots=True)
class VisitRecord:
    order: Order
    due_date: date
    outcome: str  # done | missed | cancelled | open
    note: str | None  # what was done (the resolve note)
    reason: str | None  # why it was missed or cancelled
    recorded_by: str | None  # who recorded it done or missed
    escalated: bool  # the overdue step fired


def history(session: Session, *, home_id: str, tz: ZoneInfo, limit: int = 200) -> list[VisitRecord]:
    """The care orders of a home, latest due first, with what the timeline says about them."""
    orders = list(session.exec(
        select(Order).where(Order.home_id == home_id, Order.category == Category.CARE.value)
        .order_by(col(Order.onsite_due_at).desc(), col(Order.id).desc()).limit(limit)
    ).all())
    ids = [o.id for o in orders if o.id is not None]
    if not ids:
        return []
    due_dates = {v.order_id: v.due_date for v in session.exec(
        select(CareVisit).where(col(CareVisit.order_id).in_(ids))).all()}
    entries = session.exec(
        select(TimelineEntry).where(col(TimelineEntry.order_id).in_(ids),
                                    col(TimelineEntry.action).in_(("resolve", "miss", "cancel", "escalation")))
        .order_by(col(TimelineEntry.at), col(TimelineEntry.id))
    ).all()
    by_order: dict[int, list[TimelineEntry]] = {}
    for e in entries:
        by_order.setdefault(e.order_id, []).append(e)
    out: list[VisitRecord] = []
    for o in orders:
        assert o.id is not None
        note = reason = by = None
        escalated = False
        for e in by_order.get(o.id, []):
            if e.action == "escalation" and (e.data or {}).get("step") == MISSED_STEP:
                escalated = True
            elif e.action == "resolve":
                note, by = e.note, e.actor
            elif e.action in ("miss", "cancel"):
                reason, by = (e.data or {}).get("reason") or e.note, e.actor
        if o.status in _DONE:
            outcome = "done"
        elif o.status == "missed":
            outcome = "missed"
        elif o.status == "cancelled":
            outcome = "cancelled"
        else:
            outcome = "open"
        due = due_dates.get(o.id) or domain.local_date(o.at_risk_at, tz)
        out.append(VisitRecord(order=o, due_date=due, outcome=outcome, note=note, reason=reason, recorded_by=by,
                               escalated=escalated))
    return out


def is_active(order: Order) -> bool:
    return order.status in _ACTIVE
