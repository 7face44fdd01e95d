"""The HTTP API as a real server process (`pressbot serve`) on 127.0.0.1, called with httpx.

The index is the bundled sample archive with the real model (`sample_data_dir`, built once per
session by tests/integration/conftest.py through the real CLI).
"""

from __future__ import annotations

import concurrent.futures
import hashlib
import hmac
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
PRESSBOT = str(Path(sys.executable).with_name("pressbot"))
TOKEN = "integration-token-9d2f61c04b7e"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
MIRPS = "Which countries make up the MIRPS regional protection framework?"
SEED_QUESTION = "Which countries receive the $180 million program?"
SEED_FILE = "mexico-and-the-us-continue-migration-talks.txt"  # its id is its path inside the archive
MIRPS_URL = "https://www.state.gov/announcing-new-assistance-to-respond-to-humanitarian-challenges-in-central-america/"


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PRESSBOT_", "SLACK_"))}
    env.update(HF_HUB_OFFLINE="1", ANONYMIZED_TELEMETRY="False", **extra)
    return env


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """`pressbot [cli_args] serve --port N [args]` with `env`, its stderr in `log`."""

    def __init__(self, data: Path, log: Path, *args: str, cli_args: tuple[str, ...] = (), **env: str) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        with log.open("w") as stderr:  # the child keeps its own copy of the file
            self.proc = subprocess.Popen(
                [PRESSBOT, *cli_args, "--data-dir", str(data), "serve", "--port", str(self.port), *args],
                env=_env(**env), stdout=subprocess.DEVNULL, stderr=stderr, cwd=ROOT,
            )

    def wait(self, path: str, status: int = 200, timeout: float = 120) -> httpx.Response:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, self.log.read_text()
            try:
                resp = httpx.get(self.url + path, timeout=2)
                if resp.status_code == status:
                    return resp
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"{path} never answered {status}:\n{self.log.read_text()}")

    def stop(self) -> str:
        self.proc.terminate()
        self.proc.wait(timeout=30)
        return self.log.read_text()


