"""Care-plan rules, pure: occurrences across month ends, leap years, quarter and year
boundaries; due moments in local time, daylight-saving days included."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from gateway.domain.care import (
    KINDS,
    CareRuleError,
    Every,
    Rule,
    day_start,
    describe,
    due_moment,
    first_due,
    first_on_or_after,
    next_due,
    occurrence,
    occurrences,
    rule_for,
)

SH = ZoneInfo("Asia/Shanghai")
NY = ZoneInfo("America/New_York")


def test_weekly_across_a_month_end_and_a_year_boundary() -> None:
    mondays = Rule(Every.WEEK, weekday=0)
    assert occurrences(mondays, date(2026, 12, 25), date(2027, 1, 20)) == [
        date(2026, 12, 28), date(2027, 1, 4), date(2027, 1, 11), date(2027, 1, 18)]
    assert first_on_or_after(mondays, date(2026, 12, 28)) == date(2026, 12, 28)  # on the day itself
    assert next_due(mondays, date(2026, 12, 28)) == date(2027, 1, 4)  # strictly after
    sundays = Rule(Every.WEEK, weekday=6)
    assert occurrences(sundays, date(2028, 2, 26), date(2028, 3, 6)) == [date(2028, 2, 27), date(2028, 3, 5)]
    assert len(occurrences(mondays, date(2026, 1, 1), date(2026, 12, 31))) == 52


def test_monthly_on_the_31st_is_clamped_to_each_months_length() -> None:
    rule = Rule(Every.MONTH, day=31)
    days = occurrences(rule, date(2027, 1, 1), date(2028, 12, 31))
    assert len(days) == 24
    assert days[:4] == [date(2027, 1, 31), date(2027, 2, 28), date(2027, 3, 31), date(2027, 4, 30)]
    assert date(2028, 2, 29) in days and date(2028, 2, 28) not in days  # leap year
    assert days[-1] == date(2028, 12, 31)
    # the clamped day does not stick: after 28 February comes 31 March
    assert next_due(rule, date(2027, 2, 28)) == date(2027, 3, 31)
    assert next_due(rule, date(2027, 1, 31)) == date(2027, 2, 28)
    assert first_on_or_after(rule, date(2027, 2, 28)) == date(2027, 2, 28)
    assert occurrences(Rule(Every.MONTH, day=30), date(2028, 2, 1), date(2028, 3, 31)) == [
        date(2028, 2, 29), date(2028, 3, 30)]


def test_quarterly_across_quarter_and_year_boundaries() -> None:
    first_day = Rule(Every.QUARTER, month=1, day=1)
    assert occurrences(first_day, date(2026, 11, 15), date(2027, 7, 1)) == [
        date(2027, 1, 1), date(2027, 4, 1), date(2027, 7, 1)]
    quarter_end = Rule(Every.QUARTER, month=3, day=31)
    assert occurrences(quarter_end, date(2026, 1, 1), date(2026, 12, 31)) == [
        date(2026, 3, 31), date(2026, 6, 30), date(2026, 9, 30), date(2026, 12, 31)]
    second_month = Rule(Every.QUARTER, month=2, day=30)
    assert occurrences(second_month, date(2027, 12, 1), date(2028, 6, 1)) == [date(2028, 2, 29), date(2028, 5, 30)]
    # past this quarter's date: the next quarter's, in the next year
    assert first_on_or_after(Rule(Every.QUARTER, month=2, day=15), date(2026, 12, 20)) == date(2027, 2, 15)
    assert next_due(quarter_end, date(2026, 12, 31)) == date(2027, 3, 31)


def test_yearly_on_29_february() -> None:
    rule = Rule(Every.YEAR, month=2, day=29)
    assert occurrences(rule, date(2026, 1, 1), date(2028, 12, 31)) == [
        date(2026, 2, 28), date(2027, 2, 28), date(2028, 2, 29)]
    assert next_due(rule, date(2028, 2, 29)) == date(2029, 2, 28)
    new_years_eve = Rule(Every.YEAR, month=12, day=31)
    assert next_due(new_years_eve, date(2026, 12, 31)) == date(2027, 12, 31)
    assert first_on_or_after(new_years_eve, date(2027, 1, 1)) == date(2027, 12, 31)


def test_occurrences_are_consistent_with_next_due() -> None:
    rules = [Rule(Every.WEEK, weekday=w) for w in range(7)] + \
        [Rule(Every.MONTH, day=d) for d in (1, 15, 28, 29, 30, 31)] + \
        [Rule(Every.QUARTER, month=m, day=d) for m in (1, 2, 3) for d in (1, 29, 31)] + \
        [Rule(Every.YEAR, month=m, day=d) for m, d in ((1, 1), (2, 29), (12, 31))]
    start, end = date(2026, 1, 1), date(2029, 12, 31)
    for rule in rules:
        days = occurrences(rule, start, end)
        assert days == sorted(set(days))  # strictly increasing
        for day in range((end - start).days):
            d = start + timedelta(days=day)
            nxt = first_on_or_after(rule, d)
            assert nxt >= d and (nxt > end or nxt in days)
            assert not [x for x in days if d <= x < nxt]  # nothing skipped


def test_due_moments_in_shanghai() -> None:
    monday = Rule(Every.WEEK, weekday=0)
    occ = occurrence(monday, date(2026, 1, 5), lead_days=2, tz=SH)
    assert occ.due_at == datetime(2026, 1, 5, 16, 0, tzinfo=UTC)  # the end of the local day: 24:00 = 16:00 UTC
    assert occ.at_risk_at == datetime(2026, 1, 4, 16, 0, tzinfo=UTC)  # the start of the due day
    assert occ.generate_at == datetime(2026, 1, 2, 16, 0, tzinfo=UTC)  # two local days before
    assert occ.missed_at == occ.due_at + timedelta(days=1)
    at_ten = Rule(Every.WEEK, weekday=0, due_time="10:00")
    assert due_moment(at_ten, date(2026, 1, 5), SH) == datetime(2026, 1, 5, 2, 0, tzinfo=UTC)
    # a year boundary in local time: the end of 31 December is already 2026 in UTC
    assert due_moment(Rule(Every.YEAR, month=12, day=31), date(2026, 12, 31), SH) == \
        datetime(2026, 12, 31, 16, 0, tzinfo=UTC)


def test_due_moments_on_daylight_saving_days() -> None:
    sundays = Rule(Every.WEEK, weekday=6)
    assert occurrences(sundays, date(2026, 3, 1), date(2026, 3, 15)) == [
        date(2026, 3, 1), date(2026, 3, 8), date(2026, 3, 15)]  # dates are unaffected
    # 8 March 2026 springs forward in New York: a 23-hour day
    assert day_start(date(2026, 3, 8), NY) == datetime(2026, 3, 8, 5, 0, tzinfo=UTC)
    assert due_moment(sundays, date(2026, 3, 8), NY) == datetime(2026, 3, 9, 4, 0, tzinfo=UTC)
    assert due_moment(sundays, date(2026, 3, 1), NY) == datetime(2026, 3, 2, 5, 0, tzinfo=UTC)
    occ = occurrence(sundays, date(2026, 3, 8), lead_days=0, tz=NY)
    assert occ.due_at - occ.at_risk_at == timedelta(hours=23)
    # a due time in the gap (02:30 does not exist that night) is read with the offset before it
    assert due_moment(Rule(Every.WEEK, weekday=6, due_time="02:30"), date(2026, 3, 8), NY) == \
        datetime(2026, 3, 8, 7, 30, tzinfo=UTC)
    # 10:00 keeps its wall-clock time on either side of the change
    ten = Rule(Every.WEEK, weekday=6, due_time="10:00")
    assert due_moment(ten, date(2026, 3, 1), NY) == datetime(2026, 3, 1, 15, 0, tzinfo=UTC)
    assert due_moment(ten, date(2026, 3, 15), NY) == datetime(2026, 3, 15, 14, 0, tzinfo=UTC)
    # 1 November 2026 falls back: a 25-hour day
    fall = occurrence(sundays, date(2026, 11, 1), lead_days=1, tz=NY)
    assert fall.at_risk_at == datetime(2026, 11, 1, 4, 0, tzinfo=UTC)
    assert fall.due_at == datetime(2026, 11, 2, 5, 0, tzinfo=UTC)
    assert fall.due_at - fall.at_risk_at == timedelta(hours=25)
    assert fall.generate_at == datetime(2026, 10, 31, 4, 0, tzinfo=UTC)


def test_first_due_never_repeats_a_date_already_generated() -> None:
    mondays = Rule(Every.WEEK, weekday=0)
    assert first_due(mondays, today=date(2026, 3, 2)) == date(2026, 3, 2)  # today, if it is a Monday
    assert first_due(mondays, today=date(2026, 3, 2), last_due=date(2026, 3, 2)) == date(2026, 3, 9)
    assert first_due(mondays, today=date(2026, 3, 3), last_due=date(2026, 2, 23)) == date(2026, 3, 9)


def test_defaults_edits_and_errors() -> None:
    assert list(KINDS) == ["weekly_visit", "monthly_activity", "quarterly_clinic", "yearly_survey"]
    assert [KINDS[k].rule.every for k in KINDS] == [Every.WEEK, Every.MONTH, Every.QUARTER, Every.YEAR]
    assert rule_for("monthly_activity", day=31, weekday=None) == Rule(Every.MONTH, day=31)
    assert rule_for("weekly_visit", every="month", day=3).every is Every.MONTH  # a resident's own period
    for kind, changes, words in (
        ("nap", {}, "unknown care item"),
        ("weekly_visit", {"weekday": 7}, "weekday"),
        ("monthly_activity", {"day": 0}, "day"),
        ("monthly_activity", {"day": 32}, "day"),
        ("quarterly_clinic", {"month": 4}, "month: 1 to 3"),
        ("yearly_survey", {"month": 13}, "month: 1 to 12"),
        ("weekly_visit", {"due_time": "24:00"}, "due_time"),
        ("weekly_visit", {"due_time": "9:00"}, "due_time"),
        ("weekly_visit", {"every": "fortnight"}, "every"),
    ):
        with pytest.raises(CareRuleError, match=words):
            rule_for(kind, **changes)


def test_rules_in_words() -> None:
    assert describe(Rule(Every.WEEK, weekday=0)) == ("每周一", "every Monday")
    assert describe(Rule(Every.WEEK, weekday=6, due_time="10:00")) == ("每周日 10:00前", "every Sunday, by 10:00")
    assert describe(Rule(Every.MONTH, day=15)) == ("每月15日", "the 15th of each month")
    assert describe(Rule(Every.MONTH, day=31))[1] == "the 31st of each month (or the month's last day)"
    assert describe(Rule(Every.QUARTER, month=1, day=20)) == \
        ("每季度第1个月20日", "the 20th of the 1st month of each quarter")
    assert describe(Rule(Every.YEAR, month=3, day=1)) == ("每年3月1日", "every year on 1 Mar")
