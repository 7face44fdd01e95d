"""The HTTP API through FastAPI's TestClient, over a real embedded index (hash embeddings)."""

from __future__ import annotations

import json
import logging
import re
import threading
from pathlib import Path
from urllib.parse import quote

import click
import pytest
from click.testing import CliRunner
from fastapi import APIRouter
from fastapi.testclient import TestClient

from bot.api import MAX_BODY_BYTES, create_app
from bot.api_cli import check_binding, register
from bot.api_security import RateLimiter, TokenAuth, is_loopback
from bot.cli import Group
from pressbot.config import Settings
from pressbot.engine import Engine
from pressbot.errors import ConfigError
from pressbot.index_stats import index_stats
from pressbot.types import Answer
from tests.support import build_engine, release, sample_releases, settings_for

QUESTION = "Which countries receive the $180 million program?"
EIGHT = ["Guatemala", "Honduras", "El Salvador", "Colombia", "Ecuador", "Venezuela", "Cuba", "Haiti"]
URL_ID = "https://www.state.gov/briefing-on-haiti/?lang=en"
TOKENS = ["first-token-4f9a0c2e8b", "second-token-77d1e0a93c"]


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    releases = [
        *sample_releases(),
        release(URL_ID, "Briefing on Haiti", "The Special Envoy for Haiti briefed on the election timeline.",
                "2021-07-30", source="statedept", url=URL_ID),
    ]
    return build_engine(tmp_path_factory.mktemp("api"), releases, abstain_threshold=0.0)


def settings_with(engine: Engine, **overrides: object) -> Settings:
    return Settings(**{**engine.settings.model_dump(), **overrides}, _env_file=None)  # type: ignore[arg-type]


def app_for(engine: Engine, **overrides: object):
    return create_app(settings_with(engine, **overrides), engine)


@pytest.fixture
def client(engine: Engine):
    with TestClient(app_for(engine)) as c:
        yield c


def assert_problem(resp, status: int, *needles: str) -> dict:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")
    body = resp.json()
    assert body["status"] == status and body["title"] and body["type"]
    for needle in needles:
        assert needle in body["detail"], body
    return body


def sse_events(text: str) -> list[tuple[str, str]]:
    """(event, data) pairs of an SSE stream, per the framing: blank-line separated blocks."""
    events = []
    for block in text.split("\n\n"):
        if not block.strip():
            continue
        fields: dict[str, list[str]] = {}
        for line in block.split("\n"):
            name, _, value = line.partition(": ")
            fields.setdefault(name, []).append(value)
        events.append((fields["event"][0], "\n".join(fields["data"])))
    return events


# --- answers -----------------------------------------------------------------------------
def test_ask_returns_the_answer_json_with_citations(client: TestClient) -> None:
    resp = client.post("/v1/ask", json={"question": QUESTION, "as_of": "2026-01-01"})
    assert resp.status_code == 200 and resp.headers["content-type"] == "application/json"
    ans = Answer.model_validate(resp.json())
    assert not ans.abstained
    assert all(country in ans.answer for country in EIGHT)
    assert ans.citations[0].release_id == "seed" and "[1]" in ans.answer
    assert ans.filters["as_of"] == "2026-01-01" and "total" in ans.timings_ms


def test_ask_passes_filters_to_the_engine(client: TestClient) -> None:
    body = {"question": "security assistance for Ukraine", "since": "2022-01-01", "until": "2022-12-31",
            "source": ["statedept"], "k": 2}
    ans = client.post("/v1/ask", json=body).json()
    assert ans["filters"]["since"] == "2022-01-01" and ans["filters"]["until"] == "2022-12-31"
    assert ans["filters"]["sources"] == ["statedept"]
    assert "$1 billion" in ans["answer"] and "$60 million" not in ans["answer"]


def test_ask_streams_tokens_then_the_whole_answer(client: TestClient) -> None:
    body = {"question": QUESTION, "as_of": "2026-01-01"}
    with client.stream("POST", "/v1/ask", json=body, headers={"Accept": "text/event-stream"}) as resp:
        assert resp.status_code == 200
        assert resp.headers["content-type"].startswith("text/event-stream")
        assert resp.headers["cache-control"] == "no-cache"
        events = sse_events(resp.read().decode())
    assert [name for name, _ in events[:-1]] == ["token"] * (len(events) - 1) and events[-1][0] == "answer"
    text = "".join(json.loads(data)["text"] for _, data in events[:-1])
    streamed = Answer.model_validate_json(events[-1][1])
    plain = Answer.model_validate(client.post("/v1/ask", json=body).json())
    assert text == streamed.answer == plain.answer
    assert streamed.citations == plain.citations


