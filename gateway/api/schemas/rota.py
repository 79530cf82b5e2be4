"""The on-call rota (``gateway.api.routes.rota``)."""

from __future__ import annotations

from pydantic import Field

from gateway.api.schemas.base import Day, Out, Timestamp


class Assignment(Out):
    user: str | None
    display_name: str
    phone: str
    start: Timestamp
    end: Timestamp
    source: str = Field(description="weekly (the plan) or override (a date's own rows)")


class OnCall(Out):
    now: Timestamp
    time_zone: str
    dispatchers: list[Assignment]
    leaders: list[Assignment]
    leader_missing: bool = Field(description="no duty leader on duty: their escalations go to the dispatchers")


class Shift(Out):
    weekday: int = Field(description="0 = Monday ... 6 = Sunday")
    day: str = Field(description="the weekday's name")
    start: str = Field(description="HH:MM")
    end: str = Field(description="HH:MM or 24:00; at or before the start: the next day")
    user: str
    display_name: str
    duty: str = Field(description="dispatcher or leader")


class OverrideShift(Out):
    date: Day
    start: str | None = Field(description="null: nobody on this date (the weekly plan is cancelled)")
    end: str | None
    user: str | None
    display_name: str
    duty: str | None


class Rota(Out):
    time_zone: str
    from_: Day = Field(alias="from")
    weekly: list[Shift]
    overrides: list[OverrideShift]


class RotaDay(Out):
    date: Day
    follows_weekly_plan: bool = Field(description="the date has no overrides")
    shifts: list[OverrideShift]


class RotaImport(Out):
    weekly: int | None = Field(description="rows of the new weekly plan; null: the plan was left as it was")
    overrides: int = Field(description="override rows written")
    dates: list[Day] = Field(description="the dates whose overrides were replaced")
