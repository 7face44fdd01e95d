"""`pressbot serve` facing misbehaving clients, as a real server on 127.0.0.1: oversized headers
get 431 without stalling others, silent connections are closed, X-Forwarded-For counts only from
trusted proxies, failed token attempts are limited per address, query strings stay out of the
access log, and PRESSBOT_ALLOWED_HOSTS limits the Host headers answered."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from bot.api_server import IDLE_TIMEOUT_S, MAX_HEADER_BYTES
from tests.integration.test_api_server import Server

ROOT = Path(__file__).resolve().parents[2]
PRESSBOT = str(Path(sys.executable).with_name("pressbot"))
TOKEN = "hardening-token-5f1c9e"
HASH = {"PRESSBOT_EMBEDDING_MODEL": "hash-64", "HF_HUB_OFFLINE": "1"}


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PRESSBOT_", "SLACK_"))}
    return {**env, **HASH, **extra}


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("hardening")
    (root / "a.md").write_text("---\ntitle: Measure\n---\n\nThe office announced measure one on border policy.\n")
    subprocess.run([PRESSBOT, "--data-dir", str(root / "data"), "ingest", str(root / "a.md")], check=True,
                   capture_output=True, env=_env(), cwd=ROOT, timeout=120)
    return root / "data"


def Serve(data: Path, log: Path, **env: str) -> Server:  # noqa: N802 - reads as the class it makes
    """A ready `pressbot -v serve` (the access log on) over the hash-model index, with a token."""
    srv = Server(data, log, cli_args=("-v",), PRESSBOT_API_TOKENS=TOKEN, PRESSBOT_EMBEDDING_MODEL="hash-64", **env)
    srv.wait("/readyz")
    return srv


@pytest.fixture(scope="module")
def server(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = Serve(data_dir, tmp_path_factory.mktemp("log") / "serve.log", PRESSBOT_API_RATE_LIMIT="3")
    yield srv
    srv.stop()


def test_oversized_headers_get_431_and_other_clients_are_served(server: Server) -> None:
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as big:
        big.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * (MAX_HEADER_BYTES * 4))
        started = time.monotonic()
        assert httpx.get(server.url + "/healthz", timeout=5).status_code == 200  # not stalled
        reply = big.recv(200)
    assert reply.startswith(b"HTTP/1.1 431 "), reply
    assert time.monotonic() - started < 5
    assert httpx.get(server.url + "/healthz", headers={"X-Small": "a" * 4000}).status_code == 200


def test_a_connection_that_sends_nothing_is_closed(server: Server) -> None:
    with socket.create_connection(("127.0.0.1", server.port), timeout=IDLE_TIMEOUT_S + 10) as idle:
        started = time.monotonic()
        assert idle.recv(10) == b""  # closed by the server
        assert time.monotonic() - started <= IDLE_TIMEOUT_S + 3


def test_failed_token_attempts_are_limited_per_address_whatever_x_forwarded_for_says(server: Server) -> None:
    codes = [httpx.post(server.url + "/v1/search", json={"question": "border"}, timeout=10,
                        headers={"Authorization": "Bearer wrong", "X-Forwarded-For": f"10.0.0.{i}"}).status_code
             for i in range(5)]
    assert codes[:3] == [401, 401, 401] and codes[3:] == [429, 429], codes  # one budget: the peer's


def test_x_forwarded_for_counts_from_a_trusted_proxy(data_dir: Path, tmp_path: Path) -> None:
    srv = Serve(data_dir, tmp_path / "serve.log", PRESSBOT_API_RATE_LIMIT="3", PRESSBOT_TRUSTED_PROXIES="127.0.0.1")
    try:
        def attempt(client: str) -> int:
            return httpx.post(srv.url + "/v1/search", json={"question": "border"}, timeout=10,
                              headers={"Authorization": "Bearer wrong", "X-Forwarded-For": client}).status_code
        assert [attempt("10.0.0.1") for _ in range(4)] == [401, 401, 401, 429]
        assert attempt("10.0.0.2") == 401  # another client behind the proxy has its own budget
    finally:
        log = srv.stop()
    assert "10.0.0.1" in log  # and the log names the client, not the proxy


def test_query_strings_stay_out_of_the_access_log(data_dir: Path, tmp_path: Path) -> None:
    srv = Serve(data_dir, tmp_path / "serve.log")
    try:
        assert httpx.get(srv.url + "/healthz?token=" + TOKEN).status_code == 200
    finally:
        log = srv.stop()
    assert "GET /healthz?<redacted>" in log
    assert TOKEN not in log


def test_allowed_hosts_limit_the_host_headers_answered(data_dir: Path, tmp_path: Path) -> None:
    srv = Serve(data_dir, tmp_path / "serve.log", PRESSBOT_ALLOWED_HOSTS="127.0.0.1,pressbot.example.org")
    try:
        assert httpx.get(srv.url + "/healthz").status_code == 200
        assert httpx.get(srv.url + "/healthz", headers={"Host": "pressbot.example.org"}).status_code == 200
        assert httpx.get(srv.url + "/healthz", headers={"Host": "evil.example.com"}).status_code == 400
    finally:
        srv.stop()