def test_a_stream_with_bad_input_is_a_problem_not_a_stream(client: TestClient) -> None:
    resp = client.post("/v1/ask", json={"question": QUESTION, "k": 0}, headers={"Accept": "text/event-stream"})
    assert_problem(resp, 422, "k")


# --- bad input -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"question": ""}, "question"),
        ({"question": "   "}, "question"),
        ({"question": "x" * 2001}, "question"),
        ({}, "question"),
        ({"question": QUESTION, "k": 0}, "k"),
        ({"question": QUESTION, "k": 51}, "k"),
        ({"question": QUESTION, "k": "five"}, "k"),
        ({"question": QUESTION, "since": "2024-13-01"}, "since"),
        ({"question": QUESTION, "since": "last week"}, "since"),
        ({"question": QUESTION, "until": 1700000000}, "until"),
        ({"question": QUESTION, "as_of": "2024/01/22"}, "as_of"),
        ({"question": QUESTION, "since": "2024-02-01", "until": "2024-01-01"}, "until"),
        ({"question": QUESTION, "sorce": "statedept"}, "sorce"),
        ({"question": QUESTION, "source": ""}, "source"),
        ({"question": "\ud800 lone surrogate"}, "question"),
        ({"question": QUESTION, "k": True}, "k"),  # strict types: not read as 1
        ({"question": QUESTION, "k": "5"}, "k"),
        ({"question": QUESTION, "k": 5.5}, "k"),
        ({"question": QUESTION, "since": "1700006400"}, "since"),  # digits are not a date
        ({"question": QUESTION, "source": ["statedept", ""]}, "source"),
        ({"question": QUESTION, "source": "x" * 201}, "source"),
    ],
)
def test_bad_input_is_a_422_problem_naming_the_field(client: TestClient, body: dict, field: str) -> None:
    resp = client.post("/v1/ask", content=json.dumps(body), headers={"Content-Type": "application/json"})
    problem = assert_problem(resp, 422, field)
    # the API's own field names, one problem per field, none of pydantic's validator names
    assert [e["field"] for e in problem["errors"]] == [field]
    assert "function-after" not in resp.text and "valid list" not in resp.text
    assert "Traceback" not in resp.text


def test_reversed_window_says_how_to_fix_it(client: TestClient) -> None:
    resp = client.post("/v1/search", json={"query": "Haiti", "since": "2024-02-01", "until": "2024-01-01"})
    assert_problem(resp, 422, "until", "swap them")


@pytest.mark.parametrize("raw", [b"{not json", b"[1, 2]", b"\xff\xfe\x00garbage", b""])
def test_a_body_that_is_not_a_json_object_is_a_4xx_problem(client: TestClient, raw: bytes) -> None:
    resp = client.post("/v1/ask", content=raw, headers={"Content-Type": "application/json"})
    assert resp.status_code in (400, 422)
    assert_problem(resp, resp.status_code, "JSON")


def test_bodies_over_64_kb_are_refused_with_413(client: TestClient) -> None:
    big = json.dumps({"question": "x" * (MAX_BODY_BYTES + 10)}).encode()
    assert_problem(client.post("/v1/ask", content=big, headers={"Content-Type": "application/json"}), 413, "64 KB")

    def chunked():  # no Content-Length: the limit holds while reading
        yield b'{"question": "'
        for _ in range(20):
            yield b"y" * 4096
        yield b'"}'

    resp = client.post("/v1/ask", content=chunked(), headers={"Content-Type": "application/json"})
    assert "content-length" not in resp.request.headers
    assert_problem(resp, 413, "64 KB")


def test_unknown_routes_and_methods_are_problems(client: TestClient) -> None:
    assert_problem(client.get("/v1/nothing-here"), 404, "/v1/nothing-here")
    resp = client.get("/v1/ask")
    assert_problem(resp, 405, "POST")
    assert resp.headers["allow"] == "POST"


