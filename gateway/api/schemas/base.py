"""What every response model shares: no unknown keys, timestamps and dates as the API writes
them, numbers kept as they are, and the route class that answers exactly the keys given."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema
from pydantic.json_schema import SkipJsonSchema

# RFC 3339 UTC with milliseconds and a Z (gateway.clock.iso): kept as the string it is.
Timestamp = Annotated[str, Field(json_schema_extra={"format": "date-time", "examples": ["2026-11-28T04:00:00.000Z"]})]
Day = Annotated[str, Field(json_schema_extra={"format": "date", "examples": ["2026-11-28"]})]
# A JSON number: an integer stays an integer and a float a float (``float`` alone would turn 3 into 3.0).
Number = Annotated[int | float, WithJsonSchema({"type": "number"})]
JsonObject = dict[str, Any]


def absent(description: str | None = None) -> Any:
    """A key that some answers leave out (never null when present): ``x: T | Absent = absent()``."""
    return Field(default=None, description=description)


Absent = SkipJsonSchema[None]  # the default of an optional key, not a value it takes


class Out(BaseModel):
    """A response object: a key the model does not declare is an error, never dropped."""

    model_config = ConfigDict(extra="forbid")


class ExactRoute(APIRoute):
    """A route whose answer holds exactly the keys its handler gave: keys a model declares as
    optional (``absent()``) are not filled in with null when the handler left them out."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["response_model_exclude_unset"] = True
        super().__init__(*args, **kwargs)
