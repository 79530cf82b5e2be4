"""The on-call rota over the database: who is on duty now, writing the plan, CSV in and out.

The rules of the plan are in ``gateway.domain.rota``. Here:

- **Who may be on the rota.** Every named user must exist, be active and have the role
  ``dispatcher`` or ``admin``, for either duty (a duty leader is usually an admin). Writing a
  plan that names anyone else is refused with the offending rows.
- **Who is on duty** (``on_call``) is the domain's answer for the plan in the database, less
  anyone who is no longer an active dispatcher or admin (deactivated after the rota was written):
  they are not paged. ``OnDuty.team`` is the on-call team (``oncall_team``); ``OnDuty.leader_users``
  is the duty leader (``duty_leader``), falling back to the dispatchers on duty when no leader
  is (``OnDuty.leader_missing``). With nobody on duty at all (``OnDuty.nobody``) both are empty
  and the caller decides (group channels subscribed to the audience names are still told).
- **Writing** replaces: ``replace_weekly`` the whole weekly plan, ``replace_day`` one date's
  override rows (none: the date follows the weekly plan again).
- **CSV import** (``import_csv``), header ``kind,day,start,end,user,duty``, one row a shift:
  ``weekly`` rows (day ``mon``..``sun``, ``1``..``7`` with 1 = Monday, or ``周一``..``周日``) and
  ``override`` rows (day ``YYYY-MM-DD``; an empty user is "nobody", times and duty may then be
  empty). Weekly rows, if there are any, replace the whole weekly plan; override rows replace the
  override rows of each date they name; other dates and, without weekly rows, the weekly plan
  are left as they are. All or nothing: any bad line and nothing is written (``RotaError`` with
  every bad line). Empty lines and lines whose kind starts with ``#`` are skipped.
- **CSV export** (``export_csv``) writes the same format, so an export imports back unchanged.

Callers commit.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session

from gateway.domain.roles import Role
from gateway.domain.rota import (
    WEEKDAYS,
    Assignment,
    Duty,
    OnDuty,
    Override,
    Shift,
    local_today,
    on_duty,
    parse_date,
    parse_duty,
    parse_weekday,
)
from gateway.storage import rota as store
from gateway.storage.models import User
from gateway.storage.rota_models import RotaOverride, RotaShift

ROTA_ROLES = frozenset({Role.DISPATCHER, Role.ADMIN})
CSV_FIELDS = ("kind", "day", "start", "end", "user", "duty")
MAX_ROWS = 5000


class RotaError(ValueError):
    """A plan that cannot be written. ``errors`` are FastAPI-style: ``{"loc": [...], "msg": ...}``
    (CSV lines also carry ``"line"``)."""

    def __init__(self, message: str, errors: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.errors = errors or []


@dataclass(frozen=True, slots=True)
class ImportResult:
    weekly: int | None  # rows of the new weekly plan; None: the weekly plan was left as it was
    overrides: int  # override rows written
    dates: tuple[date, ...]  # the dates whose overrides were replaced


# --- reading ---------------------------------------------------------------------------------


def weekly_plan(session: Session) -> list[Shift]:
    return [Shift(r.weekday, r.start_time, r.end_time, r.user_name, Duty(r.duty)) for r in store.list_shifts(session)]


def overrides(session: Session, *, since: date | None = None, until: date | None = None,
              days: Iterable[date] | None = None) -> list[Override]:
    return [Override(r.day, r.start_time, r.end_time, r.user_name, Duty(r.duty))
            for r in store.list_overrides(session, since=since, until=until, days=days)]


def rota_problem(user: User | None, name: str) -> str | None:
    """Why ``name`` cannot be on the rota, or None if they can."""
    if user is None:
        return f"unknown user {name!r}"
    if not user.active:
        return f"user {name!r} is not active"
    if user.role not in ROTA_ROLES:
        return f"user {name!r} is a {user.role}; the rota takes dispatchers and admins"
    return None


def on_call(session: Session, *, now: datetime, tz: ZoneInfo) -> OnDuty:
    """Who is on duty at ``now``: the plan's answer, less anyone who may no longer be on the rota."""
    today = local_today(now, tz)
    answer = on_duty(weekly_plan(session), overrides(session, days=(today - timedelta(days=1), today)), now, tz)
    users = store.users_named(session, names=[a.user for a in (*answer.dispatchers, *answer.leaders)])

    def keep(items: tuple[Assignment, ...]) -> tuple[Assignment, ...]:
        return tuple(a for a in items if rota_problem(users.get(a.user), a.user) is None)

    return OnDuty(dispatchers=keep(answer.dispatchers), leaders=keep(answer.leaders))