def test_engine_errors_become_problems(engine: Engine, tmp_path: Path) -> None:
    from bot.api_problems import engine_problem as _engine_problem
    from pressbot.errors import IndexEmptyError, QueryError

    resp = _engine_problem(QueryError("k=99 is out of range; use 1..50"))
    assert resp.status_code == 422 and b"k=99" in resp.body
    resp = _engine_problem(IndexEmptyError("no index; run `pressbot ingest PATH` first"))
    assert resp.status_code == 503 and b"pressbot ingest" in resp.body and resp.headers["retry-after"]


def test_an_unexpected_error_is_a_500_problem_without_traceback(engine: Engine) -> None:
    router = APIRouter()

    @router.get("/boom")
    def boom() -> None:
        raise RuntimeError("secret internals")

    app = create_app(engine.settings, engine, extra_routers=[router])
    with TestClient(app, raise_server_exceptions=False) as c:
        resp = c.get("/boom")
    body = assert_problem(resp, 500, "server log")
    assert "secret internals" not in resp.text and "Traceback" not in resp.text and body["status"] == 500


# --- search, releases, stats ---------------------------------------------------------------
def test_search_ranks_passages_with_metadata_and_scores(client: TestClient) -> None:
    body = client.post("/v1/search", json={"query": "security assistance for Ukraine", "k": 3}).json()
    passages = body["passages"]
    assert 1 <= len(passages) <= 3
    assert passages[0]["release_id"].startswith("sd-ukraine")
    assert [p["score"] for p in passages] == sorted((p["score"] for p in passages), reverse=True)
    first = passages[0]
    assert first["title"] == "Support for Ukraine" and first["date"] and first["source"] == "statedept"
    assert first["chunk_id"].startswith(first["release_id"] + ":")
    assert "total" in body["timings_ms"] or body["timings_ms"]


def test_search_filters_by_source(client: TestClient) -> None:
    passages = client.post("/v1/search", json={"query": "Haiti", "source": "statedept"}).json()["passages"]
    assert passages and {p["source"] for p in passages} == {"statedept"}


def test_release_by_id_with_text_and_chunk_ids(client: TestClient) -> None:
    body = client.get("/v1/releases/wh-haiti").json()
    assert body["title"] == "Statement on Haiti" and body["date"] == "2021-08-20"
    assert "$15 million" in body["text"]
    assert body["chunk_ids"] == ["wh-haiti:0"] and body["n_chunks"] == 1


@pytest.mark.parametrize("path", [quote(URL_ID, safe=""), quote(URL_ID, safe="/:")])
def test_release_ids_that_are_urls_work_percent_encoded(client: TestClient, path: str) -> None:
    resp = client.get(f"/v1/releases/{path}")
    assert resp.status_code == 200, resp.text
    assert resp.json()["id"] == URL_ID and resp.json()["chunk_ids"] == [f"{URL_ID}:0"]


def test_absent_release_is_a_404_problem(client: TestClient) -> None:
    assert_problem(client.get("/v1/releases/" + quote("https://example.org/missing/", safe="")), 404,
                   "https://example.org/missing/")


def test_stats(client: TestClient) -> None:
    body = client.get("/v1/stats").json()
    assert body["releases"] == 6 and body["chunks"] >= 6
    assert body["embedding_model"] == "hash-64" and body["date_range"] == ["2021-04-22", "2022-06-15"]
    assert body["sources"]["statedept"] == 3


# --- start-up, health, readiness -----------------------------------------------------------
def test_healthz_answers_at_once_and_readyz_waits_for_the_engine(engine: Engine) -> None:
    gate = threading.Event()

    def slow_loader(settings: Settings) -> Engine:
        gate.wait(10)
        return engine

    app = create_app(engine.settings, loader=slow_loader)
    with TestClient(app) as c:
        assert c.get("/healthz").json() == {"status": "ok"}
        loading = c.get("/readyz")
        assert loading.status_code == 503 and loading.json()["status"] == "loading"
        assert_problem(c.post("/v1/ask", json={"question": QUESTION}), 503, "loading")
        gate.set()
        for _ in range(200):
            if c.get("/readyz").status_code == 200:
                break
            threading.Event().wait(0.05)
        assert c.get("/readyz").json()["status"] == "ready"
        assert c.post("/v1/ask", json={"question": QUESTION}).status_code == 200


