"""Open311 GeoReport v2 (JSON): existing civic-reporting clients file residents' requests and
follow them. One community, so ``jurisdiction_id`` is accepted and ignored. XML is not offered.

- ``GET /open311/v2/services.json`` and ``GET /open311/v2/services/{service_code}.json``: our
  request categories (``gateway.domain.open311``). No key needed.
- ``POST /open311/v2/requests.json``: form-encoded (as the spec says) or JSON fields. Needs an
  ``api_key`` (a Shewu bearer token: an integration token or a signed-in user's session) whose
  role may file requests (``requests.file``): a dispatcher or admin token files for any home; a
  grid worker for the homes of their grid (an integration token with the role grid_worker has no
  grid, so it files for none: use a dispatcher token); a resident for their own home. The home is
  ``address_id`` (our home id, e.g. ``3-2-101``) or ``address_string`` (a home id, or a home's
  address exactly as registered); ``lat``/``long`` alone do not name a home. Filing goes through
  ``gateway.services.requests.file_request``: a repeat of an open request of the same home and
  category is joined to that order, as through ``POST /api/requests``. ``lat``, ``long``,
  ``media_url``, ``email``, ``first_name``, ``last_name``, ``phone``, ``device_id`` and
  ``account_id`` are kept, as sent, in the data of an ``open311`` entry on the order's timeline
  (``lat``/``long``/``media_url`` come back in the answers); the media is not fetched. A
  description longer than 2000 characters is cut there. ``attribute[...]`` is ignored (no service
  has metadata).
- ``GET /open311/v2/requests.json`` and ``GET /open311/v2/requests/{id}.json``: the filings and
  the state of their orders. Need an ``api_key`` with ``orders.read`` (office staff: all; grid
  workers: their grid; technicians: the orders assigned to them) or a resident's (their home).

The key is the ``api_key`` field (query, form or JSON), else ``Authorization: Bearer``; never the
sign-in cookie (a cross-site form must not file on a browser's session). Errors are
``[{"code": <status>, "description": ...}]``: 400 for bad input, 403 for a missing, unknown or
insufficient key (as GeoReport v2 says), 404 for an unknown service code or request id.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlmodel import Session, col, select

from gateway.api.deps import NowDep, RuntimeDep, SessionDep, ZoneDep, request_token
from gateway.api.schemas import open311 as schemas
from gateway.api.schemas.base import ExactRoute
from gateway.clock import iso
from gateway.domain import open311
from gateway.domain.open311 import Open311Error, RequestView
from gateway.domain.roles import Perm, Role, allowed
from gateway.services.accounts import Principal, principal_for
from gateway.services.requests import ACTOR_AUTO_CLOSE, RequestError, file_request
from gateway.storage import accounts, crud
from gateway.storage.models import Home, Order, ServiceRequest, TimelineEntry
from gateway.views import order_json

router = APIRouter(prefix="/open311/v2", tags=["open311"], route_class=ExactRoute)

OFFICE = frozenset({Role.ADMIN, Role.DISPATCHER})
TIMELINE_ACTION = "open311"
KEPT_FIELDS = ("lat", "long", "media_url", "email", "first_name", "last_name", "phone", "device_id", "account_id")
MAX_FIELD = 500


def _error(exc: Open311Error) -> JSONResponse:
    return JSONResponse(open311.errors(exc.code, exc.description), status_code=exc.code)


# --- who is asking ----------------------------------------------------------------------------


def _principal(request: Request, session: Session, now: datetime, fields: Mapping[str, str]) -> Principal:
    # No sign-in cookie: a form-encoded POST must not be filed on a browser's session behind its back.
    token = (fields.get("api_key") or "").strip() or request_token(request.headers.get("authorization"), None)
    if not token:
        raise Open311Error(403, "api_key is missing: send a Shewu API token as api_key")
    principal = principal_for(session, token=token, now=now)
    if principal is None:
        raise Open311Error(403, "api_key is invalid: unknown, revoked or expired")
    return principal


def _resident_home(session: Session, principal: Principal) -> str | None:
    user = accounts.get_user(session, name=principal.name)
    return user.home_id if user is not None and user.home_id else None


def _read_scope(session: Session, principal: Principal) -> list[Any]:
    """The conditions that keep a reader to what they may see."""
    if principal.role is Role.RESIDENT:
        home = _resident_home(session, principal)
        if home is None:
            raise Open311Error(403, "your account is not linked to a home; ask the community office")
        return [ServiceRequest.home_id == home]
    if not allowed(principal.role, Perm.ORDERS_READ):
        raise Open311Error(403, f"api_key: role {principal.role.value} may not read service requests")
    if principal.role is Role.GRID_WORKER:
        if not principal.grid:
            raise Open311Error(403, "api_key: no grid is assigned to this grid worker")
        return [Order.grid == principal.grid]
    if principal.role is Role.TECHNICIAN:
        return [Order.assignee == principal.name]
    return []


# --- answers ----------------------------------------------------------------------------------


def _views(session: Session, rows: list[tuple[ServiceRequest, Order]], base_url: str) -> list[RequestView]:
    order_ids = sorted({o.id for _, o in rows if o.id is not None})
    entries: list[TimelineEntry] = []
    ratings: dict[int, int] = {}
    last: dict[int, datetime] = {}
    for i in range(0, len(order_ids), 500):
        chunk = order_ids[i:i + 500]
        entries += session.exec(select(TimelineEntry).where(
            col(TimelineEntry.order_id).in_(chunk),
            col(TimelineEntry.action).in_((TIMELINE_ACTION, "third_party", "close")),
        ).order_by(col(TimelineEntry.id))).all()
        for oid, rating in session.exec(
            select(ServiceRequest.order_id, ServiceRequest.rating)
            .where(col(ServiceRequest.order_id).in_(chunk), col(ServiceRequest.rating).is_not(None))
            .order_by(col(ServiceRequest.id))
        ).all():
            if rating is not None:
                ratings.setdefault(oid, rating)
        last.update(session.exec(select(TimelineEntry.order_id, sa.func.max(TimelineEntry.at))
                                 .where(col(TimelineEntry.order_id).in_(chunk))
                                 .group_by(TimelineEntry.order_id)).all())
    sent: dict[int, dict[str, Any]] = {}
    party: dict[int, str] = {}
    auto_closed: set[int] = set()
    for e in entries:
        data = e.data or {}
        if e.action == TIMELINE_ACTION and data.get("service_request_id") is not None:
            sent[int(data["service_request_id"])] = data
        elif e.action == "third_party":
            party[e.order_id] = str(data.get("party") or e.note or "")
        elif e.action == "close":
            if e.actor == ACTOR_AUTO_CLOSE:
                auto_closed.add(e.order_id)
            else:
                auto_closed.discard(e.order_id)
    out = []
    for r, o in rows:
        extra = sent.get(r.id or 0, {})
        media = extra.get("media_url") or (f"{base_url}api/requests/photos/{r.photo}" if r.photo else None)
        out.append(RequestView(
            service_request_id=r.id or 0, category=r.category, description=r.description, answer=r.answer,
            filed_at=r.filed_at, order_id=o.id or 0, linked=r.linked, status=o.status, home_id=r.home_id,
            address=o.address,
            updated_at=open311.last_change([r.filed_at, _aware(last.get(o.id or 0))]),
            expected_at=o.resolve_due_at, cancel_reason=o.cancel_reason,
            third_party=party.get(o.id or 0) if o.status == "third_party" else None,
            rating=ratings.get(o.id or 0), closed_unconfirmed=(o.id or 0) in auto_closed,
            lat=_float(extra.get("lat")), long=_float(extra.get("long")), media_url=media,
        ))
    return out


def _aware(at: datetime | None) -> datetime | None:
    """``max()`` over a UTC column comes back naive from SQLite."""
    return at.replace(tzinfo=UTC) if at is not None and at.tzinfo is None else at


def _float(v: Any) -> float | None:
    try:
        return None if v is None else float(v)
    except (TypeError, ValueError):
        return None


def _query(session: Session, where: list[Any], limit: int = open311.MAX_RESULTS) -> list[tuple[ServiceRequest, Order]]:
    stmt = (select(ServiceRequest, Order).join(Order, col(Order.id) == ServiceRequest.order_id).where(*where)
            .order_by(col(ServiceRequest.filed_at).desc(), col(ServiceRequest.id).desc()).limit(limit))
    return [(r, o) for r, o in session.exec(stmt).all()]


# --- services ---------------------------------------------------------------------------------


@router.get("/services.json", response_model=list[schemas.Service])
def services() -> list[dict[str, Any]]:
    """Our request categories as GeoReport v2 services."""
    return open311.services()


@router.get("/services/{service_code}.json", response_model=schemas.ServiceDefinition,
            responses=schemas.errors(404))
def service_definition(service_code: str) -> dict[str, Any] | JSONResponse:
    c = open311.category_for(service_code)
    if c is None:
        return _error(Open311Error(404, f"service_code {service_code!r} was not found"))
    return open311.service_definition(c)


# --- filing -----------------------------------------------------------------------------------


async def _fields(request: Request) -> dict[str, str]:
    """Query parameters, then the body's fields (form-encoded, multipart or JSON) over them."""
    fields = dict(request.query_params)
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype == "application/json":
        try:
            body = await request.json()
        except ValueError as exc:
            raise Open311Error(400, "the body is not valid JSON") from exc
        if not isinstance(body, dict):
            raise Open311Error(400, "the JSON body is an object of request fields")
        fields.update({str(k): "" if v is None else str(v) for k, v in body.items()
                       if not isinstance(v, dict | list)})
    elif ctype in ("application/x-www-form-urlencoded", "multipart/form-data") or not ctype:
        form = await request.form()
        fields.update({k: v for k, v in form.items() if isinstance(v, str)})
    else:
        raise Open311Error(400, f"send the fields form-encoded (application/x-www-form-urlencoded), not {ctype}")
    return fields


