"""Residents' requests (居民点单): file (with an optional photo), follow, confirm and rate, or
reopen. Residents see their own home's requests, grid workers their grid's, office staff all."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field
from sqlmodel import select

from gateway import photos
from gateway.api.deps import Allowed, NowDep, PrincipalDep, RuntimeDep, SessionDep, ZoneDep
from gateway.api.schemas import requests as schemas
from gateway.api.schemas.base import ExactRoute
from gateway.api.schemas.orders import Order as OrderOut
from gateway.clock import iso
from gateway.domain.orders import Action, IllegalTransition
from gateway.domain.requests import CATEGORIES
from gateway.domain.roles import Perm, Role
from gateway.services.accounts import Principal
from gateway.services.order_actions import OrderNotFound, act
from gateway.services.requests import RequestError, after_action, confirm, file_request, requests_for
from gateway.storage import accounts, crud
from gateway.storage.models import Home, Order, ServiceRequest
from gateway.storage.people_models import Resident
from gateway.views import order_json

router = APIRouter(prefix="/api/requests", tags=["requests"], route_class=ExactRoute)

Filer = Annotated[Principal, Depends(Allowed(Perm.REQUESTS_FILE))]
Confirmer = Annotated[Principal, Depends(Allowed(Perm.REQUESTS_CONFIRM))]
OFFICE = frozenset({Role.ADMIN, Role.DISPATCHER})


class RequestIn(BaseModel):
    category: str = Field(description="repair_plumbing, repair_electrical, repair_appliance, repair_door_lock, "
                                      "mediation, elderly_care, cleaning, other")
    description: str = Field(min_length=1, max_length=2000)
    home_id: str | None = Field(default=None, max_length=64, description="grid workers and staff: whose home")
    preferred_time: str = Field(default="", max_length=64)
    photo: str | None = Field(default=None, max_length=64, description="an id from POST /api/requests/photos")


class ConfirmIn(BaseModel):
    rating: int = Field(ge=1, le=5)
    comment: str | None = Field(default=None, max_length=1000)


class ReopenIn(BaseModel):
    reason: str = Field(min_length=1, max_length=500)


_QUIET = frozenset({"opened", "linked_request", "escalation", "repeat"})


def last_note(session: Any, order_id: int) -> dict[str, Any] | None:
    """The latest note a person wrote on the order (a resolve note, the third party waited for),
    which residents, who cannot read the order's timeline, are shown."""
    for e in reversed(list(crud.timeline_for(session, order_id=order_id))):
        party = (e.data or {}).get("party") if e.action == "third_party" else None
        if e.action in _QUIET or e.actor.startswith("shewu:") or not (e.note or party):
            continue
        return {"at": iso(e.at), "action": e.action, "note": e.note, **({"party": party} if party else {})}
    return None


def request_json(r: ServiceRequest, order: Order | Any, now: Any, session: Any = None) -> dict[str, Any]:
    cat = CATEGORIES.get(r.category)
    return {
        "last_note": last_note(session, r.order_id) if session is not None else None,
        "id": r.id, "order_id": r.order_id, "linked": r.linked, "home_id": r.home_id, "category": r.category,
        "category_zh": cat.zh if cat else r.category, "category_en": cat.en if cat else r.category,
        "description": r.description, "preferred_time": r.preferred_time, "photo": r.photo,
        "filed_by": r.filed_by, "on_behalf": r.on_behalf, "filed_at": iso(r.filed_at), "answer": r.answer,
        "rating": r.rating, "rating_comment": r.rating_comment, "order": order_json(order, now),
    }


def resident_home(session: Any, name: str) -> str | None:
    """A resident's home: their account's, else the resident record linked to their login."""
    user = accounts.get_user(session, name=name)
    if user is not None and user.home_id:
        return user.home_id
    record = session.exec(select(Resident).where(Resident.user == name)).first()
    return record.home_id if record is not None else None


def _home_of(session: Any, principal: Principal, home_id: str | None) -> Home:
    if principal.role is Role.RESIDENT:
        home_id = resident_home(session, principal.name)
        if not home_id:
            raise HTTPException(409, "your account is not linked to a home; ask the community office")
    if not home_id:
        raise HTTPException(422, "home_id: whose home is this request for?")
    home = session.get(Home, home_id)
    if home is None:
        raise HTTPException(404, f"no home {home_id!r}")
    if principal.role is Role.GRID_WORKER and home.grid != principal.grid:
        raise HTTPException(403, f"home {home_id} is not in your grid")
    return home


def _may_see(session: Any, principal: Principal, order: Order) -> bool:
    if principal.role in OFFICE:
        return True
    if principal.role is Role.GRID_WORKER:
        return bool(principal.grid) and order.grid == principal.grid
    if principal.role is Role.RESIDENT:
        home = resident_home(session, principal.name)
        return home is not None and order.home_id == home
    return order.assignee == principal.name  # a technician: their own


@router.get("/categories", response_model=list[schemas.Category])
def categories(_: PrincipalDep) -> list[dict[str, Any]]:
    return [{"code": c.code, "zh": c.zh, "en": c.en, "team": c.team, "skill": c.skill.value if c.skill else None,
             "targets": {"accept_hours": c.targets.accept_hours, "onsite_hours": c.targets.onsite_hours,
                         "resolve_hours": c.targets.resolve_hours, "working_hours": c.targets.working_hours}}
            for c in CATEGORIES.values()]


