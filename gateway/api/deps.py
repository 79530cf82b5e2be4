"""Request-scoped dependencies, as ``Annotated`` aliases."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request
from sqlmodel import Session

from gateway.runtime import Runtime
from gateway.storage.db import session as open_session


def get_runtime(request: Request) -> Runtime:
    return request.app.state.runtime  # type: ignore[no-any-return]


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def get_session(runtime: RuntimeDep) -> Iterator[Session]:
    with open_session(runtime.engine) as s:
        yield s


def get_now(runtime: RuntimeDep) -> datetime:
    return runtime.clock()


SessionDep = Annotated[Session, Depends(get_session)]
NowDep = Annotated[datetime, Depends(get_now)]
