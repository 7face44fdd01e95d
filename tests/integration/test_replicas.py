"""Three `pressbot serve` replicas (real processes: one signing secret, one API token list, one
real redis-server) behind an imaginary load balancer, against the fake Slack Web API: a Slack
event, its retries and its mention+message twin, each sent to a different replica, get exactly
one answer; an API token's rate limit is one limit across the replicas.

Fast on purpose: the model-free hash-64 embeddings and a five-release index.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import shutil
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.slack_format import PROGRESS_TEXT
from tests.integration.fake_slack import FakeSlack
from tests.integration.redis_server import RedisServer, free_port
from tests.support import build_index, sample_releases, settings_for

ROOT = Path(__file__).resolve().parents[2]
PRESSBOT = str(Path(sys.executable).with_name("pressbot"))
SECRET = "replica-signing-secret-5c1e0b7a"
TOKEN, OTHER_TOKEN = "replica-token-3f9a0c1d2e", "replica-token-other-77aa"
LIMIT = 6  # requests per minute per token: one refill every 10 s, far slower than the test
HAITI = "What humanitarian assistance goes to Haiti?"


class Replica:
    def __init__(self, index: Path, workdir: Path, env: dict[str, str]) -> None:
        self.data = workdir / "data"
        shutil.copytree(index, self.data)  # each replica its own copy, as on its own machine
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = workdir / "serve.log"
        base = {k: v for k, v in os.environ.items() if not k.startswith(("PRESSBOT_", "SLACK_"))}
        with self.log.open("w") as stderr:
            self.proc = subprocess.Popen(
                [PRESSBOT, "-v", "--data-dir", str(self.data), "serve", "--port", str(self.port)],
                env={**base, **env, "PRESSBOT_FEEDBACK_DB": str(workdir / "feedback.sqlite3")},
                stdout=subprocess.DEVNULL, stderr=stderr, cwd=ROOT,
            )

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, self.log.read_text()
            try:
                if httpx.get(self.url + "/readyz", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise AssertionError("a replica never got ready:\n" + self.log.read_text())

    def stop(self) -> str:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        return self.log.read_text()


@dataclass
class Cluster:
    replicas: list[Replica]
    fake: FakeSlack
    redis: RedisServer

    def logs(self) -> str:
        return "\n".join(r.log.read_text() for r in self.replicas)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    root = tmp_path_factory.mktemp("replicas")
    settings = settings_for(root / "index")
    build_index(settings, sample_releases())
    with RedisServer(root / "redis") as redis_server, FakeSlack() as fake:
        env = {
            "HF_HUB_OFFLINE": "1", "ANONYMIZED_TELEMETRY": "False", "PRESSBOT_EMBEDDING_MODEL": "hash-64",
            "PRESSBOT_ABSTAIN_THRESHOLD": "0", "PRESSBOT_REDIS_URL": redis_server.url,
            "SLACK_BOT_TOKEN": fake.bot_token, "SLACK_SIGNING_SECRET": SECRET, "PRESSBOT_SLACK_API_URL": fake.url,
            "PRESSBOT_API_TOKENS": f"{TOKEN},{OTHER_TOKEN}", "PRESSBOT_API_RATE_LIMIT": str(LIMIT),
        }
        replicas = [Replica(settings.data_dir, root / f"replica-{i}", env) for i in range(3)]
        try:
            for replica in replicas:
                replica.wait_ready()
            yield Cluster(replicas, fake, redis_server)
        finally:
            logs = [r.stop() for r in replicas]
    for log in logs:
        assert "Traceback" not in log, log
        assert "shared state (Slack dedupe, API rate limits) in Redis at redis://127.0.0.1" in log


# --- Slack requests ----------------------------------------------------------------------


def deliver(replica: Replica, payload: dict[str, Any], retry: int = 0) -> httpx.Response:
    """What Slack sends: a signed event_callback; a retry carries the same body and X-Slack-Retry-Num."""
    body = json.dumps(payload)
    ts = str(int(time.time()))
    signature = "v0=" + hmac.new(SECRET.encode(), f"v0:{ts}:{body}".encode(), hashlib.sha256).hexdigest()
    headers = {"Content-Type": "application/json", "X-Slack-Request-Timestamp": ts, "X-Slack-Signature": signature}
    if retry:
        headers |= {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"}
    resp = httpx.post(replica.url + "/slack/events", content=body, headers=headers, timeout=10)
    assert resp.status_code == 200, resp.text
    return resp


def callback(event: dict[str, Any]) -> dict[str, Any]:
    return {"token": "legacy", "team_id": "T0TEAM", "api_app_id": "A0APP", "type": "event_callback",
            "event_id": f"Ev{uuid.uuid4().hex[:10].upper()}", "event_time": int(time.time()),
            "authorizations": [{"team_id": "T0TEAM", "user_id": "UBOT", "is_bot": True}], "event": event}


_ts = iter(range(100, 10_000))


def question_deliveries(channel: str, *, dm: bool = False) -> tuple[str, list[tuple[dict[str, Any], int]]]:
    """(ts, [(payload, retry number)]): one question as Slack delivers it, duplicates included."""
    ts = f"1718000000.{next(_ts):06d}"
    base = {"user": "U1", "ts": ts, "event_ts": ts, "channel": channel}
    if dm:
        event = callback({**base, "type": "message", "channel_type": "im", "text": HAITI})
        return ts, [(event, 0), (event, 1), (event, 2)]
    mention = callback({**base, "type": "app_mention", "text": f"<@UBOT> {HAITI}"})
    twin = callback({**base, "type": "message", "channel_type": "channel", "text": f"<@UBOT> {HAITI}"})
    return ts, [(mention, 0), (twin, 0), (mention, 1), (twin, 1), (mention, 2)]


def assert_one_answer(cluster: Cluster, channel: str, ts: str, duplicates: int) -> None:
    fake = cluster.fake

    def posts() -> list[Any]:
        return [c for c in fake.calls_to("chat.postMessage") if c.params.get("thread_ts") == ts]

    def updates() -> list[Any]:
        placeholders = {c.response.get("ts") for c in posts()}
        return [c for c in fake.calls_to("chat.update") if c.params.get("ts") in placeholders]

    assert fake.wait_for(lambda _: updates(), timeout=30), cluster.logs()
    # and no second answer later: every duplicate was seen and dropped by the replica it reached
    deadline = time.monotonic() + 15
    while cluster.logs().count(f"ts={ts}") < duplicates and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(0.5)  # a second answer would have posted its placeholder by now
    assert cluster.logs().count(f"ts={ts}") == duplicates, cluster.logs()
    assert len(posts()) == 1 and len(updates()) == 1, (posts(), updates())
    [message] = fake.thread(channel, ts)
    assert message["text"] != PROGRESS_TEXT and "Haiti" in json.dumps(message["blocks"])


def test_duplicates_sent_to_different_replicas_get_one_answer(cluster: Cluster) -> None:
    ts, deliveries = question_deliveries("C1")
    for i, (payload, retry) in enumerate(deliveries):  # one after another, round robin
        deliver(cluster.replicas[i % 3], payload, retry)
    assert_one_answer(cluster, "C1", ts, duplicates=len(deliveries) - 1)
    assert "is unavailable" not in cluster.logs()  # each replica asked Redis, none fell back
    # the keys a question is known by are in Redis, for the ten minutes Slack may retry
    client = cluster.redis.client()
    assert client.exists(f"pressbot:dedupe:message:C1:{ts}") and client.ttl(f"pressbot:dedupe:message:C1:{ts}") > 590


def test_duplicates_racing_on_all_replicas_get_one_answer(cluster: Cluster) -> None:
    for channel, dm in (("C2", False), ("C3", False), ("D1", True)):
        ts, deliveries = question_deliveries(channel, dm=dm)
        start = threading.Barrier(len(deliveries))

        def send(i: int, payload: dict[str, Any], retry: int, start: threading.Barrier) -> None:
            start.wait()
            deliver(cluster.replicas[i % 3], payload, retry)

        threads = [threading.Thread(target=send, args=(i, p, r, start)) for i, (p, r) in enumerate(deliveries)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert_one_answer(cluster, channel, ts, duplicates=len(deliveries) - 1)


# --- the API's rate limit ------------------------------------------------------------------


def test_a_tokens_rate_limit_is_shared_by_the_replicas(cluster: Cluster) -> None:
    auth = {"Authorization": f"Bearer {TOKEN}"}
    replicas = cluster.replicas
    codes = [httpx.get(replicas[i % 3].url + "/v1/stats", headers=auth, timeout=10).status_code
             for i in range(LIMIT)]
    assert codes == [200] * LIMIT  # LIMIT requests spread over three replicas: all pass
    for replica in replicas:  # the next one is refused, whichever replica it reaches
        refused = httpx.get(replica.url + "/v1/stats", headers=auth, timeout=10)
        assert refused.status_code == 429, refused.text
        assert refused.headers["content-type"] == "application/problem+json"
        assert 1 <= int(refused.headers["retry-after"]) <= 60 // LIMIT
    # another token has a bucket of its own
    other = httpx.get(replicas[1].url + "/v1/stats", headers={"Authorization": f"Bearer {OTHER_TOKEN}"}, timeout=10)
    assert other.status_code == 200
    assert "is unavailable" not in cluster.logs()


# --- Redis going away ------------------------------------------------------------------------


def test_the_replicas_keep_answering_when_redis_goes_away(cluster: Cluster) -> None:
    """Last in the module: it stops the cluster's Redis."""
    cluster.redis.stop()
    replica = cluster.replicas[0]
    ts, deliveries = question_deliveries("C4")
    for payload, retry in deliveries:  # all to one replica: its own memory still drops the duplicates
        deliver(replica, payload, retry)
    assert_one_answer(cluster, "C4", ts, duplicates=len(deliveries) - 1)
    auth = {"Authorization": f"Bearer {OTHER_TOKEN}"}
    codes = [httpx.get(r.url + "/v1/stats", headers=auth, timeout=10).status_code for r in cluster.replicas]
    assert codes == [200, 200, 200]  # the API answers too, limited per replica meanwhile
    for r in cluster.replicas:  # each says once what that risks, however many requests it served since
        warnings = [line for line in r.log.read_text().splitlines() if "WARNING bot.shared_state" in line]
        assert len(warnings) == 1, warnings
        assert "in-process state" in warnings[0] and "answered twice" in warnings[0]
        assert "its own API rate limit" in warnings[0]
