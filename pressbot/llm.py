"""The LLM answerer: the configured chat model drafts an answer from the retrieved releases.

    build_chat_model(settings) -> BaseChatModel     the composition root's one call; no network
    answer_messages(question, passages, window=) -> [system, human] messages
    draft_answer(chat_model, question, passages, window=) -> str      "" when it cannot answer
    stream_draft(chat_model, question, passages, window=) -> Iterator[str]   pieces as produced
    clean_draft(text) -> str                        what draft_answer does to the model's reply

The releases go into the prompt as numbered, delimited DATA (`<release n=.. title=.. date=..>`);
a release that carries the delimiter itself cannot close its block early. The draft cites them
as [n]; `pressbot.citations.check_answer` verifies every sentence afterwards, so whatever a
model invents or is talked into by a planted release is dropped there, not trusted here.
Provider failures (connection refused, bad key, timeouts, unknown model) become `LLMError`
naming the model, the endpoint and the fix.
"""

from __future__ import annotations

import html
import logging
import re
import time
from collections.abc import Iterator
from typing import TypedDict

import httpx
from langchain.chat_models import init_chat_model
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage

from pressbot.answerer import Draft, Question
from pressbot.citations import CITATION_MARK, parse_draft
from pressbot.config import Settings
from pressbot.errors import ConfigError, LLMError, PressbotError
from pressbot.prompts import render, render_chat
from pressbot.sentence_vectors import VectorCache
from pressbot.sentences import split_sentences
from pressbot.types import Passage

log = logging.getLogger(__name__)

NOT_FOUND = "I cannot find the answer in these releases."
LOCAL_API_KEY = "not-needed"  # OpenAI-compatible local servers (llama.cpp, vLLM) ignore the key
TIMEOUT_S = 120.0
MAX_RETRIES = 2
EXAMPLES = (
    "e.g. PRESSBOT_LLM=openai:gpt-4o-mini, anthropic:claude-sonnet-4-5 or ollama:llama3.1; for an "
    "OpenAI-compatible server (llama.cpp, vLLM) PRESSBOT_LLM=openai:MODEL with "
    "PRESSBOT_LLM_BASE_URL=http://127.0.0.1:8080/v1"
)
# providers whose LangChain class takes timeout/max_retries; others keep their defaults
_TIMEOUT_PROVIDERS = {"openai", "azure_openai", "anthropic"}
_NO_KEY_PROVIDERS = {"ollama"}

# "</release>" or "<release n=9>" inside release text or a title would end or forge a block
_DELIMITER = re.compile(r"<(\s*/?\s*releases?\b)", re.IGNORECASE)
_THINK = re.compile(r"<think>.*?(?:</think>|\Z)", re.DOTALL | re.IGNORECASE)
_NAMED_MARK = re.compile(r"\[\s*(?:release|source|doc(?:ument)?)\s*#?\s*(\d+)\s*\]", re.IGNORECASE)
_REFUSAL = re.compile(
    r"^\W*(?:i\s+(?:cannot|can\s*not|can't|could\s*not|couldn't|am\s+unable\s+to|was\s+unable\s+to|did\s+not|"
    r"didn't)\s+find|i\s+(?:do\s+not|don't)\s+know|(?:the|these)\s+(?:provided\s+)?releases?\s+(?:do|does)\s+not\s+"
    r"(?:contain|hold|mention|say|include|provide|state|answer)|there\s+is\s+no\s+(?:relevant\s+)?information|"
    r"no\s+(?:relevant\s+)?information)",
    re.IGNORECASE,
)


# --- building the model ----------------------------------------------------------------------


def _base_url(value: str | None) -> str | None:
    if not value:
        return None
    try:
        url = httpx.URL(value.strip())
    except httpx.InvalidURL:
        url = None
    if url is None or url.scheme not in ("http", "https") or not url.host:
        raise ConfigError(f"PRESSBOT_LLM_BASE_URL={value!r} is not an http(s) URL; use e.g. http://127.0.0.1:8080/v1")
    return str(url)


class _ChatOptions(TypedDict, total=False):
    """The keyword arguments build_chat_model passes on to the provider's chat model class."""

    temperature: float
    base_url: str
    api_key: str
    timeout: float
    max_retries: int