# --- writing ---------------------------------------------------------------------------------


def _user_errors(session: Session, named: Sequence[tuple[list[Any], str]]) -> list[dict[str, Any]]:
    """For (loc, user name) pairs: the errors of names that cannot be on the rota."""
    users = store.users_named(session, names=[n for _, n in named])
    errors = []
    for loc, name in named:
        problem = rota_problem(users.get(name), name)
        if problem is not None:
            errors.append({"loc": loc, "msg": problem})
    return errors


def _duplicate_errors(rows: Sequence[Shift | Override], loc: list[Any]) -> list[dict[str, Any]]:
    seen: dict[Shift | Override, int] = {}
    errors = []
    for i, row in enumerate(rows):
        if row in seen:
            errors.append({"loc": [*loc, i], "msg": f"the same shift as row {seen[row]}"})
        else:
            seen[row] = i
    return errors


def replace_weekly(session: Session, *, shifts: Sequence[Shift], now: datetime, by: str) -> int:
    """The weekly plan becomes ``shifts``. Raises RotaError (nothing written) for a user who may
    not be on the rota or a row given twice."""
    errors = _user_errors(session, [(["shifts", i, "user"], s.user) for i, s in enumerate(shifts)])
    errors += _duplicate_errors(shifts, ["shifts"])
    if errors:
        raise RotaError("the weekly plan was not changed", sorted(errors, key=lambda e: e["loc"][1]))
    return store.replace_shifts(session, shifts=[_shift_row(s, now, by) for s in shifts])


def replace_day(session: Session, *, day: date, rows: Sequence[Override], now: datetime, by: str) -> int:
    """The override rows of ``day`` become ``rows`` (each must be for ``day``); none: the date
    follows the weekly plan. Raises RotaError (nothing written)."""
    errors = [{"loc": ["shifts", i, "day"], "msg": f"row is for {o.day.isoformat()}, not {day.isoformat()}"}
              for i, o in enumerate(rows) if o.day != day]
    errors += _user_errors(session, [(["shifts", i, "user"], o.user) for i, o in enumerate(rows) if o.user is not None])
    errors += _duplicate_errors(rows, ["shifts"])
    if errors:
        raise RotaError(f"the overrides of {day.isoformat()} were not changed",
                        sorted(errors, key=lambda e: e["loc"][1]))
    return store.replace_overrides(session, day=day, overrides=[_override_row(o, now, by) for o in rows])


def _shift_row(s: Shift, now: datetime, by: str) -> RotaShift:
    return RotaShift(weekday=s.weekday, start_time=s.start, end_time=s.end, user_name=s.user, duty=s.duty.value,
                     created_at=now, created_by=by)


def _override_row(o: Override, now: datetime, by: str) -> RotaOverride:
    return RotaOverride(day=o.day, start_time=o.start, end_time=o.end, user_name=o.user, duty=o.duty.value,
                        created_at=now, created_by=by)


# --- CSV -------------------------------------------------------------------------------------


def _cell(row: dict[str | None, Any], name: str) -> str:
    value = row.get(name)
    return value.strip() if isinstance(value, str) else ""


def _parse_row(row: dict[str | None, Any]) -> Shift | Override | None:
    """One CSV row as a shift or an override; None for a row to skip. Raises ValueError."""
    if row.get(None):
        raise ValueError(f"more cells than the header's {len(CSV_FIELDS)} (a comma in a name? quote it)")
    kind = _cell(row, "kind").lower()
    if kind.startswith("#") or not any(_cell(row, f) for f in CSV_FIELDS):
        return None
    day, start, end, user, duty = (_cell(row, f) for f in ("day", "start", "end", "user", "duty"))
    if kind == "weekly":
        if not user:
            raise ValueError("a weekly row needs a user")
        if not duty:
            raise ValueError("duty is empty; one of: dispatcher, leader")
        return Shift(parse_weekday(day), start, end, user, parse_duty(duty))
    if kind == "override":
        when = parse_date(day)
        if not user:  # nobody: times and duty may be left out
            return Override(when, start or "00:00", end or "24:00", None, parse_duty(duty) if duty else Duty.DISPATCHER)
        if not duty:
            raise ValueError("duty is empty; one of: dispatcher, leader")
        return Override(when, start, end, user, parse_duty(duty))
    raise ValueError(f"kind {kind!r} is not weekly or override")


