"""Every API error as `application/problem+json` (RFC 9457): the response, the exception
handlers and middleware raise, and the schema entries that document them.

Bad input names the field and the fix (`invalid-request`); the engine's own errors map to a
status each (`engine_problem`); anything unexpected is a 500 whose details stay in the log.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException

from bot.api_models import FieldError, Problem
from pressbot.errors import ConfigError, IndexEmptyError, IndexError_, LLMError, PressbotError, QueryError

log = logging.getLogger("bot.api")  # the API's one logger, whichever module of it logs

PROBLEM_JSON = "application/problem+json"


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


def problem_doc(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the problems an operation can answer with."""
    ref = {"$ref": "#/components/schemas/Problem"}
    return {s: {"description": HTTPStatus(s).phrase, "content": {PROBLEM_JSON: {"schema": ref}}} for s in statuses}


def add_problem_schema(app: FastAPI) -> None:
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


def install_problem_handlers(app: FastAPI) -> None:
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
        return engine_problem(exc)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        log.error("unexpected error in %s %s", request.method, request.url.path, exc_info=exc)
        return problem(500, "internal error; the server log has the details", kind="internal")


def engine_problem(exc: PressbotError) -> ProblemResponse:
    """The problem response for an error the engine raised."""
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
