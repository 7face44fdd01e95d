"""The HTTP API: a thin FastAPI face over `Engine` (answer, search, releases, stats).

    POST /v1/ask              the Answer JSON; `Accept: text/event-stream` streams it (SSE)
    POST /v1/search           ranked passages (one per release) with metadata and scores
    GET  /v1/releases/{id}    one release; ids are URLs or archive paths: percent-encode them
    GET  /v1/stats            what the index holds
    GET  /healthz  /readyz    process up / engine loaded (503 until then)
    GET  /metrics             Prometheus text format
    GET  /openapi.json /docs  the schema and an offline Swagger UI

`create_app(settings)` returns at once: the engine (index + embedding model) is built in a
background thread when the app starts, so /healthz answers immediately and /v1 gives 503
until /readyz says ready. Tests pass a ready `engine`. The engine is CPU-bound and
synchronous: its calls run in worker threads, at most `engine_concurrency` at a time, so a
burst queues instead of thrashing the cores.

Every error is `application/problem+json` (RFC 9457). /v1 needs `Authorization: Bearer
<token>` when PRESSBOT_API_TOKENS is set and is rate-limited per caller.

Mount point for other faces (Slack's HTTP mode at /slack/events): `extra_routers` takes
APIRouters, included as they are (served from the start), or factories `(engine) -> APIRouter
| None`, called once the engine is loaded (a router returned is served from then on; None: the
factory only started something, e.g. Slack's HTTP mode on its router mounted at once).
They sit outside /v1: no bearer token or rate limit (Slack signs its requests), but the body
limit and the metrics apply. Their handlers can also reach the engine through the
`current_engine` dependency.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import partial
from http import HTTPStatus
from pathlib import Path
from typing import Annotated, Any, TypeVar

import anyio
from fastapi import APIRouter, Depends, FastAPI, Request, Security
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi.sse import EventSourceResponse, format_sse_event
from fastapi.staticfiles import StaticFiles
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot.api_models import (
    AskRequest,
    FieldError,
    Health,
    Problem,
    Readiness,
    ReleaseResponse,
    SearchRequest,
    SearchResponse,
    StatsResponse,
)
from bot.api_security import RateLimiter, TokenAuth, make_rate_limiter, retry_after
from pressbot.config import Settings
from pressbot.engine import Engine
from pressbot.errors import ConfigError, IndexEmptyError, IndexError_, LLMError, PressbotError, QueryError
from pressbot.index_stats import index_stats
from pressbot.types import Answer

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 64 * 1024
RETRY_DELAYS_S = (5.0, 300.0)  # first and longest wait between attempts to open a missing/unreachable index
PROBLEM_JSON = "application/problem+json"
DOCS_ASSETS = "/docs/assets"

RouterSource = APIRouter | Callable[[Engine], APIRouter | None]
T = TypeVar("T")


# --- problems (RFC 9457) ------------------------------------------------------------------
class ProblemResponse(JSONResponse):
    media_type = PROBLEM_JSON


def problem(status: int, detail: str, *, kind: str | None = None, headers: Mapping[str, str] | None = None,
            errors: list[FieldError] | None = None) -> ProblemResponse:
    body = Problem(
        type=f"urn:pressbot:problem:{kind}" if kind else "about:blank",
        title=HTTPStatus(status).phrase,
        status=status,
        detail=detail,
        errors=errors,
    )
    return ProblemResponse(body.model_dump(exclude_none=True), status_code=status, headers=headers)


class ApiProblem(HTTPException):
    """Raised by handlers, dependencies and middleware; rendered as a problem response.

    An HTTPException, so FastAPI lets it through when it is raised while reading the body.
    """

    def __init__(self, status: int, detail: str, kind: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(status, detail, headers)
        self.kind = kind


def _problem_doc(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the problems an operation can answer with."""
    ref = {"$ref": "#/components/schemas/Problem"}
    return {s: {"description": HTTPStatus(s).phrase, "content": {PROBLEM_JSON: {"schema": ref}}} for s in statuses}


