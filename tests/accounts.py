"""Test helpers: users and tokens straight into the database, without the password hash's cost."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.engine import Engine

from gateway.security import new_token, token_digest
from gateway.services.accounts import create_api_token, create_user
from gateway.storage import accounts
from gateway.storage.db import session
from gateway.storage.models import ApiToken

EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


def user_token(engine: Engine, name: str, role: str, **profile: object) -> str:
    """Create user ``name`` with ``role`` (and profile fields: skills, grid, team, ...) and answer
    a session token for them, valid for years."""
    with session(engine) as s:
        if accounts.get_user(s, name=name) is None:
            create_user(s, name=name, role=role, password=None, now=EPOCH, **profile)
        token = new_token()
        accounts.add_token(s, token=ApiToken(name=f"session:{name}", kind="session", token_hash=token_digest(token),
                                             role=role, user=name, created_at=EPOCH,
                                             expires_at=datetime(2099, 1, 1, tzinfo=UTC)))
        s.commit()
    return token


def api_token(engine: Engine, name: str, role: str) -> str:
    with session(engine) as s:
        token = create_api_token(s, name=name, role=role, now=EPOCH)
        s.commit()
    return token


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