def build_chat_model(settings: Settings) -> BaseChatModel:
    """The chat model PRESSBOT_LLM names, configured from Settings. Builds clients only: no request is sent."""
    spec = (settings.llm or "").strip()
    provider, sep, model = spec.partition(":")
    provider, model = provider.strip().lower().replace("-", "_"), model.strip()
    base_url = _base_url(settings.llm_base_url)
    if not sep and spec and base_url:
        provider, model = "openai", spec  # a bare model name on an OpenAI-compatible server
    if not provider or not model:
        raise ConfigError(f"PRESSBOT_LLM={spec!r} is not provider:model; {EXAMPLES}")

    # typed keys, so init_chat_model resolves to its fixed-model overload (-> BaseChatModel)
    kwargs: _ChatOptions = {"temperature": settings.llm_temperature}
    if base_url:
        kwargs["base_url"] = base_url
    key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else None
    if provider == "openai" and base_url and not key:
        key = LOCAL_API_KEY
    if key and provider not in _NO_KEY_PROVIDERS:
        kwargs["api_key"] = key
    if provider in _TIMEOUT_PROVIDERS:
        kwargs.update({"timeout": TIMEOUT_S, "max_retries": MAX_RETRIES})

    try:
        chat = init_chat_model(model, model_provider=provider, **kwargs)
    except ImportError as exc:
        found = re.search(r"requires the ([\w.-]+) package", str(exc))
        package = found.group(1) if found else f"langchain-{provider.replace('_', '-')}"
        raise ConfigError(
            f"PRESSBOT_LLM={spec!r} needs the {package} package, which is not installed: pip install {package}"
        ) from None
    except ValueError as exc:
        if "provider" in str(exc).lower():
            raise ConfigError(f"PRESSBOT_LLM={spec!r}: unknown provider {provider!r}; {EXAMPLES}") from None
        raise ConfigError(f"PRESSBOT_LLM={spec!r}: {exc}") from None
    except Exception as exc:  # provider SDKs raise their own kinds, e.g. openai.OpenAIError for a missing key
        hint = (
            "set PRESSBOT_LLM_API_KEY"
            if re.search(r"api[_ ]?key|credential", str(exc), re.IGNORECASE)
            else "check PRESSBOT_LLM, PRESSBOT_LLM_BASE_URL and PRESSBOT_LLM_API_KEY"
        )
        raise ConfigError(f"cannot set up the chat model PRESSBOT_LLM={spec!r} ({exc}); {hint}") from None
    log.info("chat model %s:%s%s", provider, model, f" at {base_url}" if base_url else "")
    return chat


# --- the prompt --------------------------------------------------------------------------------


def _neutralise(text: str) -> str:
    return _DELIMITER.sub(r"&lt;\1", text)


def release_block(n: int, passage: Passage) -> str:
    """One release as delimited data; its own text cannot open or close a release block."""
    return render(
        "release",
        n=str(n),
        title=html.escape(passage.title, quote=True),
        date=passage.date.isoformat() if passage.date else "undated",
        text=_neutralise(passage.text.strip()),
    ).strip()


def answer_messages(question: str, passages: list[Passage], *, window: str = "") -> list[BaseMessage]:
    """The system and human messages of an answer, releases numbered 1.. in the order given."""
    releases = "\n\n".join(release_block(n, p) for n, p in enumerate(passages, 1))
    return render_chat(
        "answer",
        question=question.strip(),
        releases=releases,
        window=window or "all dates",
        not_found=NOT_FOUND,
    )


# --- the reply ---------------------------------------------------------------------------------


def _strip_think(text: str) -> str:
    # reasoning models served locally (qwen3, deepseek-r1) write their thinking inline
    return _THINK.sub("", text)


def clean_draft(text: str) -> str:
    """The draft the citation check gets: thinking removed, "[Release 2]" as "[2]", and "" when
    the model says it cannot find the answer (uncited refusal sentences are dropped)."""
    text = _NAMED_MARK.sub(r"[\1]", _strip_think(text)).strip()
    sentences = split_sentences(text)
    kept = [s for s in sentences if CITATION_MARK.search(s) or not _REFUSAL.match(s)]
    return text if len(kept) == len(sentences) else " ".join(kept)


