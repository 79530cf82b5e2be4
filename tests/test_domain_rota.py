"""The on-call rota's rules, pure: which shift instance covers a moment, overnight shifts,
overrides for single dates, daylight saving, and the parsing of what people type."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from gateway.domain.rota import (
    Duty,
    OnDuty,
    Override,
    Shift,
    Source,
    on_duty,
    parse_date,
    parse_duty,
    parse_hhmm,
    parse_weekday,
    place,
)

SH = ZoneInfo("Asia/Shanghai")
BERLIN = ZoneInfo("Europe/Berlin")
MON, TUE, WED, THU, FRI, SAT, SUN = range(7)
D, L = Duty.DISPATCHER, Duty.LEADER


def sh(y: int, mo: int, d: int, h: int, mi: int = 0) -> datetime:
    """A Shanghai wall-clock moment, as UTC."""
    return datetime(y, mo, d, h, mi, tzinfo=SH).astimezone(UTC)


def utc(y: int, mo: int, d: int, h: int, mi: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=UTC)


def names(duty: OnDuty) -> tuple[list[str], list[str]]:
    return [a.user for a in duty.dispatchers], [a.user for a in duty.leaders]


# 2026-03-02 is a Monday.
WEEK = [
    Shift(MON, "08:00", "20:00", "xiaoliu", D),
    Shift(MON, "08:00", "20:00", "xiaowang", D),
    Shift(MON, "20:00", "08:00", "laozhang", D),
    Shift(MON, "08:30", "17:30", "zhuren", L),
    Shift(SUN, "22:00", "06:00", "sunnight", D),
]


def test_a_day_shift_covers_its_hours_half_open() -> None:
    assert names(on_duty(WEEK, [], sh(2026, 3, 2, 7, 59), SH)) == ([], [])
    at_8 = on_duty(WEEK, [], sh(2026, 3, 2, 8), SH)
    assert names(at_8) == (["xiaoliu", "xiaowang"], [])
    [a, _] = at_8.dispatchers
    assert (a.start, a.end, a.source, a.duty) == (utc(2026, 3, 2, 0), utc(2026, 3, 2, 12), Source.WEEKLY, D)
    assert a.start.tzinfo is UTC
    assert names(on_duty(WEEK, [], sh(2026, 3, 2, 19, 59), SH)) == (["xiaoliu", "xiaowang"], [])
    assert names(on_duty(WEEK, [], sh(2026, 3, 2, 20), SH)) == (["laozhang"], [])


def test_several_dispatchers_and_a_leader() -> None:
    duty = on_duty(WEEK, [], sh(2026, 3, 2, 9), SH)
    assert names(duty) == (["xiaoliu", "xiaowang"], ["zhuren"])
    assert duty.team == ("xiaoliu", "xiaowang", "zhuren")
    assert duty.leader_users == ("zhuren",)
    assert duty.leader_missing is False and duty.nobody is False
    [leader] = duty.leaders
    assert (leader.start, leader.end) == (sh(2026, 3, 2, 8, 30), sh(2026, 3, 2, 17, 30))


def test_without_a_leader_the_dispatchers_are_told() -> None:
    duty = on_duty(WEEK, [], sh(2026, 3, 2, 18), SH)
    assert duty.leader_missing is True
    assert duty.leader_users == ("xiaoliu", "xiaowang") == duty.team
    empty = on_duty(WEEK, [], sh(2026, 3, 4, 12), SH)  # a Wednesday: nobody planned
    assert empty.nobody and empty.team == () and empty.leader_users == ()


def test_overnight_shift_runs_past_midnight_into_the_next_day() -> None:
    before_midnight = on_duty(WEEK, [], sh(2026, 3, 2, 23), SH)
    after_midnight = on_duty(WEEK, [], sh(2026, 3, 3, 3), SH)  # Tuesday 03:00
    assert names(before_midnight) == names(after_midnight) == (["laozhang"], [])
    [a] = after_midnight.dispatchers
    assert (a.start, a.end) == (utc(2026, 3, 2, 12), utc(2026, 3, 3, 0))
    assert names(on_duty(WEEK, [], sh(2026, 3, 3, 8), SH)) == ([], [])  # ended; Tuesday has no shifts


def test_sunday_night_runs_into_monday_morning() -> None:
    [a] = on_duty(WEEK, [], sh(2026, 3, 2, 5, 59), SH).dispatchers  # Monday 05:59
    assert a.user == "sunnight"
    assert (a.start, a.end) == (sh(2026, 3, 1, 22), sh(2026, 3, 2, 6))
    assert names(on_duty(WEEK, [], sh(2026, 3, 2, 6), SH)) == ([], [])
    assert names(on_duty(WEEK, [], sh(2026, 3, 1, 22), SH)) == (["sunnight"], [])  # Sunday 22:00


def test_end_at_24_00_and_a_24_hour_shift() -> None:
    shifts = [Shift(FRI, "16:00", "24:00", "evening", D), Shift(SAT, "00:00", "00:00", "allday", L)]
    [a] = on_duty(shifts, [], sh(2026, 3, 6, 23, 59), SH).dispatchers
    assert a.end == sh(2026, 3, 7, 0)
    assert names(on_duty(shifts, [], sh(2026, 3, 7, 0), SH)) == ([], ["allday"])
    [b] = on_duty(shifts, [], sh(2026, 3, 7, 23, 59), SH).leaders
    assert (b.start, b.end) == (sh(2026, 3, 7, 0), sh(2026, 3, 8, 0))
    assert Shift(FRI, "16:00", "00:00", "x", D).end == "00:00"  # 00:00 as an end: the same midnight
    assert place(date(2026, 3, 6), "16:00", "00:00", SH) == place(date(2026, 3, 6), "16:00", "24:00", SH)


def test_an_override_replaces_the_shifts_that_start_on_its_date() -> None:
    monday = date(2026, 3, 2)
    overrides = [Override(monday, "09:00", "21:00", "stand_in", D), Override(monday, "21:00", "09:00", "night_in", D)]
    # Sunday's night shift started the day before: it still runs into the overridden Monday.
    assert names(on_duty(WEEK, overrides, sh(2026, 3, 2, 5), SH)) == (["sunnight"], [])
    # Monday's weekly shifts (day, night and the leader) are gone; the override's hours apply.
    assert names(on_duty(WEEK, overrides, sh(2026, 3, 2, 8, 30), SH)) == ([], [])
    [a] = on_duty(WEEK, overrides, sh(2026, 3, 2, 10), SH).dispatchers
    assert (a.user, a.source, a.start, a.end) == ("stand_in", Source.OVERRIDE, sh(2026, 3, 2, 9), sh(2026, 3, 2, 21))
    # The override's night shift runs into Tuesday morning.
    [b] = on_duty(WEEK, overrides, sh(2026, 3, 3, 8), SH).dispatchers
    assert (b.user, b.end) == ("night_in", sh(2026, 3, 3, 9))
    # The next Monday follows the weekly plan again.
    assert names(on_duty(WEEK, overrides, sh(2026, 3, 9, 10), SH)) == (["xiaoliu", "xiaowang"], ["zhuren"])


def test_a_nobody_override_cancels_the_day() -> None:
    monday = date(2026, 3, 2)
    assert Override(monday).user is None and (Override(monday).start, Override(monday).end) == ("00:00", "24:00")
    assert names(on_duty(WEEK, [Override(monday)], sh(2026, 3, 2, 10), SH)) == ([], [])
    assert names(on_duty(WEEK, [Override(monday, user="  ")], sh(2026, 3, 2, 10), SH)) == ([], [])
    # With a named row beside it, the named row is the day's plan.
    mixed = [Override(monday), Override(monday, "08:00", "18:00", "zhuren", L)]
    assert names(on_duty(WEEK, mixed, sh(2026, 3, 2, 10), SH)) == ([], ["zhuren"])


def test_an_override_on_a_day_without_weekly_shifts() -> None:
    wednesday = date(2026, 3, 4)
    overrides = [Override(wednesday, "10:00", "12:00", "a", D), Override(wednesday, "10:00", "12:00", "b", L)]
    duty = on_duty(WEEK, overrides, sh(2026, 3, 4, 11), SH)
    assert names(duty) == (["a"], ["b"])
    assert duty.dispatchers[0].source == duty.leaders[0].source == Source.OVERRIDE


def test_someone_listed_twice_is_answered_once_with_the_later_end() -> None:
    shifts = [Shift(MON, "08:00", "12:00", "xiaoliu", D), Shift(MON, "10:00", "18:00", "xiaoliu", D),
              Shift(MON, "10:00", "18:00", "xiaoliu", L)]
    duty = on_duty(shifts, [], sh(2026, 3, 2, 11), SH)
    [a] = duty.dispatchers
    assert a.end == sh(2026, 3, 2, 18)
    assert names(duty) == (["xiaoliu"], ["xiaoliu"])
    assert duty.team == ("xiaoliu",)


def test_dst_spring_forward_night_is_an_hour_shorter_in_berlin() -> None:
    # Europe/Berlin: 2026-03-29 02:00 CET -> 03:00 CEST. Saturday's night shift 20:00-08:00.
    shifts = [Shift(SAT, "20:00", "08:00", "night", D), Shift(SUN, "08:00", "20:00", "day", D)]
    [a] = on_duty(shifts, [], utc(2026, 3, 29, 1, 30), BERLIN).dispatchers  # 03:30 CEST
    assert (a.start, a.end) == (utc(2026, 3, 28, 19), utc(2026, 3, 29, 6))  # 20:00 CET, 08:00 CEST
    assert a.end - a.start == timedelta(hours=11)
    assert names(on_duty(shifts, [], utc(2026, 3, 29, 5, 59), BERLIN)) == (["night"], [])
    assert names(on_duty(shifts, [], utc(2026, 3, 29, 6), BERLIN)) == (["day"], [])
    [b] = on_duty(shifts, [], utc(2026, 3, 29, 17, 59), BERLIN).dispatchers
    assert b.end == utc(2026, 3, 29, 18)  # 20:00 CEST


def test_dst_fall_back_night_is_an_hour_longer_in_berlin() -> None:
    # 2026-10-25 03:00 CEST -> 02:00 CET.
    shifts = [Shift(SAT, "20:00", "08:00", "night", D), Shift(SUN, "08:00", "20:00", "day", D)]
    [a] = on_duty(shifts, [], utc(2026, 10, 25, 0, 30), BERLIN).dispatchers  # 02:30 CEST, the first time
    assert (a.start, a.end) == (utc(2026, 10, 24, 18), utc(2026, 10, 25, 7))
    assert a.end - a.start == timedelta(hours=13)
    assert names(on_duty(shifts, [], utc(2026, 10, 25, 1, 30), BERLIN)) == (["night"], [])  # 02:30 CET, again
    assert names(on_duty(shifts, [], utc(2026, 10, 25, 6, 59), BERLIN)) == (["night"], [])  # 07:59 CET
    assert names(on_duty(shifts, [], utc(2026, 10, 25, 7), BERLIN)) == (["day"], [])


def test_dst_wall_times_in_the_gap_and_the_overlap_read_with_fold_0() -> None:
    # 02:30 does not exist on 2026-03-29 in Berlin; read with the offset before the change (+01:00).
    assert place(date(2026, 3, 29), "02:30", "06:00", BERLIN) == (utc(2026, 3, 29, 1, 30), utc(2026, 3, 29, 4))
    # 02:30 exists twice on 2026-10-25; the first (CEST, +02:00) is taken.
    assert place(date(2026, 10, 25), "02:30", "06:00", BERLIN) == (utc(2026, 10, 25, 0, 30), utc(2026, 10, 25, 5))


def test_an_override_date_is_a_date_in_the_community_time_zone() -> None:
    # 2026-03-02 23:30 in Shanghai is still 2026-03-02 15:30 UTC; an override on 2026-03-03 (a
    # Tuesday, 00:00-24:00) starts at 2026-03-02 16:00 UTC.
    overrides = [Override(date(2026, 3, 3), "00:00", "24:00", "tue", L)]
    assert names(on_duty([], overrides, utc(2026, 3, 2, 15, 59), SH)) == ([], [])
    [a] = on_duty([], overrides, utc(2026, 3, 2, 16), SH).leaders
    assert (a.start, a.end) == (utc(2026, 3, 2, 16), utc(2026, 3, 3, 16))


def test_now_must_be_aware() -> None:
    with pytest.raises(ValueError, match="aware"):
        on_duty(WEEK, [], datetime(2026, 3, 2, 9), SH)


@pytest.mark.parametrize(("text", "minutes"), [("00:00", 0), ("8:05", 485), ("08:05", 485), ("23:59", 1439),
                                               ("20:00:00", 1200), (" 07:30 ", 450)])
def test_parse_hhmm(text: str, minutes: int) -> None:
    assert parse_hhmm(text) == minutes


def test_parse_hhmm_errors_are_clear() -> None:
    for bad in ("", "8", "0800", "7.30", "25:00", "12:60", "24:01", "-1:00", "8:5", "noon"):
        with pytest.raises(ValueError, match=r"time .* (is not HH:MM|is not a time of day)"):
            parse_hhmm(bad, end=True)
    assert parse_hhmm("24:00", end=True) == 1440
    with pytest.raises(ValueError, match="24:00 may only end a shift"):
        parse_hhmm("24:00")


def test_parse_weekday() -> None:
    assert [parse_weekday(t) for t in ("mon", "Tue", "wednesday", "4", "5", "周六", "7")] == [0, 1, 2, 3, 4, 5, 6]
    assert parse_weekday("星期天") == parse_weekday("周日") == parse_weekday("周天") == parse_weekday("SUN") == 6
    assert parse_weekday("星期一") == 0
    for bad in ("0", "8", "mo", "", "周八"):
        with pytest.raises(ValueError, match=r"is not one of mon\.\.sun"):
            parse_weekday(bad)


def test_parse_date_and_duty() -> None:
    assert parse_date(" 2026-03-02 ") == date(2026, 3, 2)
    for bad in ("2026-02-30", "2026-3-2", "02/03/2026", "tomorrow"):
        with pytest.raises(ValueError, match="is not a date YYYY-MM-DD"):
            parse_date(bad)
    assert parse_duty("Leader") is L and parse_duty("值班领导") is L and parse_duty("dispatcher") is D
    with pytest.raises(ValueError, match="duty 'boss' is not one of: dispatcher, leader"):
        parse_duty("boss")


def test_rows_check_themselves() -> None:
    assert Shift(MON, "8:00", "20:00", " xiaoliu ", D) == Shift(MON, "08:00", "20:00", "xiaoliu", D)
    with pytest.raises(ValueError, match="weekday 7"):
        Shift(7, "08:00", "20:00", "x", D)
    with pytest.raises(ValueError, match="needs a user"):
        Shift(MON, "08:00", "20:00", " ", D)
    with pytest.raises(ValueError, match="24:00 may only end"):
        Shift(MON, "24:00", "08:00", "x", D)
    with pytest.raises(ValueError, match="duty"):
        Override(date(2026, 3, 2), "08:00", "09:00", "x", "boss")  # type: ignore[arg-type]