def _add_problem_schema(app: FastAPI) -> None:
    """Put the Problem model into the schema's components (responses refer to it by $ref)."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = generate()
            problem_schema = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            components.update(problem_schema.pop("$defs", {}))
            components["Problem"] = problem_schema
        return app.openapi_schema  # type: ignore[return-value]

    app.openapi = openapi  # type: ignore[method-assign]


def _field_name(loc: Sequence[Any]) -> str:
    """The API's own name of the field: "body" and positions dropped, and pydantic's names of
    the validators a union member went through ("function-after[...]", "list[...]")."""
    parts = [p for p in loc[1:] if isinstance(p, str) and p.isidentifier()]
    return ".".join(parts) or "body"


# a value that may be a string or a list of them fails both branches of the union: the branch
# its type did not pick says only "should be a valid list/string", the other says what is wrong
_OTHER_BRANCH = {"list_type", "string_type"}


def _relevant(errors: Sequence[Any]) -> list[Any]:
    by_field: dict[str, list[Any]] = {}
    for err in errors:
        by_field.setdefault(_field_name(err.get("loc", ())), []).append(err)
    kept = []
    for errs in by_field.values():
        specific = [e for e in errs if e.get("type") not in _OTHER_BRANCH]
        kept += specific if specific and len(errs) > 1 else errs
    return kept


def _validation_problem(exc: RequestValidationError) -> ProblemResponse:
    errors: list[FieldError] = []
    for err in _relevant(exc.errors()):
        message = str(err.get("msg", "invalid")).removeprefix("Value error, ")
        if err.get("type") == "json_invalid":
            message = f"the body is not valid JSON ({err.get('ctx', {}).get('error', 'parse error')})"
        elif len(err.get("loc", ())) == 1:  # the body as a whole: missing, or not an object
            message = "the body must be a JSON object (Content-Type: application/json); see /docs"
        elif err.get("type") == "extra_forbidden":
            message = "unknown field; see /docs for the accepted fields"
        errors.append(FieldError(field=_field_name(err.get("loc", ())), message=message))
    detail = "; ".join(f"{e.field}: {e.message}" for e in errors) or "invalid request"
    return problem(422, detail, kind="invalid-request", errors=errors)


def _install_problem_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        return _validation_problem(exc)

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> Response:
        detail = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
        if exc.status_code == 404:
            detail = f"no such endpoint: {request.method} {request.url.path}; see /docs"
        elif exc.status_code == 400 and request.method == "POST":  # FastAPI could not decode the body
            detail = "the body could not be read as JSON text in UTF-8; send a JSON object"
        elif exc.status_code == 405:
            allowed = (exc.headers or {}).get("Allow", "")
            detail = f"{request.method} is not allowed on {request.url.path}; use {allowed or 'another method'}"
        return problem(exc.status_code, detail, headers=getattr(exc, "headers", None))

    @app.exception_handler(ApiProblem)
    async def _api(request: Request, exc: ApiProblem) -> Response:
        return problem(exc.status_code, exc.detail, kind=exc.kind, headers=exc.headers)

    @app.exception_handler(PressbotError)
    async def _pressbot(request: Request, exc: PressbotError) -> Response:
        return _engine_problem(exc)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        log.error("unexpected error in %s %s", request.method, request.url.path, exc_info=exc)
        return problem(500, "internal error; the server log has the details", kind="internal")


def _engine_problem(exc: PressbotError) -> ProblemResponse:
    if isinstance(exc, QueryError):
        return problem(422, str(exc), kind="invalid-query")
    if isinstance(exc, IndexEmptyError):
        return problem(503, str(exc), kind="index-empty", headers={"Retry-After": "30"})
    if isinstance(exc, IndexError_ | ConfigError):
        return problem(503, str(exc), kind="index-unavailable", headers={"Retry-After": "30"})
    if isinstance(exc, LLMError):
        return problem(502, str(exc), kind="llm-failed")
    log.error("unhandled pressbot error: %s", exc)
    return problem(500, str(exc), kind="internal")


# --- metrics -------------------------------------------------------------------------------
class Metrics:
    """Prometheus metrics in a registry of the app's own (several apps can share a process)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "pressbot_api_requests", "HTTP requests by route template and status.",
            ["method", "route", "status"], registry=self.registry,
        )
        self.latency = Histogram(
            "pressbot_api_request_duration_seconds", "HTTP request latency by route template.",
            ["method", "route"], registry=self.registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
        )
        self.answers = Counter("pressbot_api_answers", "Answers given by /v1/ask.", registry=self.registry)
        self.abstentions = Counter(
            "pressbot_api_abstentions", "Answers of /v1/ask that abstained.", registry=self.registry
        )

    def count_answer(self, ans: Answer) -> None:
        self.answers.inc()
        if ans.abstained:
            self.abstentions.inc()