@pytest.fixture(scope="module")
def server(sample_data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = Server(sample_data_dir, tmp_path_factory.mktemp("log") / "serve.log",
                 PRESSBOT_API_TOKENS=f"{TOKEN},another-token-0000", PRESSBOT_API_RATE_LIMIT="100000")
    srv.wait("/healthz")
    srv.wait("/readyz")
    yield srv
    log = srv.stop()
    assert TOKEN not in log  # the server's own log never shows a token


@pytest.fixture
def http(server: Server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, headers=AUTH, timeout=60) as client:
        yield client


def test_ask_over_http(http: httpx.Client) -> None:
    resp = http.post("/v1/ask", json={"question": SEED_QUESTION})
    assert resp.status_code == 200, resp.text
    ans = resp.json()
    assert ans["question"] == SEED_QUESTION and isinstance(ans["abstained"], bool)
    assert ans["citations"][0]["release_id"].endswith(SEED_FILE) and not ans["abstained"]
    assert "Guatemala" in ans["answer"] and "Haiti" in ans["answer"]
    for cite in ans["citations"]:  # each resolves to a release that holds its quote (chunks join lines)
        release = http.get("/v1/releases/" + quote(cite["release_id"], safe=""))
        assert release.status_code == 200 and release.json()["title"] == cite["title"]
        assert " ".join(cite["quote"].split())[:100] in " ".join(release.json()["text"].split())


def test_no_token_is_refused_over_http(server: Server) -> None:
    resp = httpx.post(server.url + "/v1/ask", json={"question": MIRPS})
    assert resp.status_code == 401 and resp.headers["www-authenticate"] == "Bearer"
    assert resp.headers["content-type"] == "application/problem+json"


def test_release_with_a_url_id_over_http(http: httpx.Client) -> None:
    # uvicorn decodes %2F before routing: the {id:path} route still gets the whole URL
    resp = http.get("/v1/releases/" + quote(MIRPS_URL, safe=""))
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["id"] == MIRPS_URL and body["url"] == MIRPS_URL and "MIRPS" in body["text"]
    assert body["chunk_ids"] and all(c.startswith(MIRPS_URL + ":") for c in body["chunk_ids"])
    assert http.get("/v1/releases/" + quote(MIRPS_URL + "nope/", safe="")).status_code == 404


def test_streaming_over_http(http: httpx.Client) -> None:
    events = []
    with http.stream("POST", "/v1/ask", json={"question": MIRPS}, headers={"Accept": "text/event-stream"}) as resp:
        assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/event-stream")
        event = None
        for line in resp.iter_lines():
            if line.startswith("event: "):
                event = line.removeprefix("event: ")
            elif line.startswith("data: "):
                events.append((event, json.loads(line.removeprefix("data: "))))
    assert events[0][0] == "token" and events[-1][0] == "answer"
    assert "".join(data["text"] for name, data in events if name == "token") == events[-1][1]["answer"]


def test_twenty_concurrent_asks_all_succeed(server: Server) -> None:
    questions = [MIRPS, "How much new humanitarian assistance did Amy Pope announce at the Solidarity Event?",
                 "Which countries receive the $180 million program?", "What did the Secretary say about Haiti?"]

    def ask(i: int) -> httpx.Response:
        with httpx.Client(base_url=server.url, headers=AUTH, timeout=120) as client:
            return client.post("/v1/ask", json={"question": questions[i % len(questions)]})

    with concurrent.futures.ThreadPoolExecutor(max_workers=20) as pool:
        responses = list(pool.map(ask, range(20)))
    assert [r.status_code for r in responses] == [200] * 20
    assert all(r.json()["question"] == questions[i % len(questions)] for i, r in enumerate(responses))


def test_chunked_body_over_the_limit_is_413_over_http(http: httpx.Client) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"question": "'
        for _ in range(40):
            yield b"z" * 4096
        yield b'"}'

    resp = http.post("/v1/ask", content=chunks(), headers={"Content-Type": "application/json"})
    assert resp.status_code == 413 and resp.json()["status"] == 413


def test_stats_metrics_and_docs_over_http(http: httpx.Client) -> None:
    stats = http.get("/v1/stats").json()
    assert stats["releases"] > 400 and stats["embedding_model"] == "all-MiniLM-L6-v2+onnx-int8" and stats["date_range"]
    metrics = http.get("/metrics")
    assert metrics.headers["content-type"].startswith("text/plain")
    assert 'pressbot_api_requests_total{method="POST",route="/v1/ask",status="200"}' in metrics.text
    assert "swagger-ui-bundle.js" in http.get("/docs").text or "openapi.json" in http.get("/docs").text


def test_open_server_on_loopback_warns_and_off_loopback_is_refused(sample_data_dir: Path, tmp_path: Path) -> None:
    args = [PRESSBOT, "--data-dir", str(sample_data_dir), "serve", "--host", "0.0.0.0", "--port", "0"]
    refused = subprocess.run(args, env=_env(), capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert refused.returncode == 2 and "PRESSBOT_API_TOKENS" in refused.stderr and "Traceback" not in refused.stderr

    srv = Server(sample_data_dir, tmp_path / "open.log")
    try:
        srv.wait("/readyz")
        assert httpx.post(srv.url + "/v1/search", json={"query": "MIRPS"}, timeout=60).status_code == 200
    finally:
        log = srv.stop()
    assert "PRESSBOT_API_TOKENS is not set" in log


def test_serve_mounts_slack_http_mode_when_its_secret_is_set(sample_data_dir: Path, tmp_path: Path) -> None:
    from tests.integration.fake_slack import FakeSlack

    secret = "signing-secret-for-the-api-test-77"
    body = json.dumps({"token": "t", "challenge": "challenge-42", "type": "url_verification"})
    ts = str(int(time.time()))
    signature = "v0=" + hmac.new(secret.encode(), f"v0:{ts}:{body}".encode(), hashlib.sha256).hexdigest()
    with FakeSlack() as fake:
        srv = Server(sample_data_dir, tmp_path / "slack.log", SLACK_BOT_TOKEN=fake.bot_token,
                     SLACK_SIGNING_SECRET=secret, PRESSBOT_SLACK_API_URL=fake.url, PRESSBOT_API_TOKENS=TOKEN,
                     PRESSBOT_FEEDBACK_DB=str(tmp_path / "feedback.sqlite3"))
        try:
            srv.wait("/readyz")
            signed = {"Content-Type": "application/json", "X-Slack-Request-Timestamp": ts,
                      "X-Slack-Signature": signature}
            resp = httpx.post(srv.url + "/slack/events", content=body, headers=signed, timeout=30)
            assert resp.status_code == 200 and "challenge-42" in resp.text  # Slack signs: no bearer token needed
            forged = httpx.post(srv.url + "/slack/events", content=body, timeout=30,
                                headers={**signed, "X-Slack-Signature": "v0=" + "0" * 64})
            assert forged.status_code == 401
            assert httpx.get(srv.url + "/v1/stats", timeout=30).status_code == 401  # /v1 still needs its token
        finally:
            log = srv.stop()
    assert [c.method for c in fake.calls] == ["auth.test"]
    for leaked in (secret, fake.bot_token, TOKEN):
        assert leaked not in log
