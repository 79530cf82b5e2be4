"""Residents' requests (居民点单) as data: the categories, who answers them (the property team
or community staff), the skill needed, and the service targets.

Targets for property work count working hours only (e.g. on site within 4 working hours,
08:00-18:00 on the community's wall clock), using the same window arithmetic as inactivity.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from gateway.domain.dispatch import Skill
from gateway.domain.inactivity import silence_due


@dataclass(frozen=True, slots=True)
class Targets:
    accept_hours: float  # taken up (dispatched and accepted)
    onsite_hours: float
    resolve_hours: float
    working_hours: bool = True  # count only WORKDAY_START..WORKDAY_END


@dataclass(frozen=True, slots=True)
class RequestCategory:
    code: str
    zh: str
    en: str
    team: str  # property | community
    skill: Skill | None
    targets: Targets
    open311: str  # the Open311 service_code


REPAIR = Targets(accept_hours=0.5, onsite_hours=4, resolve_hours=24)
COMMUNITY = Targets(accept_hours=4, onsite_hours=16, resolve_hours=40)

CATEGORIES: dict[str, RequestCategory] = {c.code: c for c in (
    RequestCategory("repair_plumbing", "维修·水管", "Repair: plumbing", "property", Skill.PLUMBING, REPAIR, "001"),
    RequestCategory("repair_electrical", "维修·电路", "Repair: electrical", "property", Skill.ELECTRICAL, REPAIR,
                    "002"),
    RequestCategory("repair_appliance", "维修·家电", "Repair: appliance", "property", Skill.APPLIANCES, REPAIR, "003"),
    RequestCategory("repair_door_lock", "维修·门锁", "Repair: door and lock", "property", Skill.LOCKS, REPAIR, "004"),
    RequestCategory("mediation", "邻里调解", "Neighbour mediation", "community", None, COMMUNITY, "010"),
    RequestCategory("elderly_care", "养老服务", "Elderly care", "community", Skill.ELDERLY_CARE, COMMUNITY, "011"),
    RequestCategory("cleaning", "保洁", "Cleaning", "property", None,
                    Targets(accept_hours=2, onsite_hours=8, resolve_hours=24), "012"),
    RequestCategory("other", "其他", "Other", "community", None, COMMUNITY, "099"),
)}

WORKDAY_START, WORKDAY_END = "08:00", "18:00"
CONFIRM_WITHIN = timedelta(hours=72)  # after "resolved": confirmed by the resident, or closed as not confirmed


@dataclass(frozen=True, slots=True)
class RequestDue:
    accept: datetime
    onsite: datetime
    at_risk: datetime
    resolve: datetime


def _after(start: datetime, hours: float, targets: Targets, tz: ZoneInfo) -> datetime:
    if not targets.working_hours:
        return start + timedelta(hours=hours)
    due = silence_due(start, hours=hours, tz=tz, start=WORKDAY_START, end=WORKDAY_END)
    return due if due is not None else start + timedelta(hours=hours)


def due_times(category: RequestCategory, opened_at: datetime, tz: ZoneInfo) -> RequestDue:
    """The targets of a request opened (or reopened) at ``opened_at``; "at risk" at three
    quarters of the on-site time."""
    t = category.targets
    return RequestDue(
        accept=_after(opened_at, t.accept_hours, t, tz),
        onsite=_after(opened_at, t.onsite_hours, t, tz),
        at_risk=_after(opened_at, t.onsite_hours * 0.75, t, tz),
        resolve=_after(opened_at, t.resolve_hours, t, tz),
    )
