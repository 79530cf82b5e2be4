"""Accounts (``gateway.api.routes.users`` and ``auth``): staff and residents, sign-in, integration
tokens, automatic dispatch settings."""

from __future__ import annotations

from pydantic import Field

from gateway.api.schemas.base import Absent, Out, Timestamp, absent


class User(Out):
    name: str
    display_name: str
    role: str = Field(description="admin, dispatcher, technician, grid_worker, resident")
    team: str
    skills: list[str]
    grid: str = Field(description="a grid worker's grid; it scopes what they see")
    building: str
    phone: str
    status: str = Field(description="available, busy, off_duty")
    active: bool
    created_at: Timestamp | None
    home_id: str | None = Field(description="a resident's home")
    load: int | Absent = absent("active orders assigned (the list, and GET /api/me)")


class TokenPrincipal(Out):
    """``GET /api/me`` for an integration token, which is no user."""

    name: str
    role: str
    via: str = Field(description="token")


class SignedIn(Out):
    name: str
    display_name: str
    role: str
    expires_at: Timestamp = Field(description="when the session cookie runs out")


class SignedOut(Out):
    signed_out: bool


class Me(Out):
    name: str
    display_name: str
    role: str
    grid: str
    via: str = Field(description="token: an integration's token; else the kind of the user's token (session)")


class Token(Out):
    id: int
    name: str
    role: str
    created_at: Timestamp
    expires_at: Timestamp | None
    revoked_at: Timestamp | None


class NewToken(Out):
    name: str
    role: str
    token: str = Field(description="the bearer token itself, shown this once")
    note: str


class Revoked(Out):
    revoked: int = Field(description="tokens revoked")


class DispatchSetting(Out):
    skill: str
    auto: bool = Field(description="dispatch to the best proposal without a person")


class DispatchSettingSaved(DispatchSetting):
    kind: str