@router.post("/photos", status_code=201, response_model=schemas.PhotoId)
async def upload_photo(request: Request, runtime: RuntimeDep, _: Filer) -> dict[str, str]:
    """A photo as the raw body (image/jpeg, image/png, image/webp) or a multipart ``file``."""
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("multipart/form-data"):
        form = await request.form()
        upload = form.get("file")
        if upload is None or isinstance(upload, str):
            raise HTTPException(422, "send the photo as the multipart field 'file'")
        data = await upload.read(photos.MAX_BYTES + 1)
    else:
        data = await request.body()
    try:
        return {"photo": photos.save(runtime.settings.photo_dir, data)}
    except photos.PhotoRejected as exc:
        raise HTTPException(413 if "at most" in str(exc) else 415, str(exc)) from exc


PHOTO = {200: {"description": "the photo as uploaded",
               "content": {m: {"schema": {"type": "string", "format": "binary"}} for m in photos.MEDIA.values()}}}


@router.get("/photos/{photo_id}", response_class=FileResponse, responses=PHOTO)
def get_photo(photo_id: str, session: SessionDep, runtime: RuntimeDep, principal: PrincipalDep) -> FileResponse:
    path = photos.path_of(runtime.settings.photo_dir, photo_id)
    row = session.exec(select(ServiceRequest).where(ServiceRequest.photo == photo_id)).first() if path else None
    order = crud.get_order(session, order_id=row.order_id) if row else None
    if path is None or order is None or not _may_see(session, principal, order):
        raise HTTPException(404, "no such photo")
    return FileResponse(path, media_type=photos.MEDIA[path.suffix.lstrip(".")])


@router.post("", status_code=201, response_model=schemas.Request)
def file(body: RequestIn, session: SessionDep, now: NowDep, tz: ZoneDep, runtime: RuntimeDep,
         principal: Filer) -> dict[str, Any]:
    home = _home_of(session, principal, body.home_id)
    if body.photo is not None and photos.path_of(runtime.settings.photo_dir, body.photo) is None:
        raise HTTPException(422, "photo: upload it first (POST /api/requests/photos)")
    try:
        filed = file_request(session, home=home, category=body.category, description=body.description,
                             filed_by=principal.actor, on_behalf=principal.role is not Role.RESIDENT, now=now, tz=tz,
                             preferred_time=body.preferred_time, photo=body.photo)
    except RequestError as exc:
        raise HTTPException(422, str(exc)) from exc
    session.commit()
    order = crud.get_order(session, order_id=filed.order.id)
    out = request_json(filed.request, order, now)
    runtime.broadcast("opened" if not filed.linked else "repeat", out["order"])
    return out


@router.get("", response_model=list[schemas.Request])
def list_requests(session: SessionDep, now: NowDep, principal: PrincipalDep,
                  limit: int = 200) -> list[dict[str, Any]]:
    if principal.role is Role.RESIDENT:
        home = resident_home(session, principal.name)
        if home is None:
            return []
        rows = requests_for(session, home_ids={home}, limit=limit)
    elif principal.role is Role.GRID_WORKER:
        if not principal.grid:
            raise HTTPException(403, "no grid is assigned to you; ask an admin")
        rows = requests_for(session, grid=principal.grid, limit=limit)
    elif principal.role in OFFICE:
        rows = requests_for(session, limit=limit)
    else:
        raise HTTPException(403, f"role {principal.role.value} has no request list")
    return [request_json(r, o, now, session) for r, o in rows]


def _own_order(session: Any, principal: Principal, order_id: int) -> Order:
    order = crud.get_order(session, order_id=order_id)
    if order is None or order.category != "request":
        raise HTTPException(404, f"no request order {order_id}")
    if not _may_see(session, principal, order):
        raise HTTPException(403, f"order {order_id} is not yours")
    return order


@router.post("/{order_id}/confirm", response_model=OrderOut)
def confirm_request(order_id: int, body: ConfirmIn, session: SessionDep, now: NowDep, runtime: RuntimeDep,
                    principal: Confirmer) -> dict[str, Any]:
    _own_order(session, principal, order_id)
    try:
        order = confirm(session, order_id=order_id, rating=body.rating, comment=body.comment,
                        actor=principal.actor, now=now)
    except IllegalTransition as exc:
        raise HTTPException(409, exc.reason) from exc
    session.commit()
    out = order_json(order, now)
    runtime.broadcast("updated", out)
    return out


@router.post("/{order_id}/reopen", response_model=OrderOut)
def reopen_request(order_id: int, body: ReopenIn, session: SessionDep, now: NowDep, tz: ZoneDep,
                   runtime: RuntimeDep, principal: Confirmer) -> dict[str, Any]:
    _own_order(session, principal, order_id)
    try:
        order = act(session, order_id=order_id, action=Action.REOPEN, actor=principal.actor, now=now,
                    reason=body.reason)
        after_action(session, order=order, action=Action.REOPEN, now=now, tz=tz)
    except (IllegalTransition, OrderNotFound) as exc:
        raise HTTPException(409, getattr(exc, "reason", str(exc))) from exc
    session.commit()
    out = order_json(order, now)
    runtime.broadcast("updated", out)
    return out