def _home(session: Session, principal: Principal, fields: Mapping[str, str]) -> Home:
    if principal.role is Role.RESIDENT:
        home_id = _resident_home(session, principal)
        if home_id is None:
            raise Open311Error(403, "your account is not linked to a home; ask the community office")
        home = session.get(Home, home_id)
        if home is None:
            raise Open311Error(400, f"your home {home_id!r} is not registered; ask the community office")
        return home
    address_id = (fields.get("address_id") or "").strip()
    address = (fields.get("address_string") or "").strip()
    if address_id:
        home = session.get(Home, address_id)
        if home is None:
            raise Open311Error(400, f"address_id {address_id!r} is not a registered home")
    elif address:
        home = session.get(Home, address) or session.exec(select(Home).where(Home.address == address)).first()
        if home is None:
            raise Open311Error(400, f"address_string {address!r} is not the address of a registered home; "
                                    "send address_id (the home id, e.g. 3-2-101)")
    elif fields.get("lat") or fields.get("long"):
        raise Open311Error(400, "lat/long alone do not name a home: send address_id or address_string")
    else:
        raise Open311Error(400, "a location is required: address_id (the home id) or address_string")
    if principal.role is Role.GRID_WORKER:
        if not principal.grid:
            raise Open311Error(403, "this grid worker key has no grid, so it files for no home; "
                                    "use a dispatcher key")
        if home.grid != principal.grid:
            raise Open311Error(403, f"home {home.home_id} is not in your grid")
    return home


