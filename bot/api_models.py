"""Request and response bodies of the HTTP API (pydantic; they make the OpenAPI schema).

The Answer and Passage shapes are the core's own (pressbot.types); this module only adds the
request bodies, their limits, and the shapes that are the API's alone (problems, health).
"""

from __future__ import annotations

import datetime as dt
import math
import re
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
)

from pressbot.engine import MAX_QUESTION_CHARS
from pressbot.types import Passage

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _iso_date_text(value: Any) -> Any:
    # FastAPI validates the parsed JSON in Python mode, where pydantic would also take numbers
    # and digit strings (Unix times, "1700006400") as dates; the API takes only YYYY-MM-DD
    if value is not None and not (isinstance(value, str) and _ISO_DATE.fullmatch(value)):
        raise ValueError("must be an ISO date string YYYY-MM-DD, e.g. 2024-01-22")
    return value


def _valid_unicode(value: Any) -> Any:
    # JSON can carry lone surrogates ("\ud800"); they cannot be encoded for the model or Chroma
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError("contains invalid Unicode (a lone surrogate)") from None
    return value


def _json_integer(value: Any) -> Any:
    # a JSON integer: 5 or 5.0 (JSON Schema counts both), never true or "5", which pydantic
    # would read as 1 and 5
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value % 1:
        raise ValueError("must be an integer, e.g. 5")
    return int(value)


K = Annotated[int, Field(ge=1, le=50), BeforeValidator(_json_integer)]
IsoDate = Annotated[dt.date, BeforeValidator(_iso_date_text), Field(json_schema_extra={"format": "date"})]
Text = Annotated[str, BeforeValidator(_valid_unicode)]
SourceName = Annotated[str, StringConstraints(min_length=1, max_length=200), BeforeValidator(_valid_unicode)]


class _Filters(BaseModel):
    model_config = ConfigDict(extra="forbid")  # a misspelt filter is an error, not silently ignored

    k: K | None = Field(None, description="Releases to use, 1..50 (default: PRESSBOT_K).")
    since: IsoDate | None = Field(None, description="Only releases dated on/after this day (YYYY-MM-DD).")
    until: IsoDate | None = Field(
        None, description="Only releases dated on/before this day (YYYY-MM-DD); not before `since`."
    )
    as_of: IsoDate | None = Field(
        None, description="The day that relative words ('last February') refer to; default today."
    )
    source: SourceName | list[SourceName] | None = Field(
        None, max_length=20, description="Only releases of this archive (or of any of these archives)."
    )
    language: Text | None = Field(
        None, min_length=2, max_length=16, description="Only releases in this language (ISO 639-1)."
    )

    @field_validator("until")
    @classmethod
    def _window_in_order(cls, until: dt.date | None, info: ValidationInfo) -> dt.date | None:
        since = info.data.get("since")
        if since and until and since > until:
            raise ValueError(f"{until} is before since ({since}); swap them")
        return until

    def engine_kwargs(self) -> dict[str, Any]:
        return self.model_dump(exclude={"question", "query"})


class AskRequest(_Filters):
    question: Text = Field(
        min_length=1,
        max_length=MAX_QUESTION_CHARS,
        pattern=r"\S",  # not only blanks
        description="The question, 1..2000 characters.",
        examples=["Which countries receive the $180 million program?"],
    )


class SearchRequest(_Filters):
    query: Text = Field(
        min_length=1,
        max_length=MAX_QUESTION_CHARS,
        pattern=r"\S",
        description="What to search for, 1..2000 characters.",
        examples=["humanitarian assistance to Haiti"],
    )


class SearchResponse(BaseModel):
    query: str
    passages: list[Passage] = Field(description="One passage per release (its best chunk), best first.")
    timings_ms: dict[str, float]


class ReleaseResponse(BaseModel):
    id: str
    title: str
    date: dt.date | None
    url: str | None
    source: str
    language: str
    content_hash: str
    n_chunks: int
    aliases: list[str]
    text: str | None
    chunk_ids: list[str] = Field(description="Ids of the release's chunks, in order (`{release_id}:{n}`).")


class StatsResponse(BaseModel):
    model_config = ConfigDict(extra="allow")  # the index may report more figures than these

    releases: int
    chunks: int
    date_range: list[str] | None
    undated_releases: int
    sources: dict[str, int]
    embedding_model: str | None
    location: str
    collection: str


class Health(BaseModel):
    status: Literal["ok"] = "ok"


class Readiness(BaseModel):
    status: Literal["ready", "loading", "failed"] = Field(
        description="The engine (index and model): `ready`, or `loading`, or `failed` (see `detail`)."
    )
    detail: str | None = Field(None, description="Why the engine failed to load.")
    slack: str = Field(
        "off",
        pattern=r"^(off|starting|ready|(starting|rejected|failed): .+)$",
        description="Slack's side (HTTP mode at /slack/events): `off` (not configured), `starting` (waiting for "
        "the engine; `starting: <why>` while Slack's Web API cannot be reached), `ready`, `rejected: <why>` "
        "(Slack rejected the bot token) or `failed: <why>`. It never makes /readyz 503.",
    )


class FieldError(BaseModel):
    field: str
    message: str


class Problem(BaseModel):
    """An error as `application/problem+json` (RFC 9457)."""

    type: str = Field("about:blank", description="A URI naming the kind of problem.")
    title: str
    status: int
    detail: str = Field(description="What went wrong and how to fix it; names the field for bad input.")
    errors: list[FieldError] | None = Field(None, description="Each invalid field, for validation problems.")
