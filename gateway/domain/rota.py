"""The on-call rota (值班表) as data and pure code: who is on duty at a given moment.

The plan has two parts:

- **Weekly shifts.** A weekday (0 = Monday ... 6 = Sunday), a start and an end on the
  community's wall clock ("HH:MM"), a user name and a duty: ``dispatcher`` (值班员; several
  may share a shift) or ``leader`` (值班领导, the duty leader).
- **Overrides for single dates** (调班). The same rows, with a calendar date (in the
  community's time zone) instead of a weekday.

Rules:

1. A shift runs from its start on its day to its end. An end at or before the start means
   the shift runs past midnight and ends on the next day (20:00-08:00); ``24:00`` is midnight
   at the end of the day; a start equal to the end is a 24-hour shift. A shift covers the
   half-open interval [start, end): whoever starts at 08:00 is on duty at 08:00, whoever
   ends at 08:00 is not.
2. **A date with any override rows takes its plan from them alone**: they replace every
   weekly shift that *starts* on that date. A night shift that started the day before still
   runs into the morning; a night override on that date runs into the next morning.
3. An override row without a user (``user=None``, "nobody") only marks the date as
   overridden: a date whose override rows are all "nobody" has no shifts at all (that day's
   weekly plan is cancelled). Its times and duty mean nothing. Removing all of a date's
   override rows puts the date back on the weekly plan.
4. Times are wall-clock times in the community's time zone (``zoneinfo``), turned into UTC
   for each date, so a shift keeps its wall-clock times across a daylight-saving change and
   is an hour shorter or longer that night. A wall time that does not exist (in the gap of a
   spring-forward change) or exists twice (a fall-back change) is read as PEP 495 ``fold=0``
   reads it: with the offset in force before the change.
5. Someone listed twice for the same duty at the same moment (overlapping rows) is answered
   once, with the shift that ends last.

``on_duty`` answers who is on duty at ``now``; ``OnDuty.team`` and ``OnDuty.leader_users`` are
the two audiences escalation needs. With no duty leader on duty, ``leader_users`` falls back to
the dispatchers on duty and ``leader_missing`` says so.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

MINUTES_PER_DAY = 24 * 60
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_WEEKDAY_NAMES: dict[str, int] = {
    **{name: i for i, name in enumerate(WEEKDAYS)},
    **{name: i for i, name in enumerate(("monday", "tuesday", "wednesday", "thursday", "friday", "saturday",
                                         "sunday"))},
    **{str(i + 1): i for i in range(7)},  # ISO numbering: 1 = Monday ... 7 = Sunday
    **{f"周{c}": i for i, c in enumerate("一二三四五六日")},
    **{f"星期{c}": i for i, c in enumerate("一二三四五六日")},
    "周天": 6,
    "星期天": 6,
}
_HHMM = re.compile(r"(\d{1,2}):(\d{2})(?::00)?")


class Duty(StrEnum):
    DISPATCHER = "dispatcher"  # 值班员
    LEADER = "leader"  # 值班领导


_DUTY_NAMES: dict[str, Duty] = {"dispatcher": Duty.DISPATCHER, "值班员": Duty.DISPATCHER, "值班": Duty.DISPATCHER,
                                "leader": Duty.LEADER, "值班领导": Duty.LEADER, "领导": Duty.LEADER}


class Source(StrEnum):
    WEEKLY = "weekly"
    OVERRIDE = "override"


# --- parsing, with clear errors --------------------------------------------------------------


def parse_hhmm(text: str, *, end: bool = False) -> int:
    """Minutes after midnight of a wall-clock time "HH:MM" ("H:MM" and "HH:MM:00" too).
    ``24:00`` is allowed only as an end. Raises ValueError with the reason."""
    value = str(text).strip()
    match = _HHMM.fullmatch(value)
    if match is None:
        raise ValueError(f"time {value!r} is not HH:MM")
    hours, minutes = int(match[1]), int(match[2])
    if minutes > 59 or hours > 24 or (hours == 24 and minutes):
        raise ValueError(f"time {value!r} is not a time of day (00:00 to 23:59{', or 24:00' if end else ''})")
    if hours == 24 and not end:
        raise ValueError("24:00 may only end a shift; a shift that starts at midnight starts at 00:00")
    return hours * 60 + minutes


def format_hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def parse_weekday(text: str) -> int:
    """0 = Monday ... 6 = Sunday, from mon..sun, monday..sunday, 1..7 (1 = Monday), 周一..周日
    or 星期一..星期日. Raises ValueError."""
    value = str(text).strip().lower()
    if value in _WEEKDAY_NAMES:
        return _WEEKDAY_NAMES[value]
    raise ValueError(f"weekday {text!r} is not one of mon..sun, 1..7 (1 = Monday) or 周一..周日")


def parse_date(text: str) -> date:
    """A calendar date YYYY-MM-DD. Raises ValueError."""
    value = str(text).strip()
    try:
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            raise ValueError
        return date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"date {text!r} is not a date YYYY-MM-DD") from None


def parse_duty(text: str) -> Duty:
    value = str(text).strip().lower()
    if value in _DUTY_NAMES:
        return _DUTY_NAMES[value]
    raise ValueError(f"duty {text!r} is not one of: dispatcher, leader")


# --- the plan --------------------------------------------------------------------------------


def _check_times(start: str, end: str) -> tuple[str, str]:
    return format_hhmm(parse_hhmm(start)), format_hhmm(parse_hhmm(end, end=True))


@dataclass(frozen=True, slots=True)
class Shift:
    """A weekly shift. ``start``/``end`` are normalized to "HH:MM" on construction (ValueError
    if they are not times)."""

    weekday: int  # 0 = Monday ... 6 = Sunday
    start: str
    end: str
    user: str
    duty: Duty = Duty.DISPATCHER

    def __post_init__(self) -> None:
        if not isinstance(self.weekday, int) or not 0 <= self.weekday <= 6:
            raise ValueError(f"weekday {self.weekday!r} is not 0 (Monday) to 6 (Sunday)")
        start, end = _check_times(self.start, self.end)
        object.__setattr__(self, "start", start)
        object.__setattr__(self, "end", end)
        object.__setattr__(self, "duty", parse_duty(self.duty))
        if not isinstance(self.user, str) or not self.user.strip():
            raise ValueError("a weekly shift needs a user")
        object.__setattr__(self, "user", self.user.strip())


@dataclass(frozen=True, slots=True)
class Override:
    """A shift on one date (in the community's time zone) that, with the date's other override
    rows, replaces the weekly shifts starting on that date. ``user=None``: nobody (rule 3)."""

    day: date
    start: str = "00:00"
    end: str = "24:00"
    user: str | None = None
    duty: Duty = Duty.DISPATCHER

    def __post_init__(self) -> None:
        start, end = _check_times(self.start, self.end)
        object.__setattr__(self, "start", start)
        object.__setattr__(self, "end", end)
        object.__setattr__(self, "duty", parse_duty(self.duty))
        if self.user is not None:
            object.__setattr__(self, "user", self.user.strip() or None)


@dataclass(frozen=True, slots=True)
class Assignment:
    """One person on duty: the instance of their shift that covers the moment asked about."""

    user: str
    duty: Duty
    start: datetime  # aware, UTC
    end: datetime  # aware, UTC
    source: Source


@dataclass(frozen=True, slots=True)
class OnDuty:
    dispatchers: tuple[Assignment, ...] = ()
    leaders: tuple[Assignment, ...] = ()

    @property
    def leader_missing(self) -> bool:
        return not self.leaders

    @property
    def team(self) -> tuple[str, ...]:
        """The on-call team (``oncall_team``): dispatchers then leaders on duty, each name once."""
        return tuple(dict.fromkeys(a.user for a in (*self.dispatchers, *self.leaders)))

    @property
    def leader_users(self) -> tuple[str, ...]:
        """Who is told as the duty leader (``duty_leader``): the leaders on duty, or, with none
        on duty, the dispatchers on duty (``leader_missing``)."""
        return tuple(dict.fromkeys(a.user for a in (self.leaders or self.dispatchers)))

    @property
    def nobody(self) -> bool:
        return not self.dispatchers and not self.leaders


@dataclass(frozen=True, slots=True)
class ShiftInstance:
    """A row of the plan placed on a date: when it really starts and ends (UTC)."""

    user: str
    duty: Duty
    start: datetime
    end: datetime
    source: Source = Source.WEEKLY


def wall_to_utc(day: date, minutes: int, tz: ZoneInfo) -> datetime:
    """The UTC instant of a wall-clock time (minutes after midnight, up to 24:00) on ``day``."""
    days, rest = divmod(minutes, MINUTES_PER_DAY)
    local = datetime.combine(day + timedelta(days=days), time(rest // 60, rest % 60), tzinfo=tz)
    return local.astimezone(UTC)


def place(day: date, start: str, end: str, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """Start and end (UTC) of a shift that starts on ``day`` (rule 1)."""
    s, e = parse_hhmm(start), parse_hhmm(end, end=True)
    if e <= s:
        e += MINUTES_PER_DAY
    return wall_to_utc(day, s, tz), wall_to_utc(day, e, tz)


def plan_for(day: date, shifts: Iterable[Shift], overrides: Iterable[Override], tz: ZoneInfo) -> list[ShiftInstance]:
    """The shifts that start on ``day``: its override rows if it has any (rule 2), else the
    weekly shifts of its weekday."""
    todays = [o for o in overrides if o.day == day]
    out: list[ShiftInstance] = []
    if todays:
        for o in todays:
            if o.user is not None:
                start, end = place(day, o.start, o.end, tz)
                out.append(ShiftInstance(o.user, o.duty, start, end, Source.OVERRIDE))
        return out
    for s in shifts:
        if s.weekday == day.weekday():
            start, end = place(day, s.start, s.end, tz)
            out.append(ShiftInstance(s.user, s.duty, start, end, Source.WEEKLY))
    return out


def on_duty(shifts: Iterable[Shift], overrides: Iterable[Override], now: datetime, tz: ZoneInfo) -> OnDuty:
    """Who is on duty at ``now`` (aware) in a community on ``tz``'s wall clock."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    shifts, overrides = list(shifts), list(overrides)
    today = now.astimezone(tz).date()
    best: dict[tuple[Duty, str], ShiftInstance] = {}
    # A shift lasts at most a day on the wall clock, so only yesterday's and today's can cover now.
    for day in (today - timedelta(days=1), today):
        for inst in plan_for(day, shifts, overrides, tz):
            if inst.start <= now < inst.end:
                key = (inst.duty, inst.user)
                if key not in best or inst.end > best[key].end:
                    best[key] = inst
    ordered = sorted(best.values(), key=lambda i: (i.start, i.user))

    def assignments(duty: Duty) -> tuple[Assignment, ...]:
        return tuple(Assignment(i.user, i.duty, i.start, i.end, i.source) for i in ordered if i.duty == duty)

    return OnDuty(dispatchers=assignments(Duty.DISPATCHER), leaders=assignments(Duty.LEADER))


def local_today(now: datetime, tz: ZoneInfo) -> date:
    return now.astimezone(tz).date()
