"""Open311 GeoReport v2 answers (``gateway.domain.open311``): field names and nulls as the
GeoReport v2 specification has them."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from gateway.api.schemas.base import Out, Timestamp


class Service(Out):
    service_code: str
    service_name: str = Field(description='bilingual: "中文 / English"')
    description: str
    metadata: bool = Field(description="false: no service has extra attributes")
    type: str = Field(description="realtime")
    keywords: str = Field(description="comma-separated")
    group: str = Field(description="the team that answers: property or community")


class ServiceDefinition(Out):
    service_code: str
    attributes: list[dict[str, Any]] = Field(description="always empty: no service has extra attributes")


class ServiceRequest(Out):
    service_request_id: str
    status: str = Field(description="open or closed")
    status_notes: str = Field(description="our order's state in words (zh / en), with its order number")
    service_name: str
    service_code: str | None
    description: str
    agency_responsible: str | None
    service_notice: str | None
    requested_datetime: Timestamp
    updated_datetime: Timestamp | None
    expected_datetime: Timestamp | None = Field(description="open requests: when it is to be resolved")
    address: str | None
    address_id: str | None = Field(description="our home id")
    zipcode: None
    lat: float | None
    long: float | None
    media_url: str | None


class Filed(Out):
    service_request_id: str
    service_notice: str = Field(description="what the filer is told")
    account_id: None


class Error(Out):
    code: int = Field(description="the HTTP status")
    description: str


_ERRORS = {400: "bad input", 403: "a missing, unknown or insufficient api_key",
           404: "an unknown service code or request id"}


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """The GeoReport v2 error answers a route gives, for its ``responses``."""
    return {code: {"model": list[Error], "description": _ERRORS[code]} for code in codes}
