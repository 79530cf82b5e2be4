"""The on-call rota (值班表): who is on duty now, the weekly plan, overrides for single dates,
CSV import and export. The rules are in ``gateway.domain.rota`` and ``gateway.services.rota``."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Self
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field, field_validator, model_validator
from sqlmodel import Session

from gateway.api.deps import Allowed, NowDep, SessionDep, ZoneDep
from gateway.api.downloads import BOM, CsvFile, download
from gateway.api.schemas import rota as schemas
from gateway.api.schemas.base import ExactRoute
from gateway.api.uploads import read_csv
from gateway.clock import iso
from gateway.domain.roles import Perm
from gateway.domain.rota import WEEKDAYS, Assignment, Duty, Override, Shift, format_hhmm, local_today, parse_hhmm
from gateway.services import rota
from gateway.services.accounts import Principal
from gateway.storage import rota as store
from gateway.storage.models import User

router = APIRouter(tags=["rota"], route_class=ExactRoute)

Reader = Annotated[Principal, Depends(Allowed(Perm.ROTA_READ))]
Writer = Annotated[Principal, Depends(Allowed(Perm.ROTA_WRITE))]

USER = r"^[^\s/#+]{1,64}$"



def _hhmm(value: str, *, end: bool = False) -> str:
    return format_hhmm(parse_hhmm(value, end=end))


class ShiftIn(BaseModel):
    weekday: int = Field(ge=0, le=6, description="0 = Monday ... 6 = Sunday")
    start: str = Field(description="HH:MM, the community's wall clock")
    end: str = Field(description="HH:MM or 24:00; at or before the start: the next day")
    user: str = Field(pattern=USER)
    duty: Duty

    @field_validator("start")
    @classmethod
    def _start(cls, v: str) -> str:
        return _hhmm(v)

    @field_validator("end")
    @classmethod
    def _end(cls, v: str) -> str:
        return _hhmm(v, end=True)


class WeeklyIn(BaseModel):
    shifts: list[ShiftIn] = Field(max_length=2000)


class OverrideIn(BaseModel):
    """A shift on the date of the path. ``user`` null: nobody (the date's weekly plan is
    cancelled by this row alone); times and duty may then be left out."""

    start: str | None = None
    end: str | None = None
    user: str | None = Field(default=None, pattern=USER)
    duty: Duty | None = None

    @field_validator("start")
    @classmethod
    def _start(cls, v: str | None) -> str | None:
        return None if v is None else _hhmm(v)

    @field_validator("end")
    @classmethod
    def _end(cls, v: str | None) -> str | None:
        return None if v is None else _hhmm(v, end=True)

    @model_validator(mode="after")
    def _named_needs_times(self) -> Self:
        if self.user is not None:
            missing = [f for f in ("start", "end", "duty") if getattr(self, f) is None]
            if missing:
                raise ValueError(f"a row with a user needs {', '.join(missing)}")
        return self


class DayIn(BaseModel):
    shifts: list[OverrideIn] = Field(default_factory=list, max_length=500)


# --- JSON shapes -----------------------------------------------------------------------------


def _person(users: dict[str, User], name: str | None) -> dict[str, Any]:
    user = users.get(name) if name else None
    return {"user": name, "display_name": user.display_name if user else (name or ""),
            "phone": user.phone if user else ""}


def assignment_json(a: Assignment, users: dict[str, User]) -> dict[str, Any]:
    return {**_person(users, a.user), "start": iso(a.start), "end": iso(a.end), "source": a.source.value}


def shift_json(s: Shift, users: dict[str, User]) -> dict[str, Any]:
    person = _person(users, s.user)
    return {"weekday": s.weekday, "day": WEEKDAYS[s.weekday], "start": s.start, "end": s.end,
            "user": s.user, "display_name": person["display_name"], "duty": s.duty.value}


def override_json(o: Override, users: dict[str, User]) -> dict[str, Any]:
    if o.user is None:
        return {"date": o.day.isoformat(), "start": None, "end": None, "user": None, "display_name": "",
                "duty": None}
    person = _person(users, o.user)
    return {"date": o.day.isoformat(), "start": o.start, "end": o.end, "user": o.user,
            "display_name": person["display_name"], "duty": o.duty.value}


def rota_json(session: Session, *, since: date, tz: ZoneInfo) -> dict[str, Any]:
    weekly = rota.weekly_plan(session)
    overrides = rota.overrides(session, since=since)
    users = store.users_named(session, names=[*(s.user for s in weekly), *(o.user for o in overrides if o.user)])
    return {"time_zone": tz.key, "from": since.isoformat(),
            "weekly": [shift_json(s, users) for s in weekly],
            "overrides": [override_json(o, users) for o in overrides]}


def _unprocessable(exc: rota.RotaError) -> HTTPException:
    return HTTPException(422, exc.errors or str(exc))


# --- routes ----------------------------------------------------------------------------------


@router.get("/api/oncall", response_model=schemas.OnCall)
def on_call(_: Reader, session: SessionDep, now: NowDep, tz: ZoneDep) -> dict[str, Any]:
    """Who is on duty now. With no duty leader on duty, ``leader_missing`` is true and
    escalations meant for the leader go to the dispatchers on duty."""
    duty = rota.on_call(session, now=now, tz=tz)
    users = store.users_named(session, names=[a.user for a in (*duty.dispatchers, *duty.leaders)])
    return {"now": iso(now), "time_zone": tz.key,
            "dispatchers": [assignment_json(a, users) for a in duty.dispatchers],
            "leaders": [assignment_json(a, users) for a in duty.leaders],
            "leader_missing": duty.leader_missing}


@router.get("/api/rota", response_model=schemas.Rota)
def get_rota(_: Reader, session: SessionDep, now: NowDep, tz: ZoneDep,
             since: Annotated[date | None, Query(alias="from", description="overrides from this date on; "
                                                 "default: today in the community's time zone")] = None,
             ) -> dict[str, Any]:
    """The weekly plan and the overrides from ``from`` (default today) on."""
    return rota_json(session, since=since or local_today(now, tz), tz=tz)


@router.put("/api/rota/weekly", response_model=schemas.Rota)
def put_weekly(body: WeeklyIn, user: Writer, session: SessionDep, now: NowDep, tz: ZoneDep) -> dict[str, Any]:
    """Replace the whole weekly plan. Answers the rota as ``GET /api/rota`` does."""
    shifts = [Shift(s.weekday, s.start, s.end, s.user, s.duty) for s in body.shifts]
    try:
        rota.replace_weekly(session, shifts=shifts, now=now, by=user.actor)
    except rota.RotaError as exc:
        raise _unprocessable(exc) from exc
    session.commit()
    return rota_json(session, since=local_today(now, tz), tz=tz)


def _day_json(session: Session, day: date) -> dict[str, Any]:
    rows = rota.overrides(session, days=(day,))
    users = store.users_named(session, names=[o.user for o in rows if o.user])
    return {"date": day.isoformat(), "follows_weekly_plan": not rows,
            "shifts": [override_json(o, users) for o in rows]}


@router.get("/api/rota/overrides/{day}", response_model=schemas.RotaDay)
def get_day(day: date, _: Reader, session: SessionDep) -> dict[str, Any]:
    return _day_json(session, day)


@router.put("/api/rota/overrides/{day}", response_model=schemas.RotaDay)
def put_day(day: date, body: DayIn, user: Writer, session: SessionDep, now: NowDep) -> dict[str, Any]:
    """Replace the overrides of one date (the community's calendar). An empty list puts the
    date back on the weekly plan; a row with ``user`` null alone cancels the date's plan."""
    rows = [Override(day, r.start or "00:00", r.end or "24:00", r.user, r.duty or Duty.DISPATCHER)
            for r in body.shifts]
    try:
        rota.replace_day(session, day=day, rows=rows, now=now, by=user.actor)
    except rota.RotaError as exc:
        raise _unprocessable(exc) from exc
    session.commit()
    return _day_json(session, day)


@router.delete("/api/rota/overrides/{day}", response_model=schemas.RotaDay)
def delete_day(day: date, user: Writer, session: SessionDep, now: NowDep) -> dict[str, Any]:
    """Remove the overrides of one date: it follows the weekly plan again."""
    rota.replace_day(session, day=day, rows=[], now=now, by=user.actor)
    session.commit()
    return _day_json(session, day)


@router.post("/api/rota/import", response_model=schemas.RotaImport)
async def import_rota(request: Request, user: Writer, session: SessionDep, now: NowDep) -> dict[str, Any]:
    """A rota CSV (``kind,day,start,end,user,duty``) as the body or a multipart ``file``. All or
    nothing: any bad line answers 422 with every bad line, and nothing is written."""
    text = await read_csv(request)
    try:
        result = rota.import_csv(session, text=text, now=now, by=user.actor)
    except rota.RotaError as exc:
        raise _unprocessable(exc) from exc
    session.commit()
    return {"weekly": result.weekly, "overrides": result.overrides, "dates": [d.isoformat() for d in result.dates]}


@router.get("/api/rota/export", response_class=CsvFile)
def export_rota(_: Reader, session: SessionDep, now: NowDep, tz: ZoneDep,
                since: Annotated[date | None, Query(alias="from")] = None,
                all_dates: Annotated[bool, Query(alias="all", description="also past overrides")] = False,
                ) -> Response:
    """The weekly plan and the overrides from ``from`` (default today; ``all=true``: every date)
    as a CSV that ``POST /api/rota/import`` takes back."""
    start = None if all_dates else since or local_today(now, tz)
    text = rota.export_csv(session, since=start)
    stamp = now.astimezone(tz).strftime("%Y%m%d")
    return download(BOM + text, f"rota-{stamp}.csv")