def test_an_empty_data_dir_is_not_ready_and_says_to_ingest(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)  # nothing ingested there; the real loader opens it
    with TestClient(create_app(settings)) as c:
        for _ in range(200):
            ready = c.get("/readyz")
            if ready.json()["status"] != "loading":
                break
            threading.Event().wait(0.05)
        assert ready.status_code == 503 and ready.json()["status"] == "failed"
        assert "pressbot ingest" in ready.json()["detail"]
        assert_problem(c.post("/v1/ask", json={"question": QUESTION}), 503, "pressbot ingest")
        assert c.get("/healthz").status_code == 200


# --- security ------------------------------------------------------------------------------
def test_tokens_are_required_when_configured(engine: Engine) -> None:
    with TestClient(app_for(engine, api_tokens=TOKENS)) as c:
        for headers in ({}, {"Authorization": "Bearer wrong-token"}, {"Authorization": f"Basic {TOKENS[0]}"},
                        {"Authorization": "Bearer "}):
            resp = c.post("/v1/ask", json={"question": QUESTION}, headers=headers)
            assert_problem(resp, 401, "PRESSBOT_API_TOKENS")
            assert resp.headers["www-authenticate"] == "Bearer"
        for token in TOKENS:
            resp = c.get("/v1/stats", headers={"Authorization": f"Bearer {token}"})
            assert resp.status_code == 200
        assert c.get("/healthz").status_code == 200 and c.get("/openapi.json").status_code == 200
        schemes = c.get("/openapi.json").json()["components"]["securitySchemes"]
        assert [s["scheme"] for s in schemes.values()] == ["bearer"]


def test_token_auth_compares_each_token() -> None:
    from pydantic import SecretStr

    auth = TokenAuth([SecretStr("alpha-token"), SecretStr(" "), SecretStr("beta-token")])
    assert auth.enabled
    assert auth.caller("Bearer beta-token") and auth.caller("bearer alpha-token")
    assert auth.caller("Bearer alpha-token") != auth.caller("Bearer beta-token")
    assert "alpha" not in auth.caller("Bearer alpha-token")  # callers are named by a digest
    assert auth.caller("Bearer ") is None and auth.caller("Bearer alpha") is None and auth.caller(None) is None
    assert not TokenAuth([SecretStr("  ")]).enabled


def test_rate_limit_per_token_with_retry_after(engine: Engine) -> None:
    with TestClient(app_for(engine, api_tokens=TOKENS, api_rate_limit=3)) as c:
        first = {"Authorization": f"Bearer {TOKENS[0]}"}
        assert [c.get("/v1/stats", headers=first).status_code for _ in range(3)] == [200, 200, 200]
        limited = c.get("/v1/stats", headers=first)
        assert_problem(limited, 429, "3 requests per minute")
        assert int(limited.headers["retry-after"]) >= 1
        # another token has its own budget; health checks have none
        assert c.get("/v1/stats", headers={"Authorization": f"Bearer {TOKENS[1]}"}).status_code == 200
        assert c.get("/healthz").status_code == 200


def test_rate_limit_per_client_without_tokens(engine: Engine) -> None:
    with TestClient(app_for(engine, api_rate_limit=2)) as c:
        assert [c.get("/v1/stats").status_code for _ in range(3)] == [200, 200, 429]


def test_rate_limiter_refills_over_the_minute() -> None:
    now = [0.0]
    limiter = RateLimiter(60, clock=lambda: now[0])
    assert all(limiter.acquire("a") is None for _ in range(60))
    wait = limiter.acquire("a")
    assert wait is not None and 0.9 < wait <= 1.0
    now[0] += 1.0
    assert limiter.acquire("a") is None and limiter.acquire("a") is not None
    assert limiter.acquire("b") is None
    now[0] += 120.0
    limiter.acquire("c")  # sweeps the idle callers
    assert set(limiter._buckets) == {"c"}


def test_logs_never_contain_tokens_or_slack_secrets(engine: Engine, caplog: pytest.LogCaptureFixture) -> None:
    secrets = {"slack_bot_token": "xoxb-1111-secret-bot", "slack_signing_secret": "signing-secret-2222",
               "slack_app_token": "xapp-3333-secret-app"}
    wrong = "wrong-token-that-must-not-leak-5555"
    caplog.set_level(logging.DEBUG)
    with TestClient(app_for(engine, api_tokens=TOKENS, **secrets)) as c:
        good = {"Authorization": f"Bearer {TOKENS[0]}"}
        assert c.post("/v1/ask", json={"question": QUESTION}, headers=good).status_code == 200
        assert c.post("/v1/ask", json={"question": ""}, headers=good).status_code == 422
        assert c.post("/v1/ask", json={"question": QUESTION}, headers={"Authorization": f"Bearer {wrong}"}
                      ).status_code == 401
    assert "answer" in caplog.text  # the engine's answer record was captured, so the check means something
    for secret in [*TOKENS, wrong, *secrets.values()]:
        assert secret not in caplog.text