@router.post("/requests.json", response_model=list[schemas.Filed], responses=schemas.errors(400, 403, 404))
async def post_request(request: Request, session: SessionDep, now: NowDep, tz: ZoneDep,
                       runtime: RuntimeDep) -> list[dict[str, Any]] | JSONResponse:
    """File a resident's request. Answers ``[{service_request_id, service_notice, account_id}]``."""
    try:
        fields = await _fields(request)
        principal = _principal(request, session, now, fields)
        if not allowed(principal.role, Perm.REQUESTS_FILE):
            raise Open311Error(403, f"api_key: role {principal.role.value} may not file requests")
        code = (fields.get("service_code") or "").strip()
        if not code:
            raise Open311Error(400, "service_code was not provided")
        category = open311.category_for(code)
        if category is None:
            raise Open311Error(404, f"service_code {code!r} was not found")
        lat = open311.parse_coordinate("lat", fields.get("lat"), 90)
        long = open311.parse_coordinate("long", fields.get("long"), 180)
        if (lat is None) != (long is None):
            raise Open311Error(400, "lat and long are sent together")
        home = _home(session, principal, fields)
        description = fields.get("description") or ""
        try:
            filed = file_request(session, home=home, category=category.code, description=description,
                                 filed_by=principal.actor, on_behalf=principal.role is not Role.RESIDENT, now=now,
                                 tz=tz)
        except RequestError as exc:
            raise Open311Error(400, str(exc)) from exc
    except Open311Error as exc:
        session.rollback()
        return _error(exc)
    kept: dict[str, Any] = {"service_request_id": filed.request.id}
    for name in KEPT_FIELDS:
        value = (fields.get(name) or "").strip()
        if value:
            kept[name] = value[:MAX_FIELD]
    if lat is not None:
        kept["lat"], kept["long"] = lat, long
    crud.add_timeline(session, order_id=filed.order.id, at=now, actor=principal.actor, action=TIMELINE_ACTION,
                      note=f"Open311 service request {filed.request.id}", data=kept)
    session.commit()
    order = crud.get_order(session, order_id=filed.order.id)
    if order is not None:
        runtime.broadcast("repeat" if filed.linked else "opened", order_json(order, now))
    return [{"service_request_id": str(filed.request.id), "service_notice": filed.request.answer, "account_id": None}]


