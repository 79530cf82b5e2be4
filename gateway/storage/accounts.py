"""Users and tokens in the database. Keyword-only, like ``crud``; callers commit."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlmodel import Session, col, select

from gateway.storage.models import ApiToken, User


def get_user(session: Session, *, name: str) -> User | None:
    return session.get(User, name)


def users_named(session: Session, *, names: set[str]) -> Sequence[User]:
    if not names:
        return []
    return session.exec(select(User).where(col(User.name).in_(sorted(names)))).all()


def list_users(session: Session, *, role: str | None = None, active_only: bool = False) -> Sequence[User]:
    q = select(User).order_by(User.name)
    if role is not None:
        q = q.where(User.role == role)
    if active_only:
        q = q.where(col(User.active).is_(True))
    return session.exec(q).all()


def save_user(session: Session, *, user: User) -> User:
    session.add(user)
    session.flush()
    return user


def add_token(session: Session, *, token: ApiToken) -> ApiToken:
    session.add(token)
    session.flush()
    return token


def token_by_digest(session: Session, *, digest: str) -> ApiToken | None:
    return session.exec(select(ApiToken).where(ApiToken.token_hash == digest)).first()


def list_tokens(session: Session, *, kind: str = "api") -> Sequence[ApiToken]:
    return session.exec(select(ApiToken).where(ApiToken.kind == kind).order_by(col(ApiToken.id))).all()


def revoke_tokens(session: Session, *, now: datetime, token_id: int | None = None, name: str | None = None,
                  user: str | None = None) -> int:
    """Revoke by id, by integration name, or all of a user's sessions. Answers how many."""
    q = select(ApiToken).where(col(ApiToken.revoked_at).is_(None))
    if token_id is not None:
        q = q.where(ApiToken.id == token_id)
    if name is not None:
        q = q.where(ApiToken.name == name, ApiToken.kind == "api")
    if user is not None:
        q = q.where(ApiToken.user == user)
    rows = session.exec(q).all()
    for row in rows:
        row.revoked_at = now
        session.add(row)
    session.flush()
    return len(rows)
