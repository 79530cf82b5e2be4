"""``shewu user …`` and ``shewu token …``: accounts from the command line, straight on the
database (so that the first admin can be created before anyone can sign in)."""

from __future__ import annotations

import argparse
import getpass
import sys

from gateway.clock import utc_now
from gateway.config import DEFAULT_DB_URL, from_env
from gateway.domain.dispatch import Skill
from gateway.domain.roles import Role
from gateway.services.accounts import AccountError, create_api_token, create_user, set_password
from gateway.storage import accounts
from gateway.storage.db import make_engine, session
from gateway.storage.migrate import SchemaError, ensure_current


def _password(args: argparse.Namespace) -> str | None:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\n")
    if args.no_password:
        return None
    first = getpass.getpass("password: ")
    if getpass.getpass("again: ") != first:
        raise AccountError("the passwords differ")
    return first


def _engine(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    url = args.db_url or from_env().db_url
    engine = make_engine(url)
    try:  # as `shewu serve`: an empty database gets the schema, an older one is refused
        ensure_current(engine, url)
    except SchemaError as exc:
        raise SystemExit(f"shewu: {exc}") from exc
    return engine


def _skills(text: str | None) -> list[str]:
    known = {s.value for s in Skill}
    skills = [x.strip() for x in (text or "").split(",") if x.strip()]
    bad = [x for x in skills if x not in known]
    if bad:
        raise AccountError(f"unknown skill(s) {', '.join(bad)}; known: {', '.join(sorted(known))}")
    return skills


def user_add(args: argparse.Namespace) -> int:
    skills = _skills(args.skills)
    engine = _engine(args)
    with session(engine) as s:
        create_user(s, name=args.name, role=args.role, password=_password(args), now=utc_now(),
                    display_name=args.display_name or "", team=args.team or "", grid=args.grid or "",
                    building=args.building or "", phone=args.phone or "", home_id=args.home or None,
                    skills=skills)
        s.commit()
    print(f"user {args.name} ({args.role}) created")
    return 0


def user_passwd(args: argparse.Namespace) -> int:
    engine = _engine(args)
    password = _password(args)
    if password is None:
        raise AccountError("a password is needed")
    with session(engine) as s:
        set_password(s, name=args.name, password=password, now=utc_now())
        s.commit()
    print(f"password of {args.name} changed; their sessions are signed out")
    return 0


def user_list(args: argparse.Namespace) -> int:
    with session(_engine(args)) as s:
        for u in accounts.list_users(s):
            state = "" if u.active else "  (inactive)"
            print(f"{u.name}\t{u.role}\t{u.display_name}\t{','.join(u.skills or ())}{state}")
    return 0


def token_create(args: argparse.Namespace) -> int:
    with session(_engine(args)) as s:
        token = create_api_token(s, name=args.name, role=args.role, now=utc_now())
        s.commit()
    print(token)
    print(f"# bearer token {args.name!r} ({args.role}); shown once, only its hash is stored", file=sys.stderr)
    return 0


def token_revoke(args: argparse.Namespace) -> int:
    with session(_engine(args)) as s:
        n = accounts.revoke_tokens(s, now=utc_now(), name=args.name)
        s.commit()
    print(f"{n} token(s) revoked")
    return 0 if n else 1


def token_list(args: argparse.Namespace) -> int:
    with session(_engine(args)) as s:
        for t in accounts.list_tokens(s):
            state = "revoked" if t.revoked_at else "live"
            print(f"{t.id}\t{t.name}\t{t.role}\t{state}")
    return 0


def _guard(func):  # type: ignore[no-untyped-def]
    def run(args: argparse.Namespace) -> int:
        try:
            return int(func(args))
        except AccountError as exc:
            print(f"shewu: {exc}", file=sys.stderr)
            return 2
    return run


def configure_parsers(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    roles = [r.value for r in Role]
    db_help = f"database URL (SHEWU_DB_URL; default {DEFAULT_DB_URL})"

    user = sub.add_parser("user", help="staff and resident accounts")
    user_sub = user.add_subparsers(dest="user_command", required=True)
    add = user_sub.add_parser("add", help="create a user (the first admin, too)")
    add.add_argument("name")
    add.add_argument("--role", required=True, choices=roles)
    add.add_argument("--display-name")
    add.add_argument("--team", help="e.g. property, community")
    add.add_argument("--skills", help=f"comma-separated: {','.join(s.value for s in Skill)}")
    add.add_argument("--grid")
    add.add_argument("--building", help="e.g. 3栋: the start of the addresses in this person's building")
    add.add_argument("--phone")
    add.add_argument("--home", help="a resident's home id (for filing requests)")
    passwd = user_sub.add_parser("passwd", help="set a user's password (signs them out everywhere)")
    passwd.add_argument("name")
    for p in (add, passwd):
        p.add_argument("--db", dest="db_url", help=db_help)
        p.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    add.add_argument("--no-password", action="store_true", help="no sign-in (e.g. a technician using a token)")
    passwd.set_defaults(no_password=False, func=_guard(user_passwd))
    add.set_defaults(func=_guard(user_add))
    ls = user_sub.add_parser("list", help="list users")
    ls.add_argument("--db", dest="db_url", help=db_help)
    ls.set_defaults(func=_guard(user_list))

    token = sub.add_parser("token", help="bearer tokens for integrations")
    token_sub = token.add_subparsers(dest="token_command", required=True)
    create = token_sub.add_parser("create", help="create a token and print it (once)")
    create.add_argument("--name", required=True)
    create.add_argument("--role", required=True, choices=roles)
    create.set_defaults(func=_guard(token_create))
    revoke = token_sub.add_parser("revoke", help="revoke the tokens of that name")
    revoke.add_argument("--name", required=True)
    revoke.set_defaults(func=_guard(token_revoke))
    tl = token_sub.add_parser("list", help="list tokens")
    tl.set_defaults(func=_guard(token_list))
    for p in (create, revoke, tl):
        p.add_argument("--db", dest="db_url", help=db_help)