# --- following --------------------------------------------------------------------------------


@router.get("/requests.json", response_model=list[schemas.ServiceRequest], responses=schemas.errors(400, 403))
def get_requests(request: Request, session: SessionDep, now: NowDep, tz: ZoneDep
                 ) -> list[dict[str, Any]] | JSONResponse:
    """Service requests: ``service_request_id`` (comma list; overrides the rest), ``service_code``
    (comma list), ``start_date`` / ``end_date`` on ``requested_datetime`` (ISO 8601; default and
    longest span: 90 days), ``status`` (``open``, ``closed``). Newest first, at most 1000."""
    q = request.query_params
    try:
        principal = _principal(request, session, now, q)
        where = _read_scope(session, principal)
        ids = open311.comma_list(q.get("service_request_id"))
        if ids:
            if not all(i.isdigit() for i in ids):
                raise Open311Error(400, "service_request_id: comma-separated request ids")
            where.append(col(ServiceRequest.id).in_([int(i) for i in ids]))
        else:
            where += _search(q, now, tz)
        rows = _query(session, where)
    except Open311Error as exc:
        return _error(exc)
    return [open311.request_json(v, iso) for v in _views(session, rows, str(request.base_url))]


def _search(q: Mapping[str, str], now: datetime, tz: Any) -> list[Any]:
    where: list[Any] = []
    codes = open311.comma_list(q.get("service_code"))
    if codes:
        known = open311.service_code_map()
        unknown = [c for c in codes if c not in known]
        if unknown:
            raise Open311Error(400, f"service_code {', '.join(unknown)} was not found")
        where.append(col(ServiceRequest.category).in_([known[c].code for c in codes]))
    window = timedelta(days=open311.DEFAULT_WINDOW_DAYS)
    start = open311.parse_datetime("start_date", q["start_date"], tz) if q.get("start_date") else None
    end = open311.parse_datetime("end_date", q["end_date"], tz) if q.get("end_date") else None
    if end is None:
        end = min(now, start + window) if start is not None else now
    if start is None:
        start = end - window
    if end < start:
        raise Open311Error(400, "end_date is before start_date")
    if end - start > window:
        raise Open311Error(400, f"start_date to end_date may not span more than {open311.DEFAULT_WINDOW_DAYS} days")
    where += [col(ServiceRequest.filed_at) >= start, col(ServiceRequest.filed_at) <= end]
    states = open311.comma_list(q.get("status"))
    if states:
        bad = [s for s in states if s not in (open311.OPEN, open311.CLOSED)]
        if bad:
            raise Open311Error(400, f"status: open or closed, not {', '.join(bad)}")
        closed = col(Order.status).in_(sorted(open311.CLOSED_STATUSES))
        if set(states) == {open311.CLOSED}:
            where.append(closed)
        elif set(states) == {open311.OPEN}:
            where.append(sa.not_(closed))
    return where


@router.get("/requests/{service_request_id}.json", response_model=list[schemas.ServiceRequest],
            responses=schemas.errors(403, 404))
def get_request(service_request_id: str, request: Request, session: SessionDep, now: NowDep
                ) -> list[dict[str, Any]] | JSONResponse:
    """One service request, as a list of one (GeoReport v2)."""
    try:
        principal = _principal(request, session, now, request.query_params)
        where = _read_scope(session, principal)
        if not service_request_id.isdigit():
            raise Open311Error(404, f"service_request_id {service_request_id!r} was not found")
        rows = _query(session, [*where, ServiceRequest.id == int(service_request_id)], limit=1)
        if not rows:  # unknown, or not the asker's to see
            raise Open311Error(404, f"service_request_id {service_request_id!r} was not found")
    except Open311Error as exc:
        return _error(exc)
    return [open311.request_json(v, iso) for v in _views(session, rows, str(request.base_url))]
