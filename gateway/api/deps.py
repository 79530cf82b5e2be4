"""Request-scoped dependencies, as ``Annotated`` aliases."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import Depends, HTTPException, Request
from sqlmodel import Session

from gateway.domain.roles import Perm, allowed
from gateway.runtime import Runtime
from gateway.services.accounts import Principal, principal_for
from gateway.storage.db import session as open_session

SESSION_COOKIE = "shewu_session"


def get_runtime(request: Request) -> Runtime:
    return request.app.state.runtime  # type: ignore[no-any-return]


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def get_session(runtime: RuntimeDep) -> Iterator[Session]:
    with open_session(runtime.engine) as s:
        yield s


def get_now(runtime: RuntimeDep) -> datetime:
    return runtime.clock()


def get_zone(runtime: RuntimeDep) -> ZoneInfo:
    return runtime.zone


SessionDep = Annotated[Session, Depends(get_session)]
NowDep = Annotated[datetime, Depends(get_now)]
ZoneDep = Annotated[ZoneInfo, Depends(get_zone)]  # the community's wall clock


def request_token(authorization: str | None, cookie: str | None) -> str | None:
    """A bearer token from the Authorization header, else the sign-in cookie."""
    if authorization:
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return value.strip()
    return cookie or None


def get_principal(request: Request, session: SessionDep, now: NowDep) -> Principal:
    token = request_token(request.headers.get("authorization"), request.cookies.get(SESSION_COOKIE))
    if token is None:
        raise HTTPException(401, "sign in, or send a bearer token", headers={"WWW-Authenticate": "Bearer"})
    principal = principal_for(session, token=token, now=now)
    if principal is None:
        raise HTTPException(401, "the token is unknown, revoked or expired", headers={"WWW-Authenticate": "Bearer"})
    return principal


PrincipalDep = Annotated[Principal, Depends(get_principal)]


class Allowed:
    """``Depends(Allowed(Perm.X))``: the principal, if their role holds the permission; else 403."""

    def __init__(self, perm: Perm) -> None:
        self.perm = perm

    def __call__(self, principal: PrincipalDep) -> Principal:
        if not allowed(principal.role, self.perm):
            raise HTTPException(403, f"role {principal.role.value} may not {self.perm.value}")
        return principal


def may(perm: Perm) -> type[Principal]:
    """``user: may(Perm.X)`` in a route's signature."""
    return Annotated[Principal, Depends(Allowed(perm))]  # type: ignore[return-value]
