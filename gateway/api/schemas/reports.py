"""Response reports (``gateway.api.routes.reports``); every number is defined in
``gateway.domain.reports``. Times are seconds."""

from __future__ import annotations

from pydantic import Field

from gateway.api.schemas.base import Number, Out, Timestamp


class Period(Out):
    from_: Timestamp = Field(alias="from")
    to: Timestamp = Field(description="exclusive")
    time_zone: str


class Stats(Out):
    count: int
    median_s: Number | None
    p90_s: Number | None
    max_s: Number | None
    mean_s: Number | None


class GroupOnsite(Out):
    decided: int = Field(description="on time + late + missed")
    on_time: int
    late: int
    missed: int
    pending: int
    cancelled: int
    pct: Number | None = Field(description="on time / decided, in percent; null: none decided")


class Onsite(GroupOnsite):
    target_s: Number | None


class Group(Out):
    key: str
    orders: int
    acknowledged: int
    mtta_s: Number | None
    resolved: int
    mttr_s: Number | None
    onsite: GroupOnsite = Field(description="each order against its own target")
    breaches: int


class Bin(Out):
    from_s: Number
    to_s: Number | None = Field(description="null: the open last bin")
    count: int


class Histogram(Out):
    category: str
    target_s: Number | None
    bins: list[Bin]


class Breach(Out):
    order_id: int
    kind: str
    category: str
    priority: str
    status: str
    grid: str
    team: str
    assignee: str | None
    opened_at: Timestamp
    onsite_due_at: Timestamp | None
    arrived_at: Timestamp | None
    outcome: str = Field(description="on_time, late, missed, pending, cancelled, no_target")
    breach: bool
    late_s: Number | None
    steps: list[str] = Field(description="the escalation steps recorded as breaches")
    recorded_at: Timestamp | None
    reason: str | None = Field(description="the latest review's reason code")
    note: str | None
    reviewed_by: str | None
    reviewed_at: Timestamp | None


class ReportFilters(Out):
    kind: list[str]
    category: list[str]
    grid: list[str]


class ReportSummary(Out):
    tta: Stats = Field(description="time to acknowledge")
    ttos: Stats = Field(description="time to on site")
    ttr: Stats = Field(description="time to resolve")


class ResponseReport(Out):
    period: Period
    now: Timestamp
    filters: ReportFilters
    orders: int
    summary: ReportSummary
    by_category: dict[str, dict[str, Stats]] = Field(description="category → tta, ttos, ttr")
    emergency_onsite: Onsite
    onsite_histogram: Histogram
    by_grid: list[Group]
    by_team: list[Group]
    by_month: list[Group]
    breaches: list[Breach]
    breach_reason_counts: dict[str, int] = Field(description="reason code (or unreviewed) → breaches")


class BreachReason(Out):
    code: str
    zh: str
    en: str
