"""Resident records (居民档案) as a viewer may read them (``gateway.domain.privacy``): the
sensitive parts are left out unless the viewer may see them; ``withheld`` then names them."""

from __future__ import annotations

from pydantic import Field

from gateway.api.schemas.base import Absent, Out, Timestamp, absent


class Contact(Out):
    name: str
    relation: str
    phone: str
    holds_key: bool = Field(description="a key holder: sensitive, left out when withheld")


class ResidentHome(Out):
    address: str
    building: str
    unit: str
    room: str
    grid: str


class Resident(Out):
    id: int
    name: str
    home_id: str
    home: ResidentHome | None = Field(description="null: the home is not registered")
    grid: str = Field(description="the home's grid")
    phone: str
    lives_alone: bool
    age_band: str
    contacts: list[Contact] = Field(description="without the key holders when key_holders is withheld")
    medical_notes: str | Absent = absent("left out when withheld")
    user: str | None = Field(description="the resident's own login, if any")
    created_at: Timestamp | None
    updated_at: Timestamp | None
    updated_by: str | None
    access: str | None = Field(description="why the sensitive parts are shown: office, self, assigned_emergency; "
                                           "null: they are withheld")
    withheld: list[str] = Field(description="what was left out: medical_notes and key_holders (both, whenever "
                                            "access is null), or nothing")


class ResidentImport(Out):
    created: int
    updated: int
