"""Resident records (居民档案) and grids (网格): validation, who sees which record and which part
of it (``gateway.domain.privacy``), and CSV import and export.

Resident CSV (``RESIDENT_CSV_FIELDS``; ``name`` and ``home_id`` are required in the header, any
other column may be left out, and is then left as it is on an update):

    id,name,home_id,phone,lives_alone,age_band,contacts,medical_notes,user

- ``id``: a record's id (the export writes it): that record is updated. Without it, the record
  of the same ``home_id`` and ``name`` is updated, or a new one created.
- ``lives_alone``: yes/no (also 1/0, true/false, y/n, 是/否, 独居; empty is no).
- ``age_band``: one of ``AGE_BANDS``, or empty (unknown).
- ``contacts``: ``name|relation|phone|key`` entries separated by ``;``. The fourth part marks a
  key holder (``key``; also yes/1/true/是/有/钥匙/有钥匙); leave it out for others. Full-width
  ``｜`` and ``；`` are read too. Names, relations and phones may not contain ``|`` or ``;``.
- ``user``: the resident's own login (a user with the role resident), or empty.

An import is all or nothing: any bad line answers every bad line, and nothing is written.

Grid CSV: ``grid,name,workers`` with the workers' user names separated by ``;``. Each grid in the
file gets exactly the workers listed (the others lose it); a grid not in the file is left as it is.
A grid worker works one grid: ``users.grid``, which scopes what they see, is kept equal to the
grid that lists them.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

import sqlalchemy as sa
from pydantic import AfterValidator, BaseModel, BeforeValidator, Field, ValidationError
from sqlmodel import Session, col, select

from gateway.clock import iso
from gateway.domain.orders import ACTIVE_STATUSES
from gateway.domain.privacy import ASSIGNEE_ROLES, can_see_record, opens_sensitive, redact, sensitive_access
from gateway.domain.roles import OFFICE, Role
from gateway.services.accounts import Principal
from gateway.storage import accounts
from gateway.storage.models import Device, Home, Order, User
from gateway.storage.people_models import Grid, Resident

AGE_BANDS: tuple[str, ...] = ("<60", "60-69", "70-79", "80-89", "90+")
MAX_CONTACTS = 20
MAX_ROWS = 20000
MEDICAL_NOTES_MAX = 4000

RESIDENT_CSV_FIELDS = ("id", "name", "home_id", "phone", "lives_alone", "age_band", "contacts", "medical_notes",
                       "user")
GRID_CSV_FIELDS = ("grid", "name", "workers")
GRID_CODE = r"^[^\s;|,/#+；｜]{1,64}$"

_SEPARATORS = ("|", ";", "｜", "；")
_YES = frozenset({"1", "yes", "y", "true", "是", "独居"})
_NO = frozenset({"", "0", "no", "n", "false", "否", "非独居"})
_KEY_YES = frozenset({"key", "1", "yes", "y", "true", "是", "有", "钥匙", "有钥匙"})
_KEY_NO = frozenset({"", "0", "no", "n", "false", "否", "无", "没有"})


class PeopleError(ValueError):
    """A record or a file that cannot be written. ``status``: the HTTP status it answers (422,
    404 or 409); ``errors``: FastAPI-style ``{"loc", "msg"}`` (CSV lines also carry ``"line"``)."""

    def __init__(self, message: str, errors: list[dict[str, Any]] | None = None, status: int = 422) -> None:
        super().__init__(message)
        self.errors = errors or []
        self.status = status


def _line_error(line: int, msg: str) -> dict[str, Any]:
    return {"line": line, "loc": [f"line {line}"], "msg": msg}


# --- input ---------------------------------------------------------------------------------


def _no_separators(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    value = value.strip()
    if any(s in value for s in _SEPARATORS):
        raise ValueError("may not contain '|' or ';' (they separate contacts in the CSV)")
    return value


def _strip(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


def _age_band(value: str | None) -> str | None:
    if value and value not in AGE_BANDS:
        raise ValueError(f"age_band is one of {', '.join(AGE_BANDS)} (or empty)")
    return value


def _login(value: Any) -> Any:
    return (value.strip() or None) if isinstance(value, str) else value


ContactText = Annotated[str, BeforeValidator(_no_separators)]
Stripped = Annotated[str, BeforeValidator(_strip)]
AgeBand = Annotated[str, BeforeValidator(_strip), AfterValidator(_age_band)]
Login = Annotated[str | None, BeforeValidator(_login)]


class ContactIn(BaseModel):
    name: ContactText = Field(min_length=1, max_length=128)
    relation: ContactText = Field(default="", max_length=32, description="e.g. 子女, 配偶, 邻居")
    phone: ContactText = Field(default="", max_length=32)
    holds_key: bool = False


class ResidentIn(BaseModel):
    name: Stripped = Field(min_length=1, max_length=128)
    home_id: Stripped = Field(min_length=1, max_length=64)
    phone: Stripped = Field(default="", max_length=32)
    lives_alone: bool = False
    age_band: AgeBand = Field(default="", max_length=16, description=f"one of {', '.join(AGE_BANDS)}, or empty")
    contacts: list[ContactIn] = Field(default_factory=list, max_length=MAX_CONTACTS)
    medical_notes: str = Field(default="", max_length=MEDICAL_NOTES_MAX)
    user: Login = Field(default=None, max_length=64, description="the resident's own login, if any")


class ResidentPatch(BaseModel):
    """Only the fields sent change; ``contacts`` replaces the whole list; ``user: null`` unlinks."""

    name: Stripped | None = Field(default=None, min_length=1, max_length=128)
    home_id: Stripped | None = Field(default=None, min_length=1, max_length=64)
    phone: Stripped | None = Field(default=None, max_length=32)
    lives_alone: bool | None = None
    age_band: AgeBand | None = Field(default=None, max_length=16)
    contacts: list[ContactIn] | None = Field(default=None, max_length=MAX_CONTACTS)
    medical_notes: str | None = Field(default=None, max_length=MEDICAL_NOTES_MAX)
    user: Login = Field(default=None, max_length=64)


def parse_flag(text: str, yes: frozenset[str] = _YES, no: frozenset[str] = _NO, what: str = "lives_alone") -> bool:
    value = text.strip().lower()
    if value in yes:
        return True
    if value in no:
        return False
    raise ValueError(f"{what}: {text!r} is neither yes nor no")


def parse_contacts(text: str) -> list[dict[str, Any]]:
    """``name|relation|phone|key;...`` (see the module's notes) as contact dicts."""
    text = text.replace("；", ";").replace("｜", "|")
    out: list[dict[str, Any]] = []
    for entry in (e.strip() for e in text.split(";")):
        if not entry:
            continue
        parts = [p.strip() for p in entry.split("|")]
        if len(parts) > 4:
            raise ValueError(f"contact {entry!r}: at most name|relation|phone|key")
        parts += [""] * (4 - len(parts))
        holds_key = parse_flag(parts[3], _KEY_YES, _KEY_NO, what=f"contact {parts[0] or entry!r}: key")
        try:
            contact = ContactIn(name=parts[0], relation=parts[1], phone=parts[2], holds_key=holds_key)
        except ValidationError as exc:
            raise ValueError(f"contact {entry!r}: {_first_error(exc)}") from exc
        out.append(contact.model_dump())
    if len(out) > MAX_CONTACTS:
        raise ValueError(f"at most {MAX_CONTACTS} contacts")
    return out


def format_contacts(contacts: Iterable[dict[str, Any]]) -> str:
    entries = []
    for c in contacts:
        parts = [c.get("name", ""), c.get("relation", ""), c.get("phone", "")]
        if c.get("holds_key"):
            parts.append("key")
        entries.append("|".join(parts))
    return ";".join(entries)


def _first_error(exc: ValidationError) -> str:
    err = exc.errors(include_url=False)[0]
    where = ".".join(str(p) for p in err.get("loc", ()))
    return f"{where}: {err['msg']}" if where else str(err["msg"])


# --- residents -----------------------------------------------------------------------------


def get_resident(session: Session, *, resident_id: int) -> Resident | None:
    return session.get(Resident, resident_id)


def _problems(session: Session, values: dict[str, Any], resident_id: int | None,
              check_holder: bool = True) -> list[tuple[str, int]]:
    """What stops these values being written: (reason, HTTP status). ``check_holder``: whether
    a login already linked to another record is a problem."""
    out: list[tuple[str, int]] = []
    home_id = values.get("home_id")
    if home_id is not None and session.get(Home, home_id) is None:
        out.append((f"no home {home_id!r} (add the home first)", 422))
    login = values.get("user")
    if login:
        user = accounts.get_user(session, name=login)
        if user is None:
            out.append((f"no user {login!r}", 422))
        elif user.role != Role.RESIDENT.value:
            out.append((f"user {login!r} is a {user.role}, not a resident", 422))
        elif check_holder:
            holder = session.exec(select(Resident).where(Resident.user == login)).first()
            if holder is not None and holder.id != resident_id:
                out.append((f"user {login!r} is already linked to resident #{holder.id}", 409))
    return out


def _raise(problems: list[tuple[str, int]]) -> None:
    if problems:
        msg = "; ".join(p for p, _ in problems)
        status = 409 if all(s == 409 for _, s in problems) else 422
        raise PeopleError(msg, [{"loc": ["body"], "msg": p} for p, _ in problems], status)


def create_resident(session: Session, *, data: ResidentIn, now: datetime, by: str) -> Resident:
    values = data.model_dump()
    _raise(_problems(session, values, None))
    resident = Resident(**values, created_at=now, updated_at=now, updated_by=by)
    session.add(resident)
    session.flush()
    return resident


def update_resident(session: Session, *, resident: Resident, changes: dict[str, Any], now: datetime,
                    by: str) -> Resident:
    """``changes``: the fields to set (``ResidentPatch.model_dump(exclude_unset=True)``)."""
    for required in ("name", "home_id"):
        if required in changes and changes[required] is None:
            raise PeopleError(f"{required} cannot be empty", [{"loc": ["body", required], "msg": "required"}])
    for name in ("phone", "age_band", "medical_notes"):
        if name in changes and changes[name] is None:
            changes[name] = ""
    if "lives_alone" in changes and changes["lives_alone"] is None:
        changes["lives_alone"] = False
    if "contacts" in changes and changes["contacts"] is None:
        changes["contacts"] = []
    _raise(_problems(session, changes, resident.id))
    for name, value in changes.items():
        setattr(resident, name, value)
    resident.updated_at = now
    resident.updated_by = by
    session.add(resident)
    session.flush()
    return resident


def delete_resident(session: Session, *, resident: Resident) -> None:
    session.delete(resident)
    session.flush()


def resident_json(resident: Resident, home: Home | None) -> dict[str, Any]:
    """The whole record, sensitive parts included: pass it through ``view`` for a viewer."""
    return {
        "id": resident.id,
        "name": resident.name,
        "home_id": resident.home_id,
        "home": {"address": home.address, "building": home.building, "unit": home.unit, "room": home.room,
                 "grid": home.grid} if home else None,
        "grid": home.grid if home else "",
        "phone": resident.phone,
        "lives_alone": resident.lives_alone,
        "age_band": resident.age_band,
        "contacts": [dict(c) for c in resident.contacts or []],
        "medical_notes": resident.medical_notes,
        "user": resident.user,
        "created_at": iso(resident.created_at),
        "updated_at": iso(resident.updated_at),
        "updated_by": resident.updated_by,
    }


# --- who sees what -------------------------------------------------------------------------

_ORDERS = Order.__table__  # type: ignore[attr-defined]
_DEVICES = Device.__table__  # type: ignore[attr-defined]
_ACTIVE = sorted(s.value for s in ACTIVE_STATUSES)


@dataclass(frozen=True, slots=True)
class Viewer:
    """Who is asking, with what the privacy rules need to know about their orders."""

    role: Role
    name: str
    grid: str
    assigned_homes: frozenset[str] = frozenset()  # homes with an active order assigned to them
    emergency_homes: frozenset[str] = frozenset()  # ... an open emergency among them

    @property
    def office(self) -> bool:
        return self.role in OFFICE


def order_homes(session: Session, *, assignee: str) -> list[tuple[str, str, str]]:
    """(home_id, category, status) of the active orders assigned to ``assignee``. An order's home
    is its own ``home_id`` (requests, care visits) or its device's (alarms)."""
    home = sa.func.coalesce(_ORDERS.c.home_id, _DEVICES.c.home_id)
    stmt = (sa.select(home.label("home_id"), _ORDERS.c.category, _ORDERS.c.status)
            .select_from(_ORDERS.outerjoin(_DEVICES, _DEVICES.c.device_id == _ORDERS.c.device_id))
            .where(_ORDERS.c.assignee == assignee, _ORDERS.c.status.in_(_ACTIVE), home.is_not(None)))
    return [(r.home_id, r.category, r.status) for r in session.connection().execute(stmt)]


def viewer_for(session: Session, principal: Principal) -> Viewer:
    if principal.role not in ASSIGNEE_ROLES:
        return Viewer(role=principal.role, name=principal.name, grid=principal.grid)
    rows = order_homes(session, assignee=principal.name)
    return Viewer(role=principal.role, name=principal.name, grid=principal.grid,
                  assigned_homes=frozenset(h for h, _, _ in rows),
                  emergency_homes=frozenset(h for h, cat, status in rows if opens_sensitive(cat, status)))


def view(resident: Resident, home: Home | None, viewer: Viewer) -> dict[str, Any] | None:
    """The record as ``viewer`` may read it, or None if they may not read it at all."""
    if not can_see_record(viewer.role, viewer.name, user_grid=viewer.grid, record_grid=home.grid if home else "",
                          record_user=resident.user, assigned_at_home=resident.home_id in viewer.assigned_homes):
        return None
    assignees = {viewer.name} if resident.home_id in viewer.emergency_homes else set()
    access = sensitive_access(viewer.role, viewer.name, open_emergency_assignees=assignees, record_user=resident.user)
    return redact(resident_json(resident, home), access)


def residents_for(session: Session, viewer: Viewer, *, grid: str | None = None, home_id: str | None = None,
                  limit: int = 1000, offset: int = 0) -> Sequence[tuple[Resident, Home | None]]:
    """The records ``viewer`` may read (narrowed by ``grid`` and ``home_id``), by home and name.
    The query narrows to the viewer's scope; ``view`` checks each record again."""
    stmt = (select(Resident, Home).join(Home, col(Home.home_id) == col(Resident.home_id), isouter=True)
            .order_by(col(Resident.home_id), col(Resident.name), col(Resident.id)))
    if grid is not None:
        stmt = stmt.where(Home.grid == grid)
    if home_id is not None:
        stmt = stmt.where(Resident.home_id == home_id)
    if not viewer.office:
        if viewer.role is Role.GRID_WORKER:
            if not viewer.grid:
                return []
            stmt = stmt.where(Home.grid == viewer.grid)
        elif viewer.role is Role.TECHNICIAN:
            if not viewer.assigned_homes:
                return []
            stmt = stmt.where(col(Resident.home_id).in_(sorted(viewer.assigned_homes)))
        elif viewer.role is Role.RESIDENT:
            stmt = stmt.where(Resident.user == viewer.name)
        else:
            return []
    return session.exec(stmt.offset(offset).limit(limit)).all()  # type: ignore[return-value]


# --- resident CSV --------------------------------------------------------------------------


def _csv_reader(text: str, fields: Sequence[str], required: Sequence[str]) -> csv.DictReader[str]:
    reader = csv.DictReader(io.StringIO(text))
    if reader.fieldnames is None:
        raise PeopleError("the CSV is empty", [_line_error(1, "no header")])
    reader.fieldnames = [f.strip().lower() for f in reader.fieldnames]
    missing = [f for f in required if f not in reader.fieldnames]
    if missing:
        msg = f"the header needs {', '.join(required)} (columns: {','.join(fields)}); missing: {', '.join(missing)}"
        raise PeopleError(msg, [_line_error(1, msg)])
    return reader


def _resident_row(row: dict[str, Any], columns: set[str]) -> tuple[int | None, dict[str, Any]]:
    """One CSV row as (id, values of the columns present). Raises ValueError."""
    cell = {k: (row.get(k) or "") for k in columns}
    rid: int | None = None
    if cell.get("id", "").strip():
        try:
            rid = int(cell["id"].strip())
        except ValueError as exc:
            raise ValueError(f"id: {cell['id']!r} is not a number") from exc
    raw: dict[str, Any] = {k: cell[k] for k in ("name", "home_id", "phone", "age_band", "medical_notes", "user")
                           if k in cell}
    if "medical_notes" in raw:
        raw["medical_notes"] = raw["medical_notes"].strip()
    if "lives_alone" in cell:
        raw["lives_alone"] = parse_flag(cell["lives_alone"])
    if "contacts" in cell:
        raw["contacts"] = parse_contacts(cell["contacts"])
    try:
        checked = ResidentIn(**raw)
    except ValidationError as exc:
        raise ValueError(_first_error(exc)) from exc
    return rid, checked.model_dump(include=set(raw))


@dataclass(frozen=True, slots=True)
class ImportResult:
    created: int
    updated: int


def import_residents(session: Session, *, text: str, now: datetime, by: str) -> ImportResult:
    """Import a resident CSV (see the module's notes). Raises PeopleError with every bad line, and
    writes nothing then."""
    reader = _csv_reader(text, RESIDENT_CSV_FIELDS, ("name", "home_id"))
    columns = {f for f in RESIDENT_CSV_FIELDS if f in (reader.fieldnames or [])}
    errors: list[dict[str, Any]] = []
    plan: list[tuple[int, Resident | None, dict[str, Any]]] = []
    seen: dict[tuple[Any, ...], int] = {}
    logins: dict[str, int] = {}
    for row in reader:
        line = reader.line_num
        if len(plan) + len(errors) >= MAX_ROWS:
            raise PeopleError(f"at most {MAX_ROWS} rows in one import", [_line_error(line, "too many rows")])
        try:
            rid, values = _resident_row(row, columns)
        except ValueError as exc:
            errors.append(_line_error(line, str(exc)))
            continue
        target: Resident | None
        if rid is not None:
            target = session.get(Resident, rid)
            if target is None:
                errors.append(_line_error(line, f"no resident #{rid} (leave id empty to add one)"))
                continue
            key: tuple[Any, ...] = ("id", rid)
        else:
            same = session.exec(select(Resident).where(Resident.home_id == values["home_id"],
                                                       Resident.name == values["name"])).all()
            if len(same) > 1:
                errors.append(_line_error(line, f"{len(same)} residents named {values['name']!r} live in "
                                                f"{values['home_id']}: give the id"))
                continue
            target = same[0] if same else None
            key = ("id", target.id) if target is not None else ("new", values["home_id"], values["name"])
        if key in seen:
            errors.append(_line_error(line, f"the same resident as line {seen[key]}"))
            continue
        seen[key] = line
        login = values.get("user")
        if login:
            if login in logins:
                errors.append(_line_error(line, f"user {login!r} is also given on line {logins[login]}"))
                continue
            logins[login] = line
        problems = _problems(session, values, target.id if target is not None else None, check_holder=False)
        if problems:
            errors.extend(_line_error(line, p) for p, _ in problems)
            continue
        plan.append((line, target, values))
    # A login linked to another record may move, if this file unlinks it there.
    released = {t.user for _, t, v in plan if t is not None and t.user and "user" in v and v["user"] != t.user}
    for line, target, values in plan:
        login = values.get("user")
        if not login or login in released or (target is not None and target.user == login):
            continue
        holder = session.exec(select(Resident).where(Resident.user == login)).first()
        if holder is not None:
            errors.append(_line_error(line, f"user {login!r} is already linked to resident #{holder.id}"))
    if not plan and not errors:
        raise PeopleError("the CSV has no rows", [_line_error(2, "no rows below the header")])
    if errors:
        raise PeopleError(f"nothing was imported: {len(errors)} bad line(s)", sorted(errors, key=lambda e: e["line"]))
    created = updated = 0
    # Unlink first, so that a login moving from one record to another does not collide.
    for _, target, values in plan:
        if target is not None and "user" in values and target.user != values["user"]:
            target.user = None
            session.add(target)
    session.flush()
    for _, target, values in plan:
        if target is None:
            session.add(Resident(**values, created_at=now, updated_at=now, updated_by=by))
            created += 1
        else:
            for name, value in values.items():
                setattr(target, name, value)
            target.updated_at = now
            target.updated_by = by
            session.add(target)
            updated += 1
    session.flush()
    return ImportResult(created=created, updated=updated)


def export_residents(session: Session, *, grid: str | None = None, home_id: str | None = None) -> str:
    """Every record (narrowed by grid and home), sensitive parts included, as an importable CSV.
    Only for those who see everything (the office)."""
    office = Viewer(role=Role.ADMIN, name="", grid="")
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(RESIDENT_CSV_FIELDS)
    for r, _home in residents_for(session, office, grid=grid, home_id=home_id, limit=10**9):
        writer.writerow((r.id, r.name, r.home_id, r.phone, "yes" if r.lives_alone else "no", r.age_band,
                         format_contacts(r.contacts or []), r.medical_notes, r.user or ""))
    return out.getvalue()


# --- grids ---------------------------------------------------------------------------------


class GridIn(BaseModel):
    name: str = Field(default="", max_length=128)
    workers: list[str] = Field(default_factory=list, max_length=200, description="user names (role grid_worker)")


def grid_workers(session: Session) -> dict[str, list[User]]:
    """Grid workers by the grid they work (``users.grid``: what scopes what they see)."""
    out: dict[str, list[User]] = {}
    for u in accounts.list_users(session, role=Role.GRID_WORKER.value):
        if u.grid:
            out.setdefault(u.grid, []).append(u)
    return out


def list_grids(session: Session) -> list[dict[str, Any]]:
    """Every grid known: those defined, and those that homes or grid workers name."""
    defined = {g.grid: g for g in session.exec(select(Grid)).all()}
    workers = grid_workers(session)
    _homes, _residents = Home.__table__, Resident.__table__  # type: ignore[attr-defined]
    conn = session.connection()
    homes = {g: n for g, n in conn.execute(sa.select(_homes.c.grid, sa.func.count()).group_by(_homes.c.grid))}
    alone = sa.func.sum(sa.case((_residents.c.lives_alone.is_(True), 1), else_=0))
    people = {g: (n, int(a or 0)) for g, n, a in conn.execute(
        sa.select(_homes.c.grid, sa.func.count(), alone)
        .select_from(_residents.join(_homes, _homes.c.home_id == _residents.c.home_id)).group_by(_homes.c.grid))}
    codes = sorted((set(defined) | set(workers) | set(homes)) - {""})
    out = []
    for code in codes:
        row = defined.get(code)
        ws = sorted(workers.get(code, []), key=lambda u: u.name)
        n, alone = people.get(code, (0, 0))
        out.append({"grid": code, "name": row.name if row else "", "defined": row is not None,
                    "workers": [u.name for u in ws], "worker_names": {u.name: u.display_name or u.name for u in ws},
                    "homes": homes.get(code, 0), "residents": n, "living_alone": alone,
                    "updated_at": iso(row.updated_at) if row else None, "updated_by": row.updated_by if row else None})
    return out


def save_grids(session: Session, *, grids: list[tuple[int, str, GridIn]], now: datetime, by: str) -> None:
    """Set each grid's name and workers: ``(line, code, body)``. The workers listed work that grid
    from now on; those who worked it and are not listed no longer do. Raises PeopleError (every
    problem, with its line; 409 if they are all a worker taken by a grid not being set) and writes
    nothing then."""
    errors: list[tuple[int, str, int]] = []
    listed: dict[str, tuple[str, int]] = {}
    codes: dict[str, int] = {}
    for line, code, _body in grids:
        if code in codes:
            errors.append((line, f"grid {code} is also on line {codes[code]}", 422))
        codes.setdefault(code, line)
    setting = {code: {w.strip() for w in body.workers if w.strip()} for _, code, body in grids}
    users = {u.name: u for u in accounts.users_named(session, names=set().union(*setting.values()))}
    for line, code, body in grids:
        for name in sorted({w.strip() for w in body.workers if w.strip()}):
            user = users.get(name)
            if user is None:
                errors.append((line, f"no user {name!r}", 422))
                continue
            if user.role != Role.GRID_WORKER.value:
                errors.append((line, f"{name} is a {user.role}, not a grid worker", 422))
                continue
            if name in listed and listed[name][0] != code:
                errors.append((line, f"{name} is also listed for grid {listed[name][0]}: a grid worker works one "
                                     "grid", 422))
                continue
            listed[name] = (code, line)
            if user.grid and user.grid != code and user.grid not in setting:
                errors.append((line, f"{name} works grid {user.grid}; take them off it first", 409))
    if errors:
        status = 409 if all(s == 409 for _, _, s in errors) else 422
        raise PeopleError(f"nothing was saved: {len(errors)} problem(s)",
                          [_line_error(line, msg) if line else {"loc": ["body", "workers"], "msg": msg}
                           for line, msg, _ in sorted(errors)], status)
    current = grid_workers(session)
    for code, names in setting.items():
        for u in current.get(code, []):
            if u.name not in names:
                u.grid = ""
                accounts.save_user(session, user=u)
    for name, (code, _) in listed.items():
        users[name].grid = code
        accounts.save_user(session, user=users[name])
    for _, code, body in grids:
        row = session.get(Grid, code) or Grid(grid=code)
        row.name = body.name.strip()
        row.workers = sorted(setting[code])
        row.updated_at = now
        row.updated_by = by
        session.add(row)
    session.flush()


def import_grids(session: Session, *, text: str, now: datetime, by: str) -> int:
    """Import a grid CSV (``grid,name,workers``). Answers how many grids were set."""
    reader = _csv_reader(text, GRID_CSV_FIELDS, ("grid",))
    rows: list[tuple[int, str, GridIn]] = []
    errors: list[dict[str, Any]] = []
    for row in reader:
        line = reader.line_num
        if len(rows) + len(errors) >= MAX_ROWS:
            raise PeopleError(f"at most {MAX_ROWS} rows in one import", [_line_error(line, "too many rows")])
        code = (row.get("grid") or "").strip()
        if not re.match(GRID_CODE, code):
            errors.append(_line_error(line, f"grid: {code!r} is not a grid code (1 to 64 characters, no spaces or "
                                            "separators)"))
            continue
        workers = (row.get("workers") or "").replace("；", ";").replace("、", ";")
        try:
            body = GridIn(name=(row.get("name") or "").strip(), workers=[w for w in workers.split(";") if w.strip()])
        except ValidationError as exc:
            errors.append(_line_error(line, _first_error(exc)))
            continue
        rows.append((line, code, body))
    if not rows and not errors:
        raise PeopleError("the CSV has no rows", [_line_error(2, "no rows below the header")])
    if errors:
        raise PeopleError(f"nothing was imported: {len(errors)} bad line(s)", errors)
    save_grids(session, grids=rows, now=now, by=by)
    return len(rows)
