"""Sign-in for the pages: a session cookie (HttpOnly, SameSite=Strict). The API also takes the
same session, or an integration's token, as ``Authorization: Bearer``."""

from __future__ import annotations

import threading
import time
from typing import Any

from fastapi import APIRouter, HTTPException, Request, Response
from pydantic import BaseModel, Field

from gateway.api.deps import SESSION_COOKIE, NowDep, PrincipalDep, SessionDep, request_token
from gateway.api.schemas import users as schemas
from gateway.api.schemas.base import ExactRoute
from gateway.clock import iso
from gateway.security import token_digest
from gateway.services.accounts import SESSION_TTL, AccountError, sign_in
from gateway.storage import accounts

router = APIRouter(prefix="/api/auth", tags=["auth"], route_class=ExactRoute)


class LoginBody(BaseModel):
    name: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


class _Throttle:
    """At most ``limit`` failed sign-ins per user name in ``window`` seconds (per process)."""

    def __init__(self, limit: int = 5, window: float = 300.0) -> None:
        self.limit, self.window = limit, window
        self._failures: dict[str, list[float]] = {}
        self._lock = threading.Lock()

    def blocked(self, name: str) -> bool:
        with self._lock:
            recent = [t for t in self._failures.get(name, []) if time.monotonic() - t < self.window]
            self._failures[name] = recent
            return len(recent) >= self.limit

    def failed(self, name: str) -> None:
        with self._lock:
            self._failures.setdefault(name, []).append(time.monotonic())

    def clear(self, name: str) -> None:
        with self._lock:
            self._failures.pop(name, None)


throttle = _Throttle()


@router.post("/login", response_model=schemas.SignedIn)
def login(body: LoginBody, request: Request, response: Response, session: SessionDep, now: NowDep) -> dict[str, Any]:
    name = body.name.strip()
    if throttle.blocked(name):
        raise HTTPException(429, "too many failed sign-ins; wait five minutes")
    try:
        token, user = sign_in(session, name=name, password=body.password, now=now)
    except AccountError as exc:
        throttle.failed(name)
        raise HTTPException(401, str(exc)) from exc
    session.commit()
    throttle.clear(name)
    response.set_cookie(SESSION_COOKIE, token, max_age=int(SESSION_TTL.total_seconds()), httponly=True,
                        samesite="strict", secure=request.url.scheme == "https", path="/")
    return {"name": user.name, "display_name": user.display_name, "role": user.role,
            "expires_at": iso(now + SESSION_TTL)}


@router.post("/logout", response_model=schemas.SignedOut)
def logout(request: Request, response: Response, session: SessionDep, now: NowDep) -> dict[str, bool]:
    token = request_token(request.headers.get("authorization"), request.cookies.get(SESSION_COOKIE))
    if token:
        row = accounts.token_by_digest(session, digest=token_digest(token))
        if row is not None and row.kind == "session" and row.revoked_at is None:
            accounts.revoke_tokens(session, now=now, token_id=row.id)
            session.commit()
    response.delete_cookie(SESSION_COOKIE, path="/")
    return {"signed_out": True}


@router.get("/me", response_model=schemas.Me)
def me(principal: PrincipalDep) -> dict[str, Any]:
    return {"name": principal.name, "display_name": principal.display_name, "role": principal.role.value,
            "grid": principal.grid, "via": principal.via}
