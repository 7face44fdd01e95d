"""The LLM answerer through the real langchain-openai client against a fake OpenAI-compatible
server on 127.0.0.1 (what llama.cpp's or vLLM's server speaks): non-streaming JSON, streaming
SSE, errors, and a port nobody listens on."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from pressbot.engine import Engine
from pressbot.errors import LLMError
from pressbot.llm import build_chat_model, draft_answer, stream_draft
from tests.support import build_engine, settings_for

QUESTION = "How much humanitarian assistance will the United States provide to Haiti?"
HAITI = "The United States will provide $15 million in humanitarian assistance to Haiti after the earthquake"


class FakeOpenAI(ThreadingHTTPServer):
    """POST /v1/chat/completions: records each request, answers `reply` (JSON, or SSE when
    the request says stream), or `status` with an OpenAI-style error body when it is set."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.requests: list[dict[str, Any]] = []
        self.reply = ""
        self.status: int | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"


class _Handler(BaseHTTPRequestHandler):
    server: FakeOpenAI

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's name
        pass  # keep the test output clean

    def _json(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:  # noqa: N802 - the stdlib's name
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        body["_authorization"] = self.headers.get("Authorization")
        self.server.requests.append(body)
        if self.path != "/v1/chat/completions":
            return self._json(404, {"error": {"message": f"no route {self.path}", "type": "invalid_request_error"}})
        if self.server.status:
            return self._json(self.server.status, {"error": {"message": "scripted failure", "type": "server_error"}})
        base = {"id": "chatcmpl-1", "created": 1700000000, "model": body["model"]}
        if not body.get("stream"):
            return self._json(
                200,
                {
                    **base,
                    "object": "chat.completion",
                    "choices": [
                        {
                            "index": 0,
                            "message": {"role": "assistant", "content": self.server.reply},
                            "finish_reason": "stop",
                        }
                    ],
                    "usage": {"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20},
                },
            )
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        words = self.server.reply.split(" ")
        deltas = [{"role": "assistant", "content": ""}] + [
            {"content": w if i == 0 else " " + w} for i, w in enumerate(words)
        ]
        for i, delta in enumerate(deltas + [{}]):
            finish = "stop" if i == len(deltas) else None
            chunk = {
                **base,
                "object": "chat.completion.chunk",
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            }
            self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
            self.wfile.flush()
        self.wfile.write(b"data: [DONE]\n\n")


@pytest.fixture(scope="module")
def server() -> Iterator[FakeOpenAI]:
    srv = FakeOpenAI()
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()
    thread.join(timeout=5)


@pytest.fixture()
def fresh(server: FakeOpenAI) -> FakeOpenAI:
    server.requests.clear()
    server.reply, server.status = "", None
    return server


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory, server: FakeOpenAI) -> Engine:
    eng = build_engine(tmp_path_factory.mktemp("openai"), abstain_threshold=0.0)
    eng.settings = eng.settings.model_copy(update={"llm": "openai:fake-model", "llm_base_url": server.base_url})
    eng.chat_model = build_chat_model(eng.settings)
    return eng


def test_the_engine_answers_through_the_openai_client(engine: Engine, fresh: FakeOpenAI):
    passages = engine.search(QUESTION).passages
    assert passages[0].release_id == "wh-haiti"
    fresh.reply = f"{HAITI} [1]. It was funded by a $99 million loan [1]."
    ans = engine.answer(QUESTION)

    assert not ans.abstained
    assert ans.answer == f"{HAITI}. [1]"  # the invented loan did not survive the check
    assert [(c.n, c.release_id) for c in ans.citations] == [(1, "wh-haiti")]
    (req,) = fresh.requests
    assert req["model"] == "fake-model" and req["temperature"] == 0.0 and not req.get("stream")
    assert req["_authorization"] == "Bearer not-needed"
    system, user = req["messages"]
    assert system["role"] == "system" and "untrusted DATA" in system["content"]
    assert user["role"] == "user" and QUESTION in user["content"]
    for n, p in enumerate(passages, 1):
        date = p.date.isoformat() if p.date else "undated"
        assert f'<release n="{n}" title="{p.title}" date="{date}">' in user["content"]
    assert user["content"].count("</release>") == len(passages)


def test_the_model_saying_it_cannot_find_it_abstains(engine: Engine, fresh: FakeOpenAI):
    fresh.reply = "I cannot find the answer in these releases."
    ans = engine.answer("Who won the 1998 football world cup?")
    assert ans.abstained and len(fresh.requests) == 1


def test_streaming_yields_pieces_over_sse(engine: Engine, fresh: FakeOpenAI):
    passages = engine.search(QUESTION).passages
    fresh.reply = f"{HAITI} [1]."
    pieces = list(stream_draft(engine.chat_model, QUESTION, passages))
    assert len(pieces) == len(fresh.reply.split(" "))
    assert "".join(pieces) == fresh.reply
    assert fresh.requests[0]["stream"] is True


@pytest.mark.parametrize(
    ("status", "says"), [(401, "PRESSBOT_LLM_API_KEY"), (404, "does not serve model 'fake-model'")]
)
def test_server_errors_become_llm_errors(engine: Engine, fresh: FakeOpenAI, status: int, says: str):
    fresh.status = status
    with pytest.raises(LLMError, match=says) as info:
        draft_answer(engine.chat_model, QUESTION, engine.search(QUESTION).passages)
    assert fresh.base_url in str(info.value)


def test_connection_refused_is_a_clear_llm_error(engine: Engine, tmp_path: Path):
    with socket.socket() as s:  # a port that was free a moment ago: nothing listens there
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    base = f"http://127.0.0.1:{port}/v1"
    chat = build_chat_model(settings_for(tmp_path, llm="openai:fake-model", llm_base_url=base))
    with pytest.raises(LLMError, match="cannot connect") as info:
        draft_answer(chat, QUESTION, engine.search(QUESTION).passages)
    message = str(info.value)
    assert "'fake-model'" in message and base in message and "PRESSBOT_LLM_BASE_URL" in message
