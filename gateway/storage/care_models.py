"""Care-plan tables (银龄关爱): one plan per home, its items, and the occurrences generated.

Timers are data (DESIGN invariant 3): each item carries the next date it falls due and the
moment its care order is to be generated (``generate_at``, UTC), polled by the scheduler.
``care_visits`` records each occurrence generated, unique per plan, kind and due date, so that
no occurrence is ever generated twice (two gateway instances, a restart, an edited plan).

The resident is named on the plan (``resident``) and, optionally, by ``resident_id``: the id of
their record in the residents table, kept without a foreign key for now.
"""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlmodel import Column, Field, SQLModel

from gateway.storage.models import UTCDateTime, _ts


class CarePlan(SQLModel, table=True):
    __tablename__ = "care_plans"

    id: int | None = Field(default=None, primary_key=True)
    home_id: str = Field(max_length=64, unique=True, index=True)
    resident: str = Field(default="", max_length=128)  # the elderly resident the plan is for
    resident_id: int | None = Field(default=None, index=True)  # residents.id (no foreign key yet)
    enabled: bool = True
    created_at: datetime | None = _ts()
    updated_at: datetime | None = _ts()
    updated_by: str | None = Field(default=None, max_length=128)


class CareItem(SQLModel, table=True):
    """One item of a plan (a kind of ``gateway.domain.care.KINDS``) with its rule, as edited for
    this resident, and its timer."""

    __tablename__ = "care_items"
    __table_args__ = (sa.UniqueConstraint("plan_id", "kind", name="uq_care_items_plan_kind"),)

    id: int | None = Field(default=None, primary_key=True)
    plan_id: int = Field(foreign_key="care_plans.id", index=True)
    kind: str = Field(max_length=32)
    enabled: bool = True
    every: str = Field(max_length=8)  # gateway.domain.care.Every
    weekday: int = 0
    day: int = 1
    month: int = 1
    due_time: str = Field(default="", max_length=5)  # local "HH:MM"; "" = the end of the due day
    lead_days: int = 0
    assignee: str | None = Field(default=None, max_length=64)  # None: the home's grid worker when generated
    next_due: date | None = None  # the next local date to generate (None while disabled)
    generate_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True, index=True))
    last_due: date | None = None  # the last local date generated
    updated_at: datetime | None = _ts()


class CareVisit(SQLModel, table=True):
    """An occurrence generated: the care order for one item's due date."""

    __tablename__ = "care_visits"
    __table_args__ = (sa.UniqueConstraint("plan_id", "kind", "due_date", name="uq_care_visits_occurrence"),)

    id: int | None = Field(default=None, primary_key=True)
    plan_id: int = Field(foreign_key="care_plans.id", index=True)
    item_id: int = Field(index=True)
    home_id: str = Field(max_length=64, index=True)
    kind: str = Field(max_length=32)
    due_date: date
    order_id: int | None = Field(default=None, foreign_key="orders.id", index=True)
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
