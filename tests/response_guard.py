"""A guard for every in-process API test: a response model may describe a body, never change it.

Wraps FastAPI's ``serialize_response`` so that each JSON answer a route builds is compared with
what its response model sent: a key dropped or added, a null filled in, or a number or boolean
changed in type (3 → 3.0, 1 → true) fails the request, and so the test that made it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import fastapi.routing
import pytest
from fastapi.encoders import jsonable_encoder


def first_difference(given: Any, sent: Any, where: str = "$") -> str | None:
    """Where ``sent`` differs from ``given`` (types of scalars included), or None."""
    if isinstance(given, dict) and isinstance(sent, dict):
        if given.keys() != sent.keys():
            return f"{where}: keys {sorted(given.keys() ^ sent.keys())} dropped or added"
        return next((d for k in given if (d := first_difference(given[k], sent[k], f"{where}.{k}"))), None)
    if isinstance(given, list) and isinstance(sent, list):
        if len(given) != len(sent):
            return f"{where}: {len(given)} items given, {len(sent)} sent"
        return next((d for i, (g, s) in enumerate(zip(given, sent, strict=True))
                     if (d := first_difference(g, s, f"{where}[{i}]"))), None)
    if type(given) is not type(sent) or given != sent:
        return f"{where}: {given!r} given, {sent!r} sent"
    return None


@pytest.fixture(autouse=True)
def response_bodies_unchanged(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    original = fastapi.routing.serialize_response

    async def checked(**kw: Any) -> Any:
        out = await original(**kw)
        if kw.get("field") is not None:
            sent = json.loads(out) if isinstance(out, bytes | bytearray) else jsonable_encoder(out)
            diff = first_difference(jsonable_encoder(kw["response_content"]), sent)
            if diff is not None:
                raise AssertionError(f"the response model changed the body at {diff}")
        return out

    monkeypatch.setattr(fastapi.routing, "serialize_response", checked)
    yield