def _describe(chat_model: BaseChatModel) -> tuple[str, str]:
    model = getattr(chat_model, "model_name", None) or getattr(chat_model, "model", None)
    base = next(
        (str(v) for a in ("openai_api_base", "anthropic_api_url", "base_url") if (v := getattr(chat_model, a, None))),
        "the provider's default endpoint",
    )
    return str(model or type(chat_model).__name__), base


def _llm_error(exc: Exception, chat_model: BaseChatModel) -> LLMError:
    model, base = _describe(chat_model)
    kinds = {c.__name__ for c in type(exc).__mro__}
    status = getattr(exc, "status_code", None) or getattr(getattr(exc, "response", None), "status_code", None)
    if kinds & {"APITimeoutError", "TimeoutException", "TimeoutError"}:
        what = "timed out; the server is slow or overloaded: retry, or use a smaller or faster model"
    elif kinds & {"APIConnectionError", "ConnectError", "ConnectionError"}:
        what = f"cannot connect to {base}; start the server there, or point PRESSBOT_LLM_BASE_URL at a running one"
    elif status in (401, 403) or kinds & {"AuthenticationError", "PermissionDeniedError"}:
        what = f"{base} refused the API key; set PRESSBOT_LLM_API_KEY to a valid key"
    elif status == 404 or "NotFoundError" in kinds:
        what = (
            f"{base} does not serve model {model!r}; check the model name in PRESSBOT_LLM, and that "
            "PRESSBOT_LLM_BASE_URL ends in /v1 for an OpenAI-compatible server"
        )
    elif status == 429 or "RateLimitError" in kinds:
        what = "rate limited or out of quota; wait and retry, or check the account's quota"
    else:
        what = "failed; check PRESSBOT_LLM, PRESSBOT_LLM_BASE_URL and PRESSBOT_LLM_API_KEY"
    detail = " ".join(str(exc).split())[:300]
    return LLMError(f"chat model {model!r} at {base}: {what} ({type(exc).__name__}: {detail})")


def draft_answer(chat_model: BaseChatModel, question: str, passages: list[Passage], *, window: str = "") -> str:
    """The model's answer citing passages as [n]; "" when there is nothing to answer from or it cannot."""
    if not passages:
        return ""
    messages = answer_messages(question, passages, window=window)
    t0 = time.perf_counter()
    try:
        reply = chat_model.invoke(messages)
    except PressbotError:
        raise
    except Exception as exc:
        raise _llm_error(exc, chat_model) from exc
    draft = clean_draft(reply.text)
    log.debug("draft in %.0f ms: %r", (time.perf_counter() - t0) * 1e3, draft)
    return draft


def stream_draft(
    chat_model: BaseChatModel, question: str, passages: list[Passage], *, window: str = ""
) -> Iterator[str]:
    """The model's answer as it is produced (thinking left out). Pass the joined pieces through
    `clean_draft`, then the citation check: the pieces are a preview, not the checked answer."""
    if not passages:
        return
    messages = answer_messages(question, passages, window=window)
    raw, shown = "", 0
    try:
        for chunk in chat_model.stream(messages):
            raw += chunk.text
            visible = _strip_think(raw)
            # hold back a tail that may be the start of "<think>"
            hold = next((k for k in range(min(len(visible), 6), 0, -1) if "<think>".startswith(visible[-k:])), 0)
            upto = len(visible) - hold
            if upto > shown:
                yield visible[shown:upto]
                shown = upto
    except PressbotError:
        raise
    except Exception as exc:
        raise _llm_error(exc, chat_model) from exc
    visible = _strip_think(raw)
    if len(visible) > shown:
        yield visible[shown:]


class LLMAnswerer:
    """The chat model as an `Answerer`: its text, cleaned, parsed once into statements (the
    citation check then verifies each one); its confidence is the share the check keeps."""

    previews = True

    def __init__(self, chat_model: BaseChatModel) -> None:
        self.chat_model = chat_model

    def drafts(
        self, question: Question, passages: list[Passage], cache: VectorCache, *, stream: bool = False
    ) -> Iterator[str | Draft]:
        if stream:
            pieces: list[str] = []
            for piece in stream_draft(self.chat_model, question.text, passages, window=question.window):
                pieces.append(piece)
                yield piece
            text = clean_draft("".join(pieces))
        else:
            text = draft_answer(self.chat_model, question.text, passages, window=question.window)
        yield Draft(parse_draft(text))
