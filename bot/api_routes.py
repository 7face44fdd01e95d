"""The API's routes: /v1 (answer, search, releases, stats) and the operations routes
(/healthz, /readyz, /metrics), and the dependency that hands a route the loaded engine.

Engine calls are synchronous and CPU-bound: each runs in a worker thread (`Runtime.run`).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Iterator
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response
from fastapi.sse import EventSourceResponse, format_sse_event
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from bot.api_models import (
    AskRequest,
    Health,
    Readiness,
    ReleaseResponse,
    SearchRequest,
    SearchResponse,
    StatsResponse,
)
from bot.api_problems import ApiProblem, engine_problem, problem_doc
from pressbot.engine import Engine
from pressbot.errors import PressbotError
from pressbot.index_stats import index_stats
from pressbot.types import Answer

if TYPE_CHECKING:
    from bot.api import Runtime


class ReportingRouter(APIRouter):
    """An extra router for a face that reports its state in /readyz, as the Readiness field
    `readiness_field` (Slack's: `slack`). The state never makes /readyz 503: the HTTP API
    serves while a face is broken."""

    def __init__(self, *, readiness_field: str, state: Callable[[], str], **kwargs: Any) -> None:
        if readiness_field not in Readiness.model_fields or readiness_field in ("status", "detail"):
            raise ValueError(f"{readiness_field!r} is not a face's field of Readiness")
        super().__init__(**kwargs)
        self.readiness_field, self.state = readiness_field, state


def runtime(request: Request) -> Runtime:
    return request.app.state.pressbot


def current_engine(request: Request) -> Engine:
    """Dependency: the loaded engine, or a 503 problem while it loads (or failed to)."""
    rt = runtime(request)
    if rt.engine is not None:
        return rt.engine
    if rt.error:
        raise ApiProblem(503, f"the engine is not available: {rt.error}", "not-ready", {"Retry-After": "30"})
    raise ApiProblem(503, "the index and model are still loading; retry in a few seconds", "not-ready",
                     {"Retry-After": "5"})


EngineDep = Annotated[Engine, Depends(current_engine)]


def _wants_stream(request: Request) -> bool:
    return "text/event-stream" in request.headers.get("accept", "")


async def _sse_answer(rt: Runtime, engine: Engine, question: str, kwargs: dict[str, Any]) -> Response:
    events: Iterator[str | Answer] = engine.stream(question, **kwargs)
    done = object()
    # the first piece is computed before the response starts, so bad input is still a 422 problem
    first = await rt.run(next, events, done)

    async def body() -> AsyncIterator[bytes]:
        item = first
        try:
            while item is not done:
                if isinstance(item, Answer):
                    rt.metrics.count_answer(item)
                    yield format_sse_event(event="answer", data_str=item.model_dump_json())
                else:
                    yield format_sse_event(event="token", data_str=json.dumps({"text": item}))
                item = await rt.run(next, events, done)
        except PressbotError as exc:
            yield format_sse_event(event="error", data_str=bytes(engine_problem(exc).body).decode())
        finally:
            events.close()  # type: ignore[attr-defined]

    return EventSourceResponse(body(), headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


def v1_router() -> APIRouter:
    v1 = APIRouter(prefix="/v1", responses=problem_doc(400, 401, 413, 422, 429, 503))

    @v1.post(
        "/ask",
        response_model=Answer,
        summary="Answer a question, with numbered citations",
        responses={200: {"content": {"text/event-stream": {"schema": {"type": "string"}}},
                         "description": "The Answer JSON; with `Accept: text/event-stream`, Server-Sent Events: "
                         "`token` events (`{\"text\": ...}`) then one `answer` event with the whole Answer JSON."}},
    )
    async def ask(body: AskRequest, request: Request, engine: EngineDep) -> Any:
        rt = runtime(request)
        kwargs = body.engine_kwargs()
        if _wants_stream(request):
            return await _sse_answer(rt, engine, body.question, kwargs)
        ans = await rt.run(engine.answer, body.question, **kwargs)
        rt.metrics.count_answer(ans)
        return ans

    @v1.post("/search", response_model=SearchResponse, summary="Ranked passages, one per release")
    async def search(body: SearchRequest, request: Request, engine: EngineDep) -> Any:
        result = await runtime(request).run(engine.search, body.query, **body.engine_kwargs())
        return SearchResponse(query=body.query, passages=result.passages, timings_ms=result.timings_ms)

    @v1.get(
        "/releases/{release_id:path}",
        response_model=ReleaseResponse,
        summary="One release: metadata, text and chunk ids",
        description="Release ids are URLs or paths inside the archive: percent-encode the id as one path "
        "segment, e.g. `/v1/releases/https%3A%2F%2Fwww.state.gov%2Fsome-release%2F` (Python: "
        "`urllib.parse.quote(id, safe='')`). Unencoded slashes also work, but `?` and `#` must be encoded.",
        responses=problem_doc(404),
    )
    async def release(release_id: str, request: Request, engine: EngineDep) -> Any:
        rt = runtime(request)
        record = await rt.run(engine.get_release, release_id)
        if record is None:
            raise ApiProblem(404, f"no release with id {release_id!r}; ids come from /v1/search results "
                             "(release_id) or the ingest", "release-not-found")
        chunk_ids = await rt.run(engine.index.chunk_ids_of, release_id)
        return ReleaseResponse(**record.to_json(), chunk_ids=chunk_ids)

    @v1.get("/stats", response_model=StatsResponse, summary="What the index holds")
    async def stats(request: Request, engine: EngineDep) -> Any:
        return await runtime(request).run(index_stats, engine.index)

    return v1


def ops_router() -> APIRouter:
    ops = APIRouter(tags=["operations"])

    @ops.get("/healthz", response_model=Health, summary="The process is up")
    async def healthz() -> Health:
        return Health()

    @ops.get("/readyz", response_model=Readiness, summary="The index and model are loaded",
             description="503 until the engine is loaded (or when loading failed). The faces' states "
             "(`slack`) are reported but never make it 503: the HTTP API serves while Slack is broken.",
             responses={503: {"model": Readiness, "description": "Still loading, or loading failed"}})
    async def readyz(request: Request) -> Any:
        rt = runtime(request)
        engine: dict[str, str] = (
            {"status": "ready"} if rt.engine is not None
            else {"status": "failed", "detail": rt.error} if rt.error
            else {"status": "loading"}
        )
        readiness = Readiness.model_validate({**engine, **{field: state() for field, state in rt.faces.items()}})
        if rt.engine is not None:
            return readiness
        return JSONResponse(readiness.model_dump(), status_code=503)

    @ops.get("/metrics", summary="Prometheus metrics", response_class=Response,
             responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}})
    async def metrics(request: Request) -> Response:
        return Response(generate_latest(runtime(request).metrics.registry), media_type=CONTENT_TYPE_LATEST)

    return ops