def test_serve_refuses_to_run_without_tokens_off_loopback(tmp_path: Path) -> None:
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost") and is_loopback("[::1]")
    assert not is_loopback("0.0.0.0") and not is_loopback("::") and not is_loopback("192.168.1.10")
    with pytest.raises(ConfigError, match="PRESSBOT_API_TOKENS"):
        check_binding(settings_for(tmp_path), "0.0.0.0")
    check_binding(settings_for(tmp_path), "127.0.0.1")
    check_binding(settings_for(tmp_path, api_tokens=TOKENS), "0.0.0.0")

    @click.group(cls=Group)
    def cli() -> None:
        pass

    register(cli, lambda ctx, **kw: settings_for(tmp_path))
    result = CliRunner().invoke(cli, ["serve", "--host", "0.0.0.0", "--port", "8123"])
    assert result.exit_code == 2
    assert "PRESSBOT_API_TOKENS" in result.output and "Traceback" not in result.output


# --- metrics, docs, mount point --------------------------------------------------------------
def test_metrics_count_requests_by_route_template_and_answers(engine: Engine) -> None:
    from prometheus_client.parser import text_string_to_metric_families

    with TestClient(app_for(engine)) as c, TestClient(app_for(engine)) as other:
        answers = [c.post("/v1/ask", json={"question": q}).json()
                   for q in (QUESTION, "What is the recipe for sourdough bread?")]
        c.get("/v1/releases/wh-haiti")
        c.get("/v1/releases/seed")
        c.post("/v1/ask", json={"question": ""})
        text = c.get("/metrics").text
        other_text = other.get("/metrics").text  # a second app in the process has its own registry
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
               for family in text_string_to_metric_families(text) for s in family.samples}
    releases = (("method", "GET"), ("route", "/v1/releases/{release_id:path}"), ("status", "200"))
    assert samples[("pressbot_api_requests_total", releases)] == 2
    assert samples[("pressbot_api_requests_total", (("method", "POST"), ("route", "/v1/ask"), ("status", "422")))] == 1
    assert samples[("pressbot_api_request_duration_seconds_count", (("method", "POST"), ("route", "/v1/ask")))] == 3
    assert samples[("pressbot_api_answers_total", ())] == 2
    assert samples[("pressbot_api_abstentions_total", ())] == sum(a["abstained"] for a in answers)
    assert "pressbot_api_answers_total 0.0" in other_text


def test_docs_page_works_offline(client: TestClient) -> None:
    page = client.get("/docs")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert not re.search(r"(?:src|href)=[\"']?(?:https?:)?//", page.text)  # nothing from a CDN
    for asset in re.findall(r"(?:src|href)=[\"']([^\"']+)[\"']", page.text):
        assert client.get(asset).status_code == 200, asset
    schema = client.get("/openapi.json").json()
    assert {"/v1/ask", "/v1/search", "/v1/releases/{release_id}", "/v1/stats"} <= set(schema["paths"])
    ask_422 = schema["paths"]["/v1/ask"]["post"]["responses"]["422"]["content"]
    assert ask_422 == {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}


def test_extra_routers_are_mounted_outside_the_token_gate(engine: Engine) -> None:
    static = APIRouter()

    @static.post("/slack/events")
    def events() -> dict:
        return {"ok": True}

    seen: list[Engine] = []

    def factory(e: Engine) -> APIRouter:
        seen.append(e)
        router = APIRouter()
        router.add_api_route("/extra/ping", lambda: {"releases": index_stats(e.index)["releases"]})
        return router

    with TestClient(create_app(settings_with(engine, api_tokens=TOKENS), engine,
                               extra_routers=[static, factory])) as c:
        assert c.post("/slack/events", json={}).json() == {"ok": True}  # Slack signs; no bearer token
        assert c.get("/extra/ping").json() == {"releases": 6}
        assert c.get("/v1/stats").status_code == 401
    assert seen == [engine]
