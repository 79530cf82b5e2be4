"""Pairing (issue 9): "this home, this kind: the next new device heard is it"."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path
from pydantic import BaseModel, Field

from gateway.api.deps import Allowed, NowDep, PrincipalDep, SessionDep
from gateway.api.routes.homes import HOME_ID
from gateway.api.schemas.base import ExactRoute
from gateway.api.schemas.pairing import Pairing
from gateway.domain.pairing import PAIRING_KINDS
from gateway.domain.roles import Perm
from gateway.services import pairing
from gateway.storage.models import PairingSession

router = APIRouter(prefix="/api/pairing", tags=["devices"], route_class=ExactRoute)

WRITE = Depends(Allowed(Perm.DEVICES_WRITE))
PairingId = Annotated[int, Path(ge=1, le=2**31 - 1)]


class PairingIn(BaseModel):
    home_id: str = Field(pattern=HOME_ID)
    kind: str = Field(description=f"one of {', '.join(PAIRING_KINDS)}")
    seconds: int = Field(default=120, ge=10, le=600, description="how long to wait for the device")


def _row(session: Any, pairing_id: int) -> PairingSession:
    row = session.get(PairingSession, pairing_id)
    if row is None:
        raise HTTPException(404, f"pairing session {pairing_id} not found")
    return row


@router.post("", status_code=201, dependencies=[WRITE], response_model=Pairing)
def start_pairing(body: PairingIn, session: SessionDep, now: NowDep, principal: PrincipalDep) -> dict[str, Any]:
    """Wait ``seconds`` for a device never heard before to send anything but availability (press
    its button, trigger it, put its battery in); it is then registered in ``home_id`` as ``kind``,
    and its message is handled as that registered device's (an SOS press opens an order with the
    resident's address: cancel it as a test)."""
    try:
        row = pairing.start(session, home_id=body.home_id, kind=body.kind, by=principal.actor, now=now,
                            window=timedelta(seconds=body.seconds))
    except pairing.PairingError as exc:
        raise HTTPException(422, str(exc)) from exc
    session.commit()
    return pairing.as_json(row, now)


@router.get("/{pairing_id}", dependencies=[WRITE], response_model=Pairing)
def get_pairing(pairing_id: PairingId, session: SessionDep, now: NowDep) -> dict[str, Any]:
    return pairing.as_json(_row(session, pairing_id), now)


@router.delete("/{pairing_id}", dependencies=[WRITE], response_model=Pairing)
def cancel_pairing(pairing_id: PairingId, session: SessionDep, now: NowDep) -> dict[str, Any]:
    try:
        row = pairing.cancel(session, row=_row(session, pairing_id), now=now)
    except pairing.PairingError as exc:
        raise HTTPException(409, str(exc)) from exc
    session.commit()
    return pairing.as_json(row, now)
