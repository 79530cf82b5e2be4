"""Staff and residents (资源清单: skills, home grid, live status), integration tokens, and
automatic dispatch settings."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException
from pydantic import BaseModel, Field

from gateway.api.deps import Allowed, NowDep, PrincipalDep, SessionDep
from gateway.api.schemas import users as schemas
from gateway.api.schemas.base import ExactRoute
from gateway.clock import iso
from gateway.domain.dispatch import RULES, Skill
from gateway.domain.roles import Perm, Role
from gateway.security import hash_password
from gateway.services.accounts import AccountError, Principal, create_api_token, create_user
from gateway.storage import accounts
from gateway.storage import dispatch as dispatch_store
from gateway.storage.models import User

router = APIRouter(tags=["users"], route_class=ExactRoute)

UsersRead = Annotated[Principal, Depends(Allowed(Perm.USERS_READ))]
UsersWrite = Annotated[Principal, Depends(Allowed(Perm.USERS_WRITE))]
TokensWrite = Annotated[Principal, Depends(Allowed(Perm.TOKENS_WRITE))]
OwnStatus = Annotated[Principal, Depends(Allowed(Perm.OWN_STATUS))]

Status = Literal["available", "busy", "off_duty"]
NAME = r"^[^\s/#+]{1,64}$"


class UserIn(BaseModel):
    name: str = Field(pattern=NAME)
    role: Role
    password: str | None = Field(default=None, min_length=8, max_length=256)
    display_name: str = Field(default="", max_length=128)
    team: str = Field(default="", max_length=64)
    skills: list[Skill] = Field(default_factory=list)
    grid: str = Field(default="", max_length=64)
    building: str = Field(default="", max_length=64)
    phone: str = Field(default="", max_length=32)
    home_id: str | None = Field(default=None, max_length=64, description="a resident's home")
    status: Status = "available"


class UserPatch(BaseModel):
    role: Role | None = None
    password: str | None = Field(default=None, min_length=8, max_length=256)
    display_name: str | None = Field(default=None, max_length=128)
    team: str | None = Field(default=None, max_length=64)
    skills: list[Skill] | None = None
    grid: str | None = Field(default=None, max_length=64)
    building: str | None = Field(default=None, max_length=64)
    phone: str | None = Field(default=None, max_length=32)
    home_id: str | None = Field(default=None, max_length=64)
    status: Status | None = None
    active: bool | None = None


class StatusBody(BaseModel):
    status: Status


class TokenIn(BaseModel):
    name: str = Field(min_length=1, max_length=64)
    role: Role


class DispatchSettingIn(BaseModel):
    skill: Skill
    auto: bool


def user_json(user: User, load: int | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": user.name, "display_name": user.display_name, "role": user.role, "team": user.team,
        "skills": list(user.skills or ()), "grid": user.grid, "building": user.building, "phone": user.phone,
        "status": user.status, "active": user.active, "created_at": iso(user.created_at), "home_id": user.home_id,
    }
    if load is not None:
        out["load"] = load
    return out


@router.get("/api/users", response_model=list[schemas.User])
def list_users(session: SessionDep, _: UsersRead, role: Role | None = None) -> list[dict[str, Any]]:
    load = dispatch_store.loads(session)
    return [user_json(u, load.get(u.name, 0)) for u in accounts.list_users(session, role=role)]


@router.post("/api/users", status_code=201, response_model=schemas.User)
def add_user(body: UserIn, session: SessionDep, now: NowDep, _: UsersWrite) -> dict[str, Any]:
    try:
        user = create_user(session, name=body.name, role=body.role.value, password=body.password, now=now,
                           display_name=body.display_name, team=body.team,
                           skills=[s.value for s in body.skills], grid=body.grid, building=body.building,
                           phone=body.phone, status=body.status, home_id=body.home_id)
    except AccountError as exc:
        raise HTTPException(409 if "exists" in str(exc) else 422, str(exc)) from exc
    session.commit()
    return user_json(user)


@router.patch("/api/users/{name}", response_model=schemas.User)
def update_user(name: str, body: UserPatch, session: SessionDep, now: NowDep, principal: UsersWrite
                ) -> dict[str, Any]:
    user = accounts.get_user(session, name=name)
    if user is None:
        raise HTTPException(404, f"no user {name!r}")
    changes = body.model_dump(exclude_unset=True)
    if user.name == principal.name and (changes.get("active") is False or changes.get("role") not in (None, "admin")):
        raise HTTPException(409, "you cannot demote or deactivate yourself")
    password = changes.pop("password", None)
    for field, value in changes.items():
        if field == "skills":
            value = [str(s) for s in value]
        setattr(user, field, value.value if isinstance(value, Role) else value)
    if password:
        user.password_hash = hash_password(password)
    accounts.save_user(session, user=user)
    if password or changes.get("active") is False or "role" in changes:
        accounts.revoke_tokens(session, now=now, user=user.name)  # sign out everywhere
    session.commit()
    return user_json(user)


@router.get("/api/me", response_model=schemas.User | schemas.TokenPrincipal)
def whoami(session: SessionDep, principal: PrincipalDep) -> dict[str, Any]:
    user = accounts.get_user(session, name=principal.name)
    if user is None:  # an integration token
        return {"name": principal.name, "role": principal.role.value, "via": principal.via}
    return user_json(user, dispatch_store.loads(session).get(user.name, 0))


@router.put("/api/me/status", response_model=schemas.User)
def set_my_status(body: StatusBody, session: SessionDep, principal: OwnStatus) -> dict[str, Any]:
    user = accounts.get_user(session, name=principal.name)
    if user is None:
        raise HTTPException(409, "integration tokens have no status")
    user.status = body.status
    accounts.save_user(session, user=user)
    session.commit()
    return user_json(user)


@router.get("/api/tokens", response_model=list[schemas.Token])
def list_tokens(session: SessionDep, _: TokensWrite) -> list[dict[str, Any]]:
    return [
        {"id": t.id, "name": t.name, "role": t.role, "created_at": iso(t.created_at),
         "expires_at": iso(t.expires_at), "revoked_at": iso(t.revoked_at)}
        for t in accounts.list_tokens(session)
    ]


@router.post("/api/tokens", status_code=201, response_model=schemas.NewToken)
def add_token(body: TokenIn, session: SessionDep, now: NowDep, _: TokensWrite) -> dict[str, Any]:
    token = create_api_token(session, name=body.name, role=body.role.value, now=now)
    session.commit()
    return {"name": body.name, "role": body.role.value, "token": token,
            "note": "shown once; only its hash is stored"}


@router.delete("/api/tokens/{token_id}", response_model=schemas.Revoked)
def revoke_token(token_id: int, session: SessionDep, now: NowDep, _: TokensWrite) -> dict[str, int]:
    n = accounts.revoke_tokens(session, now=now, token_id=token_id)
    if n == 0:
        raise HTTPException(404, f"no live token {token_id}")
    session.commit()
    return {"revoked": n}


@router.get("/api/dispatch/settings", response_model=dict[str, schemas.DispatchSetting])
def dispatch_settings(session: SessionDep, _: UsersRead) -> dict[str, Any]:
    stored = {s.kind: s for s in dispatch_store.list_settings(session)}
    return {
        kind: {"skill": stored[kind].skill if kind in stored else rule.skill.value,
               "auto": stored[kind].auto if kind in stored else rule.auto}
        for kind, rule in RULES.items()
    }


@router.put("/api/dispatch/settings/{kind}", response_model=schemas.DispatchSettingSaved)
def set_dispatch_setting(kind: str, body: DispatchSettingIn, session: SessionDep, now: NowDep,
                         principal: UsersWrite) -> dict[str, Any]:
    if kind not in RULES:
        raise HTTPException(404, f"unknown order kind {kind!r}; one of: {', '.join(RULES)}")
    row = dispatch_store.save_setting(session, kind=kind, skill=body.skill.value, auto=body.auto,
                                      by=principal.actor, now=now)
    session.commit()
    return {"kind": row.kind, "skill": row.skill, "auto": row.auto}