def _read_csv(text: str) -> tuple[list[tuple[int, Shift | Override]], list[dict[str, Any]]]:
    """The rows of a rota CSV with their line numbers, and the errors of the lines that are not
    rows. Raises RotaError for a file that is not a rota CSV at all."""
    reader = csv.DictReader(io.StringIO(text))
    if reader.fieldnames is None:
        raise RotaError("the CSV is empty", [_line_error(1, "no header")])
    reader.fieldnames = [f.strip().lower() for f in reader.fieldnames]
    missing = [f for f in CSV_FIELDS if f not in reader.fieldnames]
    if missing:
        msg = f"the header must be {','.join(CSV_FIELDS)}; missing: {', '.join(missing)}"
        raise RotaError(msg, [_line_error(1, msg)])
    rows: list[tuple[int, Shift | Override]] = []
    errors: list[dict[str, Any]] = []
    for row in reader:
        line = reader.line_num
        if len(rows) + len(errors) >= MAX_ROWS:
            raise RotaError(f"at most {MAX_ROWS} rows in one import", [_line_error(line, "too many rows")])
        try:
            parsed = _parse_row(row)
        except ValueError as exc:
            errors.append(_line_error(line, str(exc)))
            continue
        if parsed is not None:
            rows.append((line, parsed))
    return rows, errors


def _line_error(line: int, msg: str) -> dict[str, Any]:
    return {"line": line, "loc": [f"line {line}"], "msg": msg}


def parse_csv(text: str) -> list[tuple[int, Shift | Override]]:
    """The rows of a rota CSV with their line numbers. Raises RotaError with every bad line."""
    rows, errors = _read_csv(text)
    if errors:
        raise RotaError(f"{len(errors)} bad line(s)", errors)
    return rows


def import_csv(session: Session, *, text: str, now: datetime, by: str) -> ImportResult:
    """Import a rota CSV (see the module's notes). Raises RotaError with every bad line, in
    line order, and writes nothing then."""
    rows, errors = _read_csv(text)
    if not rows and not errors:
        raise RotaError("the CSV has no rows", [_line_error(2, "no rows below the header")])
    users = store.users_named(session, names=[r.user for _, r in rows if r.user])
    first: dict[Shift | Override, int] = {}
    for line, r in rows:
        problem = rota_problem(users.get(r.user), r.user) if r.user else None
        if problem is None and r in first:
            problem = f"the same shift as line {first[r]}"
        first.setdefault(r, line)
        if problem is not None:
            errors.append(_line_error(line, problem))
    if errors:
        raise RotaError(f"nothing was imported: {len(errors)} bad line(s)", sorted(errors, key=lambda e: e["line"]))
    weekly = [r for _, r in rows if isinstance(r, Shift)]
    by_day: dict[date, list[Override]] = {}
    for _, r in rows:
        if isinstance(r, Override):
            by_day.setdefault(r.day, []).append(r)
    written_weekly = store.replace_shifts(session, shifts=[_shift_row(s, now, by) for s in weekly]) if weekly else None
    written = sum(store.replace_overrides(session, day=d, overrides=[_override_row(o, now, by) for o in day_rows])
                  for d, day_rows in sorted(by_day.items()))
    return ImportResult(weekly=written_weekly, overrides=written, dates=tuple(sorted(by_day)))


def export_csv(session: Session, *, since: date | None = None) -> str:
    """The weekly plan and the overrides from ``since`` on (all without it), as an importable CSV."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_FIELDS)
    for s in weekly_plan(session):
        writer.writerow(("weekly", WEEKDAYS[s.weekday], s.start, s.end, s.user, s.duty.value))
    for o in overrides(session, since=since):
        if o.user is None:
            writer.writerow(("override", o.day.isoformat(), "", "", "", ""))
        else:
            writer.writerow(("override", o.day.isoformat(), o.start, o.end, o.user, o.duty.value))
    return out.getvalue()
