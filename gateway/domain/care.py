"""Care plans (银龄关爱五件套), pure: the kinds of care item, their due rules, and the dates and
moments they fall due on.

An elderly resident living alone has a plan of items: a weekly home visit (每周探访), a monthly
activity (每月活动), a quarterly health clinic (每季义诊) and a yearly home-adaptation survey
(每年适老化评估). Each item has a rule, editable per resident:

- ``week``: on a weekday (0 = Monday ... 6 = Sunday);
- ``month``: on a day of each month (1-31, clamped to the month's length: 31 is 28 or 29
  February and 30 April);
- ``quarter``: on a day of a month of each quarter (``month`` 1-3: the first, second or third
  month of January-March, April-June, ...), clamped the same way;
- ``year``: on a month and day (29 February is 28 February in a common year).

Dates are the community's local dates. An occurrence is due at a local time on its day
(``due_time`` "HH:MM"), or by default at the end of the day (the next local midnight). Its care
order is generated ``lead_days`` before, at the start of that local day; it is looked at as at
risk from the start of the due day, and it counts as missed (and is escalated) once the grace
after the due moment has passed. Local times become UTC with zoneinfo, so a daylight-saving day
keeps its wall-clock times; a wall time in a spring-forward gap is read as PEP 495 ``fold=0``
reads it (with the offset in force before the change).
"""

from __future__ import annotations

import re
from calendar import monthrange
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

GRACE = timedelta(days=1)  # a visit not done by its due moment plus this is escalated as missed
MAX_LEAD_DAYS = 90
_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


class Every(StrEnum):
    WEEK = "week"
    MONTH = "month"
    QUARTER = "quarter"
    YEAR = "year"


_MONTHS_PER_PERIOD = {Every.MONTH: 1, Every.QUARTER: 3, Every.YEAR: 12}


class CareRuleError(ValueError):
    """A rule or item that cannot be used, with a reason a person can read."""


@dataclass(frozen=True, slots=True)
class Rule:
    every: Every
    weekday: int = 0  # week: 0 = Monday ... 6 = Sunday
    day: int = 1  # month, quarter, year: the day of the month, clamped to the month's length
    month: int = 1  # quarter: 1-3 (which month of the quarter); year: 1-12
    due_time: str = ""  # local "HH:MM" on the due day; "" = the end of the day

    def problems(self) -> list[str]:
        out: list[str] = []
        if self.every is Every.WEEK and not 0 <= self.weekday <= 6:
            out.append("weekday: 0 (Monday) to 6 (Sunday)")
        if self.every is not Every.WEEK and not 1 <= self.day <= 31:
            out.append("day: 1 to 31 (clamped to the month's length)")
        if self.every is Every.QUARTER and not 1 <= self.month <= 3:
            out.append("month: 1 to 3, the month of the quarter")
        if self.every is Every.YEAR and not 1 <= self.month <= 12:
            out.append("month: 1 to 12")
        if self.due_time and not _HHMM.match(self.due_time):
            out.append("due_time: HH:MM (00:00 to 23:59), or empty for the end of the day")
        return out

    def checked(self) -> Rule:
        problems = self.problems()
        if problems:
            raise CareRuleError("; ".join(problems))
        return self


@dataclass(frozen=True, slots=True)
class CareKind:
    code: str
    zh: str
    en: str
    rule: Rule  # the default rule
    lead_days: int  # the default: the order is generated this many days before it is due


KINDS: dict[str, CareKind] = {k.code: k for k in (
    CareKind("weekly_visit", "每周探访", "weekly home visit", Rule(Every.WEEK, weekday=0), 2),
    CareKind("monthly_activity", "每月活动", "monthly activity", Rule(Every.MONTH, day=15), 7),
    CareKind("quarterly_clinic", "每季义诊", "quarterly health clinic", Rule(Every.QUARTER, month=1, day=20), 14),
    CareKind("yearly_survey", "每年适老化评估", "yearly home adaptation survey", Rule(Every.YEAR, month=3, day=1),
             30),
)}


# --- dates ------------------------------------------------------------------------------------


def _clamped(year: int, month: int, day: int) -> date:
    return date(year, month, min(day, monthrange(year, month)[1]))


def _add_months(year: int, month: int, n: int) -> tuple[int, int]:
    y, m = divmod(year * 12 + (month - 1) + n, 12)
    return y, m + 1


def first_on_or_after(rule: Rule, day: date) -> date:
    """The first occurrence of ``rule`` on or after ``day``."""
    if rule.every is Every.WEEK:
        return day + timedelta(days=(rule.weekday - day.weekday()) % 7)
    per = _MONTHS_PER_PERIOD[rule.every]
    offset = 0 if rule.every is Every.MONTH else rule.month - 1  # the month within the period
    start_month = (day.month - 1) // per * per + 1  # the first month of the period holding ``day``
    y, m = _add_months(day.year, start_month, offset)
    candidate = _clamped(y, m, rule.day)
    if candidate >= day:
        return candidate
    y, m = _add_months(day.year, start_month, offset + per)  # the next period
    return _clamped(y, m, rule.day)