class MetricsMiddleware:
    """Counts and times every HTTP request under its route template (bounded label values)."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app, self.metrics = app, metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        t0 = time.perf_counter()
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            method = scope["method"]
            self.metrics.requests.labels(method, route, str(status)).inc()
            self.metrics.latency.labels(method, route).observe(time.perf_counter() - t0)


class BodyLimitMiddleware:
    """413 for bodies over `max_bytes`: at once from Content-Length, else while reading (chunked).

    (Starlette's own limit answers in plain text; this one keeps the problem+json format.)
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            await problem(413, self.detail, kind="too-large")(scope, receive, send)
            return
        received = 0

        async def receive_limited() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise ApiProblem(413, self.detail, "too-large")  # rendered by the app's handler
            return message

        await self.app(scope, receive_limited, send)

    @property
    def detail(self) -> str:
        return f"the request body is larger than {self.max_bytes // 1024} KB; send a shorter question"


# --- the engine, loaded in the background ------------------------------------------------
@dataclass
class Runtime:
    settings: Settings
    engine: Engine | None
    limiter: anyio.CapacityLimiter
    auth: TokenAuth
    rate: RateLimiter
    metrics: Metrics
    factories: list[Callable[[Engine], APIRouter | None]]
    error: str | None = None

    async def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run a synchronous engine call in a worker thread, bounded by the limiter."""
        return await anyio.to_thread.run_sync(partial(fn, *args, **kwargs), limiter=self.limiter)


def load_engine(settings: Settings) -> Engine:
    """Open the index, load the model and run one search so the first request is not slow."""
    engine = Engine.from_settings(settings)
    engine.warm_up()
    return engine


async def _load_in_background(app: FastAPI, rt: Runtime, loader: Callable[[Settings], Engine]) -> None:
    delay, longest = RETRY_DELAYS_S
    while True:
        t0 = time.perf_counter()
        try:
            engine = await anyio.to_thread.run_sync(loader, rt.settings, abandon_on_cancel=True)
            routers = [await anyio.to_thread.run_sync(f, engine, abandon_on_cancel=True) for f in rt.factories]
        except IndexError_ as exc:  # no index yet, or the Chroma server is not up yet: try again later
            rt.error = f"{exc} (trying again in {delay:.0f} s)"
            log.error("the engine is not ready: %s", rt.error)
            await asyncio.sleep(delay)
            delay = min(2 * delay, longest)  # each attempt loads the model again: back off
            continue
        except Exception as exc:  # a bad setting, a broken model: needs a restart with a fix
            rt.error = str(exc) or type(exc).__name__
            log.error("the engine failed to load: %s", rt.error, exc_info=not isinstance(exc, PressbotError))
            return
        for router in routers:
            if router is not None:
                app.include_router(router)
        rt.engine, rt.error = engine, None
        log.info("engine ready in %.1f s: %s", time.perf_counter() - t0, engine.index.location())
        return


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


# --- security dependencies -------------------------------------------------------------
_bearer = HTTPBearer(auto_error=False, description="One of the tokens in PRESSBOT_API_TOKENS.")


def _admit(request: Request, caller: str) -> None:
    wait = runtime(request).rate.acquire(caller)
    if wait is not None:
        raise ApiProblem(429, f"rate limit of {runtime(request).rate.capacity:.0f} requests per minute reached; "
                         f"retry in {retry_after(wait)} s", "rate-limited", {"Retry-After": retry_after(wait)})


def require_token(request: Request, _: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)]) -> None:
    caller = runtime(request).auth.caller(request.headers.get("authorization"))
    if caller is None:
        # guessing tokens costs the guesser: failures count against the address's own limit
        _admit(request, f"auth-failures:{_client_address(request)}")
        raise ApiProblem(401, "a valid bearer token is required: send `Authorization: Bearer <token>` with one of "
                         "the tokens in PRESSBOT_API_TOKENS", "unauthorized", {"WWW-Authenticate": "Bearer"})
    _admit(request, caller)


def _client_address(request: Request) -> str:
    # the peer, or the client a trusted proxy names (uvicorn's proxy headers, see bot/api_server.py)
    return request.client.host if request.client else "unknown"


def limit_by_client(request: Request) -> None:
    _admit(request, f"ip:{_client_address(request)}")


# --- routes --------------------------------------------------------------------------------
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
            yield format_sse_event(event="error", data_str=bytes(_engine_problem(exc).body).decode())
        finally:
            events.close()  # type: ignore[attr-defined]

    return EventSourceResponse(body(), headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


def _v1_router() -> APIRouter:
    v1 = APIRouter(prefix="/v1", responses=_problem_doc(400, 401, 413, 422, 429, 503))

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
        responses=_problem_doc(404),
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


def _ops_router() -> APIRouter:
    ops = APIRouter(tags=["operations"])

    @ops.get("/healthz", response_model=Health, summary="The process is up")
    async def healthz() -> Health:
        return Health()

    @ops.get("/readyz", response_model=Readiness, summary="The index and model are loaded",
             responses={503: {"model": Readiness, "description": "Still loading, or loading failed"}})
    async def readyz(request: Request) -> Any:
        rt = runtime(request)
        if rt.engine is not None:
            return Readiness(status="ready")
        waiting = Readiness(status="failed", detail=rt.error) if rt.error else Readiness(status="loading")
        return JSONResponse(waiting.model_dump(), status_code=503)

    @ops.get("/metrics", summary="Prometheus metrics", response_class=Response,
             responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}})
    async def metrics(request: Request) -> Response:
        return Response(generate_latest(runtime(request).metrics.registry), media_type=CONTENT_TYPE_LATEST)

    return ops


def _swagger_assets() -> Path | None:
    try:
        from swagger_ui_bundle import swagger_ui_path  # the Swagger UI files, shipped as a package
    except ImportError:
        return None
    return Path(str(swagger_ui_path))


def _install_docs(app: FastAPI) -> None:
    """Swagger UI from local files (no CDN); a plain page listing the operations otherwise."""
    assets = _swagger_assets()
    if assets is not None:
        app.mount(DOCS_ASSETS, StaticFiles(directory=assets), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        if assets is not None:
            return get_swagger_ui_html(
                openapi_url=app.openapi_url or "/openapi.json",
                title=f"{app.title} - docs",
                swagger_js_url=f"{DOCS_ASSETS}/swagger-ui-bundle.js",
                swagger_css_url=f"{DOCS_ASSETS}/swagger-ui.css",
                swagger_favicon_url=f"{DOCS_ASSETS}/favicon-32x32.png",
            )
        return HTMLResponse(_plain_docs(app.openapi()))


def _plain_docs(schema: dict[str, Any]) -> str:
    from html import escape

    rows = []
    for path, ops in schema.get("paths", {}).items():
        for method, op in ops.items():
            about = f"{escape(op.get('summary', ''))}<br><small>{escape(op.get('description', ''))}</small>"
            rows.append(f"<tr><td><code>{method.upper()} {escape(path)}</code></td><td>{about}</td></tr>")
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{escape(schema['info']['title'])}</title>"
            "</head><body><h1>pressbot API</h1><p>The full schema: <a href='/openapi.json'>/openapi.json</a>.</p>"
            f"<table>{''.join(rows)}</table></body></html>")


# --- the app -------------------------------------------------------------------------------
def _warn_half_configured_slack(settings: Settings) -> None:
    """A bot token without the signing secret serves no /slack/events: say so, naming the variable."""
    token = settings.slack_bot_token.get_secret_value().strip() if settings.slack_bot_token else ""
    secret = settings.slack_signing_secret.get_secret_value().strip() if settings.slack_signing_secret else ""
    if token and not secret:
        log.warning("SLACK_BOT_TOKEN is set but SLACK_SIGNING_SECRET (or PRESSBOT_SLACK_SIGNING_SECRET) is not: "
                    "this server does not serve Slack's HTTP mode (/slack/events needs the Signing Secret from "
                    "the app's Basic Information page); for Socket Mode run `pressbot slack` instead; "
                    "see docs/slack.md")


def create_app(
    settings: Settings,
    engine: Engine | None = None,
    *,
    extra_routers: Sequence[RouterSource] = (),
    engine_concurrency: int | None = None,
    loader: Callable[[Settings], Engine] = load_engine,
) -> FastAPI:
    """The API app. With `engine=None` the engine is loaded (by `loader`) when the app starts.

    `extra_routers`: see the module docstring (Slack's /slack/events goes here).
    `engine_concurrency`: engine calls running at once (default: the number of CPUs).
    """
    auth = TokenAuth(settings.api_tokens)
    factories = [r for r in extra_routers if not isinstance(r, APIRouter)]
    rt = Runtime(
        settings=settings,
        engine=None,
        limiter=anyio.CapacityLimiter(engine_concurrency or os.cpu_count() or 2),
        auth=auth,
        rate=make_rate_limiter(settings),
        metrics=Metrics(),
        factories=factories,
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if not auth.enabled:
            log.warning("PRESSBOT_API_TOKENS is not set: the API accepts requests without a token "
                        "(allowed only on a loopback address)")
        _warn_half_configured_slack(settings)
        task = None
        if rt.engine is None:
            task = asyncio.create_task(_load_in_background(app, rt, loader))
        yield
        if task is not None:
            task.cancel()

    app = FastAPI(
        title="pressbot",
        version="0.1.0",
        summary="Answers with numbered citations from a press-release archive.",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    app.state.pressbot = rt
    _install_problem_handlers(app)
    _add_problem_schema(app)
    app.add_middleware(BodyLimitMiddleware, max_bytes=MAX_BODY_BYTES)
    if settings.allowed_hosts:  # a Host header the operator did not list is answered 400
        app.add_middleware(TrustedHostMiddleware, allowed_hosts=settings.allowed_hosts)
    app.add_middleware(MetricsMiddleware, metrics=rt.metrics)  # outermost: counts the 413s too
    gate = require_token if auth.enabled else limit_by_client
    app.include_router(_v1_router(), dependencies=[Depends(gate)])
    app.include_router(_ops_router())
    for router in extra_routers:
        if isinstance(router, APIRouter):
            app.include_router(router)
    _install_docs(app)
    if engine is not None:
        for factory in factories:
            made = factory(engine)
            if made is not None:
                app.include_router(made)
        rt.engine = engine
    return app
