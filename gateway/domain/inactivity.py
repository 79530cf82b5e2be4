"""Inactivity (no-activity) monitoring, pure: how much watched time has passed since a
resident was last up and about, and when it reaches the limit.

Only time inside the daily window counts (e.g. 07:00-22:00 on the community's wall clock), so a
night's sleep is not silence: last seen moving at 21:00 with a 4-hour limit raises a check at
10:00 the next morning, not at 01:00. A window may run past midnight (22:00-07:00 watches the
night). Days are placed in local time with zoneinfo, so a daylight-saving day is 23 or 25 hours.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from gateway.domain.rota import place

MAX_DAYS = 14  # beyond this the limit is taken as never reached (a window of a few minutes a day)


def _windows(since: datetime, tz: ZoneInfo, start: str, end: str, days: int):  # type: ignore[no-untyped-def]
    first = since.astimezone(tz).date() - timedelta(days=1)  # a window that began yesterday may still run
    for i in range(days + 2):
        yield place(first + timedelta(days=i), start, end, tz)


def watched_seconds(since: datetime, until: datetime, *, tz: ZoneInfo, start: str, end: str) -> float:
    """Seconds of [since, until) that fall inside the daily window."""
    total = 0.0
    days = (until - since).days + 1
    for ws, we in _windows(since, tz, start, end, days):
        lo, hi = max(ws, since), min(we, until)
        if hi > lo:
            total += (hi - lo).total_seconds()
    return total


def silence_due(last_activity: datetime, *, hours: float, tz: ZoneInfo, start: str, end: str) -> datetime | None:
    """When the watched time since ``last_activity`` reaches ``hours``; None if not within
    MAX_DAYS."""
    need = hours * 3600.0
    for ws, we in _windows(last_activity, tz, start, end, MAX_DAYS):
        lo = max(ws, last_activity)
        if we <= lo:
            continue
        available = (we - lo).total_seconds()
        if available >= need:
            return lo + timedelta(seconds=need)
        need -= available
    return None
