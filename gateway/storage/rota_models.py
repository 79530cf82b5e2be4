"""Tables of the on-call rota (``gateway.domain.rota``). Wall-clock times are kept as the text
"HH:MM" (``24:00`` allowed as an end) in the community's time zone; a user is named, not
referenced, so that a rota row outlives a renamed or removed account (the service checks the
names when the rota is written and skips inactive people when it answers who is on duty)."""

from __future__ import annotations

from datetime import date, datetime

from sqlmodel import Field, SQLModel

from gateway.storage.models import _ts


class RotaShift(SQLModel, table=True):
    """A weekly shift."""

    __tablename__ = "rota_shifts"

    id: int | None = Field(default=None, primary_key=True)
    weekday: int = Field(index=True)  # 0 = Monday ... 6 = Sunday
    start_time: str = Field(max_length=5)  # HH:MM
    end_time: str = Field(max_length=5)  # HH:MM; at or before the start: the next day
    user_name: str = Field(max_length=64, index=True)
    duty: str = Field(max_length=16)  # dispatcher | leader
    created_at: datetime | None = _ts()
    created_by: str | None = Field(default=None, max_length=128)


class RotaOverride(SQLModel, table=True):
    """A shift on one date; a date's rows replace the weekly shifts that start on it. A row
    without a user (NULL) is "nobody": it cancels the date's weekly plan by itself."""

    __tablename__ = "rota_overrides"

    id: int | None = Field(default=None, primary_key=True)
    day: date = Field(index=True)  # in the community's time zone
    start_time: str = Field(max_length=5)
    end_time: str = Field(max_length=5)
    user_name: str | None = Field(default=None, max_length=64, index=True)
    duty: str = Field(max_length=16)
    created_at: datetime | None = _ts()
    created_by: str | None = Field(default=None, max_length=128)
