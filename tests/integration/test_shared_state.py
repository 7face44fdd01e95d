"""Slack dedupe and API rate limits in a real Redis (a redis-server the tests start on 127.0.0.1),
as several replicas share them; and what happens when Redis cannot be reached."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.api_security import SharedRateLimiter, make_rate_limiter
from bot.shared_state import SharedState
from bot.slack_dedupe import SharedDeduper, event_keys, make_deduper
from tests.integration.redis_server import RedisServer, free_port
from tests.support import settings_for


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    with RedisServer(tmp_path_factory.mktemp("redis")) as server:
        yield server


@pytest.fixture
def url(redis_server: RedisServer) -> Iterator[str]:
    client = redis_server.client()
    client.flushall()
    client.close()
    yield redis_server.url


def replicas(url: str, n: int = 3) -> list[SharedState]:
    """One SharedState per replica: each its own client and connection pool, as in separate processes."""
    return [SharedState(url) for _ in range(n)]


def keys(event_id: str, channel: str = "C1", ts: str = "1718000000.000100") -> list[str | None]:
    return event_keys({"event_id": event_id}, {"channel": channel, "ts": ts})


# --- dedupe ----------------------------------------------------------------------------------


def test_a_retry_or_a_twin_on_another_replica_is_a_duplicate(url: str) -> None:
    a, b, c = (SharedDeduper(s) for s in replicas(url))
    assert a.first_time(keys("Ev1"))
    assert not b.first_time(keys("Ev1"))  # Slack's retry, on another replica
    assert not c.first_time(keys("Ev2"))  # the message twin of the mention: same channel + ts
    assert c.first_time(keys("Ev3", ts="1718000000.000200"))  # another question
    assert b.first_time(keys("Ev4", channel="C2"))  # the same ts in another channel


def test_keys_expire_after_the_ttl(url: str, redis_server: RedisServer) -> None:
    a, b = (SharedDeduper(s, ttl_s=1) for s in replicas(url, 2))
    assert a.first_time(keys("Ev1"))
    client = redis_server.client()
    stored = sorted(client.keys("pressbot:dedupe:*"))
    assert stored == ["pressbot:dedupe:event:Ev1", "pressbot:dedupe:message:C1:1718000000.000100"]
    assert all(0 < client.pttl(k) <= 1000 for k in stored)
    time.sleep(1.1)
    assert client.keys("pressbot:dedupe:*") == []
    assert b.first_time(keys("Ev1"))  # b never saw it itself, and Redis forgot it


def test_deliveries_racing_on_many_replicas_get_one_answer(url: str) -> None:
    dedupers = [SharedDeduper(s) for s in replicas(url, 8)]
    for round_ in range(20):
        ts = f"1718000001.{round_:06d}"
        # per question: the mention, its retry, the message twin and its retry, on 8 replicas at once
        deliveries = [keys(f"EvM{round_}", ts=ts), keys(f"EvM{round_}", ts=ts),
                      keys(f"EvT{round_}", ts=ts), keys(f"EvT{round_}", ts=ts)] * 2
        start = threading.Barrier(len(dedupers))
        fresh: list[bool] = []

        def deliver(d: SharedDeduper, k: list[str | None], start: threading.Barrier, fresh: list[bool]) -> None:
            start.wait()
            fresh.append(d.first_time(k))

        threads = [threading.Thread(target=deliver, args=(d, k, start, fresh))
                   for d, k in zip(dedupers, deliveries, strict=True)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert fresh.count(True) == 1, (round_, fresh)


def test_the_setting_puts_both_in_redis(url: str, tmp_path: Path) -> None:
    shared = settings_for(tmp_path, redis_url=url)
    assert isinstance(make_deduper(shared), SharedDeduper)
    assert isinstance(make_rate_limiter(shared), SharedRateLimiter)


# --- rate limits -----------------------------------------------------------------------------


def test_one_token_bucket_for_all_replicas(url: str, redis_server: RedisServer) -> None:
    limiters = [SharedRateLimiter(s, per_minute=5) for s in replicas(url)]
    grants = [limiters[i % 3].acquire("token:abc") for i in range(5)]
    assert grants == [None] * 5
    waits = [limiter.acquire("token:abc") for limiter in limiters]
    assert all(w is not None and 0 < w <= 12.0 for w in waits), waits  # one token per 12 s
    assert limiters[1].acquire("token:other") is None  # callers have buckets of their own
    assert limiters[2].acquire("ip:10.0.0.7") is None
    ttl = redis_server.client().pttl("pressbot:rate:token:abc")
    assert 0 < ttl <= 61_000  # a bucket is forgotten once it would be full again


def test_the_shared_bucket_refills(url: str) -> None:
    # one token per 2 s: emptying the bucket takes far less than one token's refill, even on a busy machine
    a, b = (SharedRateLimiter(s, per_minute=30) for s in replicas(url, 2))
    for i in range(30):
        assert (a if i % 2 else b).acquire("token:fast") is None
    wait = a.acquire("token:fast")
    assert wait is not None and 0 < wait <= 2.0
    time.sleep(wait + 0.1)
    assert b.acquire("token:fast") is None  # refilled by Redis's clock, whichever replica asks


def test_concurrent_requests_never_exceed_the_limit(url: str) -> None:
    limiters = [SharedRateLimiter(s, per_minute=30) for s in replicas(url, 6)]
    start = threading.Barrier(6)
    granted: list[bool] = []

    def burst(limiter: SharedRateLimiter) -> None:
        start.wait()
        for _ in range(10):
            granted.append(limiter.acquire("token:burst") is None)

    threads = [threading.Thread(target=burst, args=(limiter,)) for limiter in limiters]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert granted.count(True) == 30  # 60 requests in well under 2 s: the 30 of the bucket, no more


# --- Redis unreachable -----------------------------------------------------------------------


def warnings_of(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "bot.shared_state" and r.levelno >= logging.WARNING]


def test_redis_down_falls_back_to_this_process_and_logs_once(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    shared = SharedState(f"redis://:hunter2-secret@127.0.0.1:{free_port()}/0", pause_s=0.05)  # nothing listens
    deduper, limiter = SharedDeduper(shared), SharedRateLimiter(shared, per_minute=3)
    t0 = time.monotonic()
    for round_ in range(5):
        assert deduper.first_time(keys(f"Ev{round_}", ts=f"1.{round_}"))  # in-process: still exactly once
        assert not deduper.first_time(keys(f"Ev{round_}", ts=f"1.{round_}"))
        time.sleep(0.06)  # past the pause: Redis is tried again, and fails again
    assert [limiter.acquire("token:x") for _ in range(3)] == [None] * 3
    assert limiter.acquire("token:x") is not None  # this process's own bucket
    assert time.monotonic() - t0 < 3  # a refused connection costs no waiting
    assert not shared.available
    [warning] = warnings_of(caplog)
    assert "is unavailable" in warning and "127.0.0.1" in warning
    assert "answered twice" in warning and "rate limit" in warning  # what it risks
    assert "hunter2" not in caplog.text  # never the password


def test_redis_going_away_and_coming_back(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    server = RedisServer(tmp_path / "redis").start()
    try:
        a, b = (SharedState(server.url, pause_s=0.1) for _ in range(2))
        da, db = SharedDeduper(a), SharedDeduper(b)
        assert da.first_time(keys("Ev1")) and not db.first_time(keys("Ev1"))
        server.stop()
        assert da.first_time(keys("Ev2", ts="2.0"))  # answered from this process's memory
        assert not da.first_time(keys("Ev2", ts="2.0"))
        assert db.first_time(keys("Ev3", ts="3.0")) and not db.first_time(keys("Ev3", ts="3.0"))
        server = RedisServer(tmp_path / "redis", port=server.port).start()
        time.sleep(0.15)
        assert da.first_time(keys("Ev4", ts="4.0")) and not db.first_time(keys("Ev4", ts="4.0"))  # shared again
        assert a.available and b.available
    finally:
        server.stop()
    assert len(warnings_of(caplog)) == 2  # one per process (here: per SharedState), not one per event
    assert caplog.text.count("is reachable again") == 2
