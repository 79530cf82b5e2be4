"""Residents' requests (居民点单) (``gateway.api.routes.requests``)."""

from __future__ import annotations

from pydantic import Field

from gateway.api.schemas.base import Absent, Number, Out, Timestamp, absent
from gateway.api.schemas.orders import Order


class Targets(Out):
    accept_hours: Number
    onsite_hours: Number
    resolve_hours: Number
    working_hours: bool = Field(description="the hours count working hours only")


class Category(Out):
    code: str
    zh: str
    en: str
    team: str = Field(description="property or community")
    skill: str | None = Field(description="the technicians' skill it needs")
    targets: Targets


class PhotoId(Out):
    photo: str = Field(description="give it as the request's photo")


class LastNote(Out):
    at: Timestamp
    action: str
    note: str | None
    party: str | Absent = absent("third_party: who is waited for")


class Request(Out):
    last_note: LastNote | None = Field(description="the latest note a person wrote on the order (the list only; "
                                                   "null when filed)")
    id: int
    order_id: int
    linked: bool = Field(description="a repeat of an open request, joined to its order")
    home_id: str
    category: str
    category_zh: str
    category_en: str
    description: str
    preferred_time: str
    photo: str | None
    filed_by: str
    on_behalf: bool = Field(description="filed by a grid worker or staff for the resident")
    filed_at: Timestamp
    answer: str = Field(description="what the filer was told")
    rating: int | None = Field(description="1-5, given on confirmation")
    rating_comment: str | None
    order: Order