def next_due(rule: Rule, after: date) -> date:
    """The first occurrence of ``rule`` strictly after ``after``."""
    return first_on_or_after(rule, after + timedelta(days=1))


def occurrences(rule: Rule, start: date, until: date) -> list[date]:
    """Every occurrence of ``rule`` from ``start`` to ``until``, both included."""
    out: list[date] = []
    day = first_on_or_after(rule, start)
    while day <= until:
        out.append(day)
        day = next_due(rule, day)
    return out


# --- moments ----------------------------------------------------------------------------------


def local_date(moment: datetime, tz: ZoneInfo) -> date:
    if moment.tzinfo is None:
        raise ValueError("moment must be timezone-aware")
    return moment.astimezone(tz).date()


def day_start(day: date, tz: ZoneInfo) -> datetime:
    """The UTC instant of local midnight at the start of ``day``."""
    return datetime.combine(day, time(0, 0), tzinfo=tz).astimezone(UTC)


def due_moment(rule: Rule, day: date, tz: ZoneInfo) -> datetime:
    """When an occurrence on ``day`` is due (UTC): its local due time, or the end of the day."""
    if not rule.due_time:
        return day_start(day + timedelta(days=1), tz)
    hh, mm = rule.due_time.split(":")
    return datetime.combine(day, time(int(hh), int(mm)), tzinfo=tz).astimezone(UTC)


@dataclass(frozen=True, slots=True)
class Occurrence:
    """One occurrence of an item: the local date, and the moments (UTC) that matter for it."""

    due_date: date
    generate_at: datetime  # the care order is generated from this moment on
    at_risk_at: datetime  # the start of the due day
    due_at: datetime
    missed_at: datetime  # due_at + grace: not done by then, it is escalated


def occurrence(rule: Rule, day: date, *, lead_days: int, tz: ZoneInfo, grace: timedelta = GRACE) -> Occurrence:
    due = due_moment(rule, day, tz)
    start = day_start(day, tz)
    return Occurrence(due_date=day, generate_at=day_start(day - timedelta(days=lead_days), tz),
                      at_risk_at=min(start, due), due_at=due, missed_at=due + grace)


def first_due(rule: Rule, *, today: date, last_due: date | None = None) -> date:
    """The next date to generate for an item: the first occurrence from ``today`` on, and after
    the last date already generated (so that editing a plan never generates a date twice)."""
    start = today if last_due is None else max(today, last_due + timedelta(days=1))
    return first_on_or_after(rule, start)


def check_lead_days(lead_days: int) -> int:
    if not 0 <= lead_days <= MAX_LEAD_DAYS:
        raise CareRuleError(f"lead_days: 0 to {MAX_LEAD_DAYS}")
    return lead_days


def rule_for(kind: str, **changes: Any) -> Rule:
    """The default rule of ``kind`` with ``changes`` (fields given as None keep the default);
    raises CareRuleError for an unknown kind or a rule that cannot be used."""
    care = KINDS.get(kind)
    if care is None:
        raise CareRuleError(f"unknown care item {kind!r}; one of: {', '.join(KINDS)}")
    given = {k: v for k, v in changes.items() if v is not None}
    if "every" in given:
        try:
            given["every"] = Every(given["every"])
        except ValueError:
            raise CareRuleError(f"every: one of {', '.join(e.value for e in Every)}") from None
    return replace(care.rule, **given).checked()


# --- words ------------------------------------------------------------------------------------

_WEEKDAYS_ZH = "一二三四五六日"
_WEEKDAYS_EN = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTHS_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def describe(rule: Rule) -> tuple[str, str]:
    """The rule in words: (Chinese, English), e.g. ("每周一", "every Monday")."""
    match rule.every:
        case Every.WEEK:
            zh, en = f"每周{_WEEKDAYS_ZH[rule.weekday]}", f"every {_WEEKDAYS_EN[rule.weekday]}"
        case Every.MONTH:
            zh, en = f"每月{rule.day}日", f"the {_ordinal(rule.day)} of each month"
        case Every.QUARTER:
            zh = f"每季度第{rule.month}个月{rule.day}日"
            en = f"the {_ordinal(rule.day)} of the {_ordinal(rule.month)} month of each quarter"
        case Every.YEAR:
            zh, en = f"每年{rule.month}月{rule.day}日", f"every year on {rule.day} {_MONTHS_EN[rule.month - 1]}"
    if rule.every is not Every.WEEK and rule.day > 28:
        zh, en = zh + "（小月取月末）", en + " (or the month's last day)"
    if rule.due_time:
        return f"{zh} {rule.due_time}前", f"{en}, by {rule.due_time}"
    return zh, en
