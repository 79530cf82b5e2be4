"""Care plans (银龄关爱五件套) (``gateway.api.routes.care``)."""

from __future__ import annotations

from pydantic import Field

from gateway.api.schemas.base import Day, Out, Timestamp, absent


class CareKind(Out):
    kind: str
    zh: str
    en: str
    every: str = Field(description="week, month, quarter, year")
    weekday: int
    day: int
    month: int
    due_time: str = Field(description='local "HH:MM"; "": the end of the due day')
    lead_days: int
    rule_zh: str
    rule_en: str


class Occurrence(Out):
    due_date: Day | None
    due_at: Timestamp | None
    generate_at: Timestamp | None = Field(description="when its order is opened")
    missed_at: Timestamp | None


class CareItem(Out):
    kind: str
    zh: str
    en: str
    enabled: bool
    every: str
    weekday: int
    day: int
    month: int
    due_time: str
    lead_days: int
    assignee: str | None = Field(description="who goes; null or empty: the home's grid worker")
    rule_zh: str
    rule_en: str
    next: Occurrence | None = Field(description="the next occurrence, if the item has one")
    last_due: Day | None


class Plan(Out):
    id: int
    home_id: str
    resident: str
    resident_id: int | None
    enabled: bool
    address: str
    grid: str
    phone: str
    created_at: Timestamp | None
    updated_at: Timestamp | None
    updated_by: str | None
    items: list[CareItem]


class Visit(Out):
    order_id: int
    kind: str
    zh: str
    en: str
    due_date: Day | None
    due_at: Timestamp | None
    missed_at: Timestamp | None
    status: str = Field(description="the order's")
    outcome: str = Field(description="done, missed, cancelled, open")
    assignee: str | None
    opened_at: Timestamp
    arrived_at: Timestamp | None
    resolved_at: Timestamp | None
    closed_at: Timestamp | None
    note: str | None = Field(description="what was done (the resolve note)")
    reason: str | None = Field(description="why it was missed or cancelled")
    recorded_by: str | None
    escalated: bool = Field(description="the overdue step fired")
    overdue: bool


class DueNext(Out):
    kind: str
    zh: str
    en: str
    due_date: Day | None
    due_at: Timestamp | None
    order_id: int | None = Field(description="an open care order; null: scheduled, no order yet")
    status: str = Field(description="the open order's status, or scheduled")
    assignee: str | None
    generate_at: Timestamp | None = absent("scheduled: when its order will be opened")
    overdue: bool


class PlanDetail(Plan):
    history: list[Visit] = Field(description="the home's care orders, latest due first")
    due_next: list[DueNext] = Field(description="open care orders, then each enabled item's next date, soonest first")
    time_zone: str
    now: Timestamp
