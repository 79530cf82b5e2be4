"""The three lists (需求清单、资源清单、服务清单) and the yearly summary per community.

Each list is a ``Table``: its columns (one definition, ``NEED_COLUMNS`` and so on, with zh and en
labels) and its rows, one dict a row keyed by the column keys, with values already in words in
the language asked for (``lang``: ``zh`` or ``en``). The page, the CSV and the XLSX are all drawn
from the same ``Table``, so an export holds exactly what the page shows. Each row also carries
``codes`` (not a column): the stable codes behind the words (category, kind, status, ...), for
programs that read the JSON.

- **需求清单 needs**: every order opened in the period (``opened_at``), whatever raised it: a
  device (alarms, device health, inactivity), a resident or a grid worker on their behalf (a
  request), an integration (a request filed with an integration token, e.g. through Open311) or
  a care plan. Filters: grid, status, category (the order's: emergency, repair, maintenance,
  wellbeing, request, care), kind (sos, leak, repair_plumbing, weekly_visit, ...).
- **资源清单 resources**: active staff (admins, dispatchers, technicians, grid workers) with role,
  team, skills, grid, phone, availability, who is on duty now by the rota
  (``gateway.services.rota.on_call``), active orders (``gateway.storage.dispatch.loads``) and
  orders resolved in the period. Filters: grid, status (availability), role, skill, team.
- **服务清单 services**: orders resolved in the period (by ``orders.resolved_at``; status resolved
  or closed): what, where, by whom, how fast, whether on target and the resident's rating. The
  times and the on-site outcome are the response report's, per order
  (``gateway.domain.reports.order_times`` over the same timeline entries): to acknowledge
  (first ack or dispatch), to on site (first arrival), to resolve (first resolve), each from the
  opening, in minutes here. The rating is the one given on confirmation.

The yearly **summary** (``summary``) is per community (one gateway serves one community) and per
grid; ``SUMMARY_DEFINITIONS`` says how each number is counted.

Times in rows are the community's wall clock, ``YYYY-MM-DD HH:MM:SS``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlmodel import Session, col, select

from gateway.domain.care import KINDS as CARE_KINDS
from gateway.domain.reports import EMERGENCY_CATEGORY, OrderIn, OrderTimes, onsite_rate, order_times
from gateway.domain.requests import CATEGORIES
from gateway.domain.roles import Role
from gateway.services import rota
from gateway.services.reports import Filters, response_report, timeline_entries
from gateway.storage import dispatch as dispatch_store
from gateway.storage.models import Order, ServiceRequest, TimelineEntry, User

MAX_ROWS = 100_000
_CHUNK = 500
STAFF_ROLES = (Role.ADMIN.value, Role.DISPATCHER.value, Role.TECHNICIAN.value, Role.GRID_WORKER.value)
DONE_STATUSES = ("resolved", "closed")


@dataclass(frozen=True, slots=True)
class Column:
    key: str
    zh: str
    en: str
    num: bool = False  # a number: right-aligned on the page, a number cell in the XLSX
    decimals: int | None = None  # how the page writes it (a whole number in JSON loses its ".0")

    def label(self, lang: str) -> str:
        return self.en if lang == "en" else self.zh


@dataclass(frozen=True, slots=True)
class Table:
    name: str
    columns: tuple[Column, ...]
    rows: list[dict[str, Any]]
    truncated: bool = False

    def header(self, lang: str) -> list[str]:
        return [c.label(lang) for c in self.columns]

    def matrix(self) -> list[list[Any]]:
        """The rows as lists, in column order: what the CSV and the XLSX hold."""
        return [[row[c.key] for c in self.columns] for row in self.rows]


TITLES: dict[str, tuple[str, str]] = {
    "needs": ("需求清单", "Demand list"),
    "resources": ("资源清单", "Resource list"),
    "services": ("服务清单", "Service list"),
    "summary": ("年度服务汇总", "Yearly summary"),
}

# --- words ------------------------------------------------------------------------------------

CATEGORY_NAMES: dict[str, tuple[str, str]] = {
    "emergency": ("紧急求助", "Emergency"),
    "repair": ("维修工单", "Repair ticket"),
    "maintenance": ("设备维护", "Device maintenance"),
    "wellbeing": ("关怀探视", "Wellbeing check"),
    "request": ("居民点单", "Resident's request"),
    "care": ("银龄关爱", "Care visit"),
}
ALARM_KIND_NAMES: dict[str, tuple[str, str]] = {
    "sos": ("紧急呼叫", "SOS"),
    "fall": ("跌倒", "Fall"),
    "leak": ("漏水", "Water leak"),
    "battery_low": ("电量低", "Low battery"),
    "tamper": ("设备被拆", "Tamper"),
    "fire": ("火警", "Fire"),
    "gas": ("燃气泄漏", "Gas leak"),
    "co": ("一氧化碳", "Carbon monoxide"),
    "intrusion": ("入侵报警", "Intrusion"),
    "alarm": ("报警", "Alarm"),
    "unknown_alarm": ("未知报警", "Unknown alarm"),
    "trouble": ("设备故障", "Device trouble"),
    "offline": ("设备离线", "Device offline"),
    "power_lost": ("断电", "Power lost"),
    "wellbeing": ("长时间无活动", "No activity"),
}
SOURCE_NAMES: dict[str, tuple[str, str]] = {
    "device": ("设备告警", "Device"),
    "resident": ("居民自报", "Resident"),
    "on_behalf": ("代为提交", "Filed on the resident's behalf"),
    "integration": ("系统对接", "Integration"),
    "care_plan": ("关爱计划", "Care plan"),
    "other": ("其他", "Other"),
}
OUTCOME_NAMES: dict[str, tuple[str, str]] = {
    "on_time": ("按时", "On time"),
    "late": ("迟到", "Late"),
    "missed": ("超时未到", "Missed"),
    "pending": ("未到时限", "Within target"),
    "cancelled": ("已取消", "Cancelled"),
    "no_target": ("无时限", "No target"),
}
ROLE_NAMES: dict[str, tuple[str, str]] = {
    "admin": ("管理员", "Admin"),
    "dispatcher": ("值班员", "Dispatcher"),
    "technician": ("维修师傅", "Technician"),
    "grid_worker": ("网格员", "Grid worker"),
    "resident": ("居民", "Resident"),
}
AVAILABILITY_NAMES: dict[str, tuple[str, str]] = {
    "available": ("空闲", "Available"),
    "busy": ("忙碌", "Busy"),
    "off_duty": ("休息", "Off duty"),
}
SKILL_NAMES: dict[str, tuple[str, str]] = {
    "plumbing": ("水管", "plumbing"),
    "electrical": ("电路", "electrical"),
    "appliances": ("家电", "appliances"),
    "locks": ("门锁", "locks"),
    "elderly_care": ("养老照护", "elderly care"),
    "devices": ("设备", "devices"),
}
STATUS_NAMES: dict[str, tuple[str, str]] = {
    "open": ("待确认", "Open"),
    "acknowledged": ("已确认", "Acknowledged"),
    "new": ("待派单", "New"),
    "dispatched": ("已派单", "Dispatched"),
    "accepted": ("已接单", "Accepted"),
    "en_route": ("已出发", "On the way"),
    "on_site": ("已到场", "On site"),
    "third_party": ("等待第三方", "Third party"),
    "resolved": ("已处理", "Resolved"),
    "closed": ("已完成", "Done"),
    "cancelled": ("已取消", "Cancelled"),
    "missed": ("未完成", "Missed"),
}
DUTY_NAMES: dict[str, tuple[str, str]] = {"dispatcher": ("值班员", "dispatcher"), "leader": ("值班领导", "duty leader")}


def say(names: dict[str, tuple[str, str]], code: str | None, lang: str) -> str:
    if not code:
        return ""
    pair = names.get(code)
    return code if pair is None else (pair[1] if lang == "en" else pair[0])


def kind_name(kind: str, lang: str) -> str:
    if kind in CATEGORIES:
        c = CATEGORIES[kind]
        return c.en if lang == "en" else c.zh
    care = CARE_KINDS.get(kind)
    if care is not None:
        return care.en if lang == "en" else care.zh
    return say(ALARM_KIND_NAMES, kind, lang)


def status_name(status: str, lang: str) -> str:
    return say(STATUS_NAMES, status, lang)


def local(at: datetime | None, tz: tzinfo) -> str | None:
    return None if at is None else at.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S")


def minutes(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds / 60.0, 1)


def _chunks(ids: Sequence[int]) -> Iterator[list[int]]:
    for i in range(0, len(ids), _CHUNK):
        yield list(ids[i:i + _CHUNK])


# --- filters ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ListFilters:
    period_from: datetime
    period_to: datetime  # exclusive
    grids: Sequence[str] = ()
    statuses: Sequence[str] = ()
    categories: Sequence[str] = ()
    kinds: Sequence[str] = ()
    # what the asker may see (``gateway.api.routes.orders.scope``): a grid, or their own orders
    scope_grid: str | None = None
    scope_assignee: str | None = None
    limit: int = 10_000


def _order_where(f: ListFilters) -> list[Any]:
    where: list[Any] = []
    if f.grids:
        where.append(col(Order.grid).in_(list(f.grids)))
    if f.statuses:
        where.append(col(Order.status).in_(list(f.statuses)))
    if f.categories:
        where.append(col(Order.category).in_(list(f.categories)))
    if f.kinds:
        where.append(col(Order.kind).in_(list(f.kinds)))
    if f.scope_grid is not None:
        where.append(Order.grid == f.scope_grid)
    if f.scope_assignee is not None:
        where.append(Order.assignee == f.scope_assignee)
    return where


def _requests_of(session: Session, order_ids: Sequence[int]) -> dict[int, list[ServiceRequest]]:
    """The filings of each order, oldest first."""
    out: dict[int, list[ServiceRequest]] = {}
    for chunk in _chunks(order_ids):
        rows = session.exec(select(ServiceRequest).where(col(ServiceRequest.order_id).in_(chunk))
                            .order_by(col(ServiceRequest.id))).all()
        for r in rows:
            out.setdefault(r.order_id, []).append(r)
    return out


def _opened_notes(session: Session, order_ids: Sequence[int]) -> dict[int, str]:
    out: dict[int, str] = {}
    for chunk in _chunks(order_ids):
        rows = session.exec(select(TimelineEntry.order_id, TimelineEntry.note)
                            .where(col(TimelineEntry.order_id).in_(chunk), TimelineEntry.action == "opened")).all()
        for oid, note in rows:
            if note and oid not in out:
                out[oid] = note
    return out


def source_of(order: Order, first: ServiceRequest | None) -> str:
    if order.category == "care":
        return "care_plan"
    if order.device_id:
        return "device"
    if first is not None:
        if first.filed_by.startswith("token:"):
            return "integration"
        return "on_behalf" if first.on_behalf else "resident"
    return "other"


def _rating(filings: Sequence[ServiceRequest]) -> ServiceRequest | None:
    return next((r for r in filings if r.rating is not None), None)


# --- 需求清单 ----------------------------------------------------------------------------------

NEED_COLUMNS: tuple[Column, ...] = (
    Column("order_id", "工单号", "Order", num=True),
    Column("opened_at", "发生时间", "Opened"),
    Column("source", "来源", "Source"),
    Column("category", "类别", "Category"),
    Column("kind", "事项", "What"),
    Column("priority", "优先级", "Priority"),
    Column("status", "状态", "Status"),
    Column("grid", "网格", "Grid"),
    Column("home_id", "房屋", "Home"),
    Column("resident", "居民", "Resident"),
    Column("address", "地址", "Address"),
    Column("description", "内容", "Details"),
    Column("device_id", "设备", "Device"),
    Column("filed_by", "提交人", "Filed by"),
    Column("repeats", "次数", "Times raised", num=True),
    Column("assignee", "处理人", "Assignee"),
    Column("onsite_due_at", "到场时限", "On site by"),
    Column("ended_at", "结束时间", "Ended"),
)


def needs(session: Session, f: ListFilters, *, tz: tzinfo, lang: str) -> Table:
    stmt = (select(Order).where(col(Order.opened_at) >= f.period_from, col(Order.opened_at) < f.period_to,
                                *_order_where(f))
            .order_by(col(Order.opened_at).desc(), col(Order.id).desc()).limit(f.limit + 1))
    orders = list(session.exec(stmt).all())
    truncated = len(orders) > f.limit
    orders = orders[:f.limit]
    ids = [o.id for o in orders if o.id is not None]
    filings = _requests_of(session, ids)
    notes = _opened_notes(session, ids)
    rows = []
    for o in orders:
        mine = filings.get(o.id or 0, [])
        first = mine[0] if mine else None
        source = source_of(o, first)
        rows.append({
            "order_id": o.id,
            "opened_at": local(o.opened_at, tz),
            "source": say(SOURCE_NAMES, source, lang),
            "category": say(CATEGORY_NAMES, o.category, lang),
            "kind": kind_name(o.kind, lang),
            "priority": o.priority,
            "status": status_name(o.status, lang),
            "grid": o.grid,
            "home_id": o.home_id or "",
            "resident": o.resident,
            "address": o.address,
            "description": first.description if first else (notes.get(o.id or 0) or ""),
            "device_id": o.device_id,
            "filed_by": first.filed_by if first else "",
            "repeats": o.event_count,
            "assignee": o.assignee or "",
            "onsite_due_at": local(o.onsite_due_at, tz),
            "ended_at": local(o.resolved_at or o.cancelled_at or o.closed_at, tz),
            "codes": {"source": source, "category": o.category, "kind": o.kind, "status": o.status},
        })
    return Table("needs", NEED_COLUMNS, rows, truncated)


# --- 资源清单 ----------------------------------------------------------------------------------

RESOURCE_COLUMNS: tuple[Column, ...] = (
    Column("name", "账号", "User"),
    Column("display_name", "姓名", "Name"),
    Column("role", "角色", "Role"),
    Column("team", "班组", "Team"),
    Column("skills", "技能", "Skills"),
    Column("grid", "网格", "Grid"),
    Column("building", "楼栋", "Building"),
    Column("phone", "电话", "Phone"),
    Column("status", "状态", "Availability"),
    Column("on_duty", "当前值班", "On duty now"),
    Column("load", "在办工单", "Active orders", num=True),
    Column("done", "期间完成", "Resolved in period", num=True),
)


@dataclass(frozen=True, slots=True)
class ResourceFilters:
    period_from: datetime
    period_to: datetime
    grids: Sequence[str] = ()
    statuses: Sequence[str] = ()
    roles: Sequence[str] = ()
    skills: Sequence[str] = ()
    teams: Sequence[str] = ()


def _done_counts(session: Session, *, since: datetime, until: datetime) -> dict[str, int]:
    rows = session.exec(
        select(Order.assignee, sa.func.count())
        .where(col(Order.assignee).is_not(None), col(Order.resolved_at) >= since, col(Order.resolved_at) < until)
        .group_by(Order.assignee)
    ).all()
    return {name: n for name, n in rows if name}


def resources(session: Session, f: ResourceFilters, *, now: datetime, tz: ZoneInfo, lang: str) -> Table:
    stmt = select(User).where(col(User.role).in_(list(f.roles or STAFF_ROLES)), col(User.active).is_(True))
    if f.grids:
        stmt = stmt.where(col(User.grid).in_(list(f.grids)))
    if f.statuses:
        stmt = stmt.where(col(User.status).in_(list(f.statuses)))
    if f.teams:
        stmt = stmt.where(col(User.team).in_(list(f.teams)))
    users = [u for u in session.exec(stmt.order_by(User.role, User.name)).all()
             if not f.skills or set(f.skills) & set(u.skills or ())]
    load = dispatch_store.loads(session)
    done = _done_counts(session, since=f.period_from, until=f.period_to)
    duty = rota.on_call(session, now=now, tz=tz)
    on_duty: dict[str, list[tuple[str, datetime]]] = {}
    for a in (*duty.dispatchers, *duty.leaders):
        on_duty.setdefault(a.user, []).append((a.duty.value, a.end))
    rows = []
    for u in users:
        duties = on_duty.get(u.name, [])
        until = [f"{say(DUTY_NAMES, d, lang)} {'until' if lang == 'en' else '至'} "
                 f"{end.astimezone(tz).strftime('%m-%d %H:%M')}" for d, end in duties]
        rows.append({
            "name": u.name,
            "display_name": u.display_name,
            "role": say(ROLE_NAMES, u.role, lang),
            "team": u.team,
            "skills": (", " if lang == "en" else "、").join(say(SKILL_NAMES, s, lang) for s in (u.skills or ())),
            "grid": u.grid,
            "building": u.building,
            "phone": u.phone,
            "status": say(AVAILABILITY_NAMES, u.status, lang),
            "on_duty": "; ".join(until),
            "load": load.get(u.name, 0),
            "done": done.get(u.name, 0),
            "codes": {"role": u.role, "status": u.status, "skills": list(u.skills or ()),
                      "duty": [d for d, _ in duties]},
        })
    return Table("resources", RESOURCE_COLUMNS, rows)


# --- 服务清单 ----------------------------------------------------------------------------------

SERVICE_COLUMNS: tuple[Column, ...] = (
    Column("order_id", "工单号", "Order", num=True),
    Column("category", "类别", "Category"),
    Column("kind", "事项", "What"),
    Column("grid", "网格", "Grid"),
    Column("home_id", "房屋", "Home"),
    Column("resident", "居民", "Resident"),
    Column("address", "地址", "Address"),
    Column("assignee", "处理人", "Done by"),
    Column("assignee_name", "处理人姓名", "Name"),
    Column("team", "班组", "Team"),
    Column("opened_at", "发生时间", "Opened"),
    Column("arrived_at", "到场时间", "Arrived"),
    Column("resolved_at", "完成时间", "Resolved"),
    Column("tta_min", "响应用时(分)", "To acknowledge (min)", num=True, decimals=1),
    Column("ttos_min", "到场用时(分)", "To on site (min)", num=True, decimals=1),
    Column("ttr_min", "处理用时(分)", "To resolve (min)", num=True, decimals=1),
    Column("onsite_target_min", "到场时限(分)", "On-site target (min)", num=True, decimals=1),
    Column("outcome", "是否按时", "On target"),
    Column("work_note", "处理说明", "What was done"),
    Column("status", "状态", "Status"),
    Column("rating", "评分", "Rating", num=True),
    Column("rating_comment", "居民评价", "Resident's comment"),
)


@dataclass(frozen=True, slots=True)
class Done:
    """One order done (resolved), with its report times."""

    order: Order
    times: OrderTimes
    team: str
    work_note: str
    rating: int | None
    rating_comment: str | None


def _order_in(o: Order, team: str) -> OrderIn:
    return OrderIn(id=o.id or 0, kind=o.kind, category=o.category, priority=o.priority, opened_at=o.opened_at,
                   status=o.status, grid=o.grid or "", assignee=o.assignee, team=team,
                   onsite_due_at=o.onsite_due_at, cancelled_at=o.cancelled_at, cancel_reason=o.cancel_reason)


def done_orders(session: Session, where: Sequence[Any], *, since: datetime, until: datetime, now: datetime,
                tz: tzinfo, limit: int | None = None) -> tuple[list[Done], bool]:
    """Orders resolved in [since, until) (status resolved or closed) and ``where``, latest first;
    and whether ``limit`` cut the list."""
    stmt = (select(Order).where(col(Order.status).in_(DONE_STATUSES), col(Order.resolved_at) >= since,
                                col(Order.resolved_at) < until, *where)
            .order_by(col(Order.resolved_at).desc(), col(Order.id).desc()))
    if limit is not None:
        stmt = stmt.limit(limit + 1)
    orders = list(session.exec(stmt).all())
    truncated = limit is not None and len(orders) > limit
    orders = orders[:limit] if limit is not None else orders
    ids = [o.id for o in orders if o.id is not None]
    teams = {u.name: u.team for u in session.exec(select(User)).all()}
    entries: dict[int, list[Any]] = {}
    for chunk in _chunks(ids):
        for e in timeline_entries(session, chunk):
            entries.setdefault(e.order_id, []).append(e)
    filings = _requests_of(session, ids)
    out = []
    for o in orders:
        team = teams.get(o.assignee or "", "") or ""
        mine = entries.get(o.id or 0, [])
        times = order_times(_order_in(o, team), mine, now=now, tz=tz)
        note = next((e.note for e in sorted(mine, key=lambda e: (e.at, e.seq)) if e.action == "resolve" and e.note),
                    "")
        rated = _rating(filings.get(o.id or 0, []))
        out.append(Done(order=o, times=times, team=team, work_note=note or "",
                        rating=rated.rating if rated else None, rating_comment=rated.rating_comment if rated else None))
    return out, truncated


def services(session: Session, f: ListFilters, *, now: datetime, tz: tzinfo, lang: str) -> Table:
    if f.statuses:  # only done states make sense here
        f = replace(f, statuses=[s for s in f.statuses if s in DONE_STATUSES] or ["-"])
    done, truncated = done_orders(session, _order_where(f), since=f.period_from, until=f.period_to, now=now, tz=tz,
                                  limit=f.limit)
    names = {u.name: u.display_name for u in session.exec(select(User)).all()}
    rows = []
    for d in done:
        o, t = d.order, d.times
        rows.append({
            "order_id": o.id,
            "category": say(CATEGORY_NAMES, o.category, lang),
            "kind": kind_name(o.kind, lang),
            "grid": o.grid,
            "home_id": o.home_id or "",
            "resident": o.resident,
            "address": o.address,
            "assignee": o.assignee or "",
            "assignee_name": names.get(o.assignee or "", "") or "",
            "team": d.team,
            "opened_at": local(o.opened_at, tz),
            "arrived_at": local(t.arrive_at, tz),
            "resolved_at": local(o.resolved_at, tz),
            "tta_min": minutes(t.tta_s),
            "ttos_min": minutes(t.ttos_s),
            "ttr_min": minutes(t.ttr_s),
            "onsite_target_min": minutes(t.onsite_target_s),
            "outcome": say(OUTCOME_NAMES, t.outcome.value, lang),
            "work_note": d.work_note,
            "status": status_name(o.status, lang),
            "rating": d.rating,
            "rating_comment": d.rating_comment or "",
            "codes": {"category": o.category, "kind": o.kind, "status": o.status, "outcome": t.outcome.value},
        })
    return Table("services", SERVICE_COLUMNS, rows, truncated)


# --- the yearly summary -----------------------------------------------------------------------

SUMMARY_COLUMNS: tuple[Column, ...] = (
    Column("scope", "范围", "Scope"),
    Column("grid", "网格", "Grid"),
    Column("needs", "需求总数", "Needs raised", num=True),
    Column("requests", "居民点单", "Requests", num=True),
    Column("filings", "点单次数", "Filings", num=True),
    Column("services_done", "完成服务", "Services done", num=True),
    Column("repairs_done", "上门维修完成", "Repairs done at home", num=True),
    Column("repairs_on_target_pct", "维修按时到场率%", "Repairs on target %", num=True, decimals=1),
    Column("ratings", "评价数", "Ratings", num=True),
    Column("avg_rating", "平均评分", "Average rating", num=True, decimals=2),
    Column("onsite_decided", "已判定工单", "Orders judged", num=True),
    Column("onsite_on_time", "按时到场", "On time", num=True),
    Column("onsite_pct", "按时到场率%", "On target %", num=True, decimals=1),
    Column("emergencies", "紧急求助", "Emergencies", num=True),
    Column("emergency_onsite_pct", "紧急15分钟到场率%", "Emergencies on site in 15 min %", num=True, decimals=1),
    Column("care_due", "关爱任务", "Care visits due", num=True),
    Column("care_done", "关爱完成", "Care visits done", num=True),
    Column("care_missed", "关爱未完成", "Care visits missed", num=True),
    Column("care_done_pct", "关爱完成率%", "Care visits done %", num=True, decimals=1),
)

SUMMARY_DEFINITIONS: tuple[tuple[str, str, str], ...] = (
    ("needs", "年内发生的全部工单（设备告警、居民点单、关爱任务等），按发生时间计。",
     "Every order opened in the year (device alarms, requests, care visits, ...), by opening time."),
    ("requests", "年内新开的居民点单工单；点单次数含并入已有工单的重复点单。",
     "Residents' request orders opened in the year; filings also count repeats joined to an open order."),
    ("services_done", "年内处理完成（已处理或已关闭）的工单，按完成时间计。",
     "Orders resolved in the year (now resolved or closed), by resolution time."),
    ("repairs_done", "其中的维修：居民报修（维修·水管/电路/家电/门锁）和漏水维修工单。",
     "Of those, repairs: residents' repair requests (plumbing, electrical, appliance, door and lock) and "
     "leak repair tickets."),
    ("repairs_on_target_pct", "完成的维修中按各自时限到场的比例。",
     "Share of the repairs done whose technician arrived by the order's own on-site target."),
    ("avg_rating", "年内完成、居民确认时给出的评分（1–5）的平均值。",
     "Mean of the ratings (1-5) residents gave on confirming the services done in the year."),
    ("onsite_pct", "年内发生的工单：按时到场 ÷（按时 + 迟到 + 超时未到），与响应报表相同；已取消和未到时限的不计。",
     "Orders opened in the year: on time / (on time + late + missed), as in the response report; cancelled "
     "and still-undecided orders are left out."),
    ("emergency_onsite_pct", "年内的紧急求助（SOS、跌倒）中 15 分钟内有人到场的比例，口径同上。",
     "Emergencies (SOS, fall) opened in the year with someone on site within 15 minutes, counted as above."),
    ("care_done_pct", "年内生成的关爱任务：完成 ÷（完成 + 未完成）。",
     "Care visits generated in the year: done / (done + missed)."),
)


def year_bounds(year: int, tz: tzinfo) -> tuple[datetime, datetime]:
    return (datetime.combine(date(year, 1, 1), time(0), tzinfo=tz),
            datetime.combine(date(year + 1, 1, 1), time(0), tzinfo=tz))


def is_repair(category: str, kind: str) -> bool:
    return category == "repair" or (category == "request" and kind.startswith("repair_"))


def _pct(part: int, whole: int) -> float | None:
    return None if whole == 0 else round(100.0 * part / whole, 1)


@dataclass(slots=True)
class _Scope:
    opened: list[OrderTimes] = field(default_factory=list)
    done: list[Done] = field(default_factory=list)
    filings: int = 0


def _numbers(s: _Scope) -> dict[str, Any]:
    rate = onsite_rate(s.opened)
    emergency = onsite_rate(r for r in s.opened if r.order.category == EMERGENCY_CATEGORY)
    repairs = [d for d in s.done if is_repair(d.order.category, d.order.kind)]
    repair_rate = onsite_rate(d.times for d in repairs)
    ratings = [d.rating for d in s.done if d.rating is not None]
    care = [r for r in s.opened if r.order.category == "care"]
    care_done = sum(1 for r in care if r.order.status in DONE_STATUSES)
    care_missed = sum(1 for r in care if r.order.status == "missed")
    return {
        "needs": len(s.opened),
        "requests": sum(1 for r in s.opened if r.order.category == "request"),
        "filings": s.filings,
        "services_done": len(s.done),
        "repairs_done": len(repairs),
        "repairs_on_target_pct": repair_rate.pct,
        "ratings": len(ratings),
        "avg_rating": round(sum(ratings) / len(ratings), 2) if ratings else None,
        "onsite_decided": rate.decided,
        "onsite_on_time": rate.on_time,
        "onsite_pct": rate.pct,
        "emergencies": sum(1 for r in s.opened if r.order.category == EMERGENCY_CATEGORY),
        "emergency_onsite_pct": emergency.pct,
        "care_due": len(care),
        "care_done": care_done,
        "care_missed": care_missed,
        "care_done_pct": _pct(care_done, care_done + care_missed),
    }


@dataclass(frozen=True, slots=True)
class Summary:
    year: int
    period_from: datetime
    period_to: datetime
    table: Table  # the community first, then each grid
    by_category: dict[str, dict[str, int]]  # scope key ("" the community, else the grid) → category → needs


def summary(session: Session, *, year: int, now: datetime, tz: ZoneInfo, lang: str,
            grid_names: dict[str, str] | None = None, community: str = "") -> Summary:
    start, end = year_bounds(year, tz)
    report = response_report(session, filters=Filters(period_from=start, period_to=end), now=now, tz=tz)
    done, _ = done_orders(session, [], since=start, until=end, now=now, tz=tz)
    filings = session.exec(
        select(Order.grid, sa.func.count()).select_from(ServiceRequest)
        .join(Order, col(Order.id) == ServiceRequest.order_id)
        .where(col(ServiceRequest.filed_at) >= start, col(ServiceRequest.filed_at) < end)
        .group_by(Order.grid)
    ).all()
    whole = _Scope(opened=list(report.orders), done=done, filings=sum(n for _, n in filings))
    grids: dict[str, _Scope] = {}
    for r in report.orders:
        grids.setdefault(r.order.grid, _Scope()).opened.append(r)
    for d in done:
        grids.setdefault(d.order.grid or "", _Scope()).done.append(d)
    for g, n in filings:
        grids.setdefault(g or "", _Scope()).filings += n
    names = grid_names or {}
    for g in names:
        grids.setdefault(g, _Scope())
    no_grid = "(no grid)" if lang == "en" else "（无网格）"
    rows = [{"scope": community or ("Whole community" if lang == "en" else "全社区"), "grid": "",
             **_numbers(whole), "codes": {"scope": "community"}}]
    by_category = {"": _categories(whole)}
    for g in sorted(grids, key=lambda k: (k == "", k)):
        rows.append({"scope": names.get(g) or g or no_grid, "grid": g, **_numbers(grids[g]),
                     "codes": {"scope": "grid"}})
        by_category[g] = _categories(grids[g])
    return Summary(year=year, period_from=start, period_to=end, table=Table("summary", SUMMARY_COLUMNS, rows),
                   by_category=by_category)


def _categories(s: _Scope) -> dict[str, int]:
    out: dict[str, int] = {}
    for r in s.opened:
        out[r.order.category] = out.get(r.order.category, 0) + 1
    return dict(sorted(out.items()))

