"""Sign-in, tokens and who is asking: the rules around users and tokens, over ``storage.accounts``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session

from gateway.domain.roles import Role
from gateway.security import hash_password, new_token, token_digest, verify_password
from gateway.storage import accounts
from gateway.storage.models import ApiToken, User

SESSION_TTL = timedelta(hours=12)
_DUMMY_HASH = hash_password("not a password anyone has")
# User names that would make a per-person topic (shewu/v1/notify/<user>) collide with the
# device topic shewu/v1/<device>/event.
RESERVED_NAMES = frozenset({"event"})


class AccountError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is making a request: a signed-in user, or an integration's token."""

    name: str  # the actor recorded on timelines
    role: Role
    display_name: str = ""
    grid: str = ""
    via: str = "session"  # session | token

    @property
    def actor(self) -> str:
        return self.name


def create_user(session: Session, *, name: str, role: str, password: str | None, now: datetime,
                display_name: str = "", **profile: object) -> User:
    name = name.strip()
    if not name or len(name) > 64 or any(c.isspace() or c in "/#+" for c in name):
        raise AccountError("a user name is 1 to 64 characters, without spaces, '/', '#' or '+'")
    if name in RESERVED_NAMES:
        raise AccountError(f"{name!r} is reserved")
    try:
        role_value = Role(role)
    except ValueError as exc:
        raise AccountError(f"unknown role {role!r}; one of: {', '.join(r.value for r in Role)}") from exc
    if accounts.get_user(session, name=name) is not None:
        raise AccountError(f"user {name!r} exists")
    if password is not None and len(password) < 8:
        raise AccountError("a password has at least 8 characters")
    user = User(name=name, role=role_value.value, display_name=display_name or name,
                password_hash=hash_password(password) if password else None, created_at=now, **profile)
    return accounts.save_user(session, user=user)


def set_password(session: Session, *, name: str, password: str, now: datetime) -> None:
    user = accounts.get_user(session, name=name)
    if user is None:
        raise AccountError(f"no user {name!r}")
    if len(password) < 8:
        raise AccountError("a password has at least 8 characters")
    user.password_hash = hash_password(password)
    accounts.save_user(session, user=user)
    accounts.revoke_tokens(session, now=now, user=name)  # sign out everywhere


def create_api_token(session: Session, *, name: str, role: str, now: datetime,
                     expires_at: datetime | None = None) -> str:
    """An integration's token with a role of its own. Answers the token; only its hash is kept."""
    try:
        role_value = Role(role)
    except ValueError as exc:
        raise AccountError(f"unknown role {role!r}; one of: {', '.join(r.value for r in Role)}") from exc
    if not name.strip() or len(name) > 64:
        raise AccountError("a token name is 1 to 64 characters")
    token = new_token()
    accounts.add_token(session, token=ApiToken(name=name.strip(), kind="api", token_hash=token_digest(token),
                                               role=role_value.value, created_at=now, expires_at=expires_at))
    return token


def sign_in(session: Session, *, name: str, password: str, now: datetime) -> tuple[str, User]:
    """Check a password and open a session. Answers the session token and the user."""
    user = accounts.get_user(session, name=name.strip())
    stored = user.password_hash if user is not None else _DUMMY_HASH  # the same work for unknown names
    if not verify_password(password, stored) or user is None or not user.active:
        raise AccountError("wrong user name or password")
    token = new_token()
    accounts.add_token(session, token=ApiToken(name=f"session:{user.name}", kind="session",
                                               token_hash=token_digest(token), role=user.role, user=user.name,
                                               created_at=now, expires_at=now + SESSION_TTL))
    return token, user


def principal_for(session: Session, *, token: str, now: datetime) -> Principal | None:
    """The principal a bearer or session token stands for, or None if it is unknown, revoked
    or expired. A session follows its user: a deactivated user or a changed role takes effect
    at once."""
    row = accounts.token_by_digest(session, digest=token_digest(token))
    if row is None or row.revoked_at is not None or (row.expires_at is not None and row.expires_at <= now):
        return None
    if row.user is None:
        return Principal(name=f"token:{row.name}", role=Role(row.role), display_name=row.name, via="token")
    user = accounts.get_user(session, name=row.user)
    if user is None or not user.active:
        return None
    return Principal(name=user.name, role=Role(user.role), display_name=user.display_name, grid=user.grid,
                     via=row.kind)
