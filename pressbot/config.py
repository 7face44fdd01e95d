"""Settings: one pydantic-settings class, env prefix PRESSBOT_, `.env` for development.

Every setting is documented in the README's table. Build it once in an entry point
(`get_settings()`); library code receives it as an argument.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from pressbot.errors import ConfigError

DEFAULT_MODEL = "all-MiniLM-L6-v2"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="PRESSBOT_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    # --- index -------------------------------------------------------------------------
    data_dir: Path = Field(Path(".pressbot"), description="Where the embedded Chroma and the lexical index live.")
    chroma_url: str | None = Field(
        None, description="A Chroma server (e.g. http://127.0.0.1:8001); embedded when unset."
    )
    collection: str = Field("pressbot", description="Chroma collection name.")
    lexical_snapshots: str | None = Field(
        None,
        description="Where the ingest job publishes snapshots of the lexical copy (a directory) and new replicas "
        "fetch them (that directory, or an http(s) URL serving it); unset: a replica builds its copy from Chroma.",
    )

    # --- embeddings and chunking ---------------------------------------------------------
    embedding_model: str = Field(DEFAULT_MODEL, description="Any sentence-transformers model name or path.")
    embedding_backend: Literal["torch", "onnx", "onnx-int8"] = Field(
        "onnx-int8",
        description="How the model runs: onnx-int8 (quantised with ONNX Runtime, exported offline from the local "
        "weights: ~3.7x torch's speed, same golden-set quality; recorded as another model name); onnx (float32, "
        "same vectors as torch); torch.",
    )
    embedding_cache_dir: Path | None = Field(
        None, description="Where ONNX exports of the model are kept; ~/.cache/pressbot/onnx when unset."
    )
    embedding_device: str = Field("cpu", description="torch device for the embedding model.")
    embedding_batch_size: int = Field(64, ge=1, le=4096, description="Chunks per encode batch.")
    query_prefix: str | None = Field(None, description="Prefix for queries; auto ('query: ') for e5 models.")
    passage_prefix: str | None = Field(None, description="Prefix for passages; auto ('passage: ') for e5 models.")
    chunk_tokens: int = Field(
        160, ge=16, le=8192, description="Target chunk size in model tokens (capped by the model's limit)."
    )
    chunk_overlap_sentences: int = Field(1, ge=0, le=10, description="Sentences repeated between neighbouring chunks.")

    # --- ingest ------------------------------------------------------------------------
    writer_lease_s: float = Field(
        30.0, ge=2, description="Lease of an ingest writing to a Chroma server: another may take over when it expires."
    )
    max_file_mb: float = Field(20.0, gt=0, description="Files larger than this are skipped as oversized.")
    fetch_timeout_s: float = Field(20.0, gt=0, description="Timeout of one HTTP fetch.")
    fetch_deadline_s: float = Field(
        30.0, gt=0, description="Most time one URL may take, retries included; a slower one is skipped."
    )
    fetch_retries: int = Field(3, ge=0, le=10, description="Retries (with backoff) of a failed fetch.")
    fetch_concurrency: int = Field(4, ge=1, le=64, description="Pages fetched at once.")
    fetch_robots: bool = Field(True, description="Obey each site's robots.txt when fetching URLs.")
    user_agent: str = Field("pressbot/0.1 (+https://github.com/pressbot)", description="User agent sent when fetching.")

    # --- answering ---------------------------------------------------------------------
    k: int = Field(5, ge=1, le=50, description="Releases given to the answerer.")
    llm: str | None = Field(None, description="LangChain chat model, e.g. openai:gpt-4o-mini; extractive when unset.")
    llm_base_url: str | None = Field(None, description="Base URL of an OpenAI-compatible server (llama.cpp, vLLM).")
    llm_api_key: SecretStr | None = Field(None, description="API key for the chat model, if it needs one.")
    llm_temperature: float = Field(0.0, ge=0, le=2, description="Sampling temperature of the chat model.")
    glossary: bool = Field(
        True,
        description="Search a Spanish question also in English, with pressbot/glossary_es_en.toml (off: ablations).",
    )
    abstain_threshold: float = Field(
        0.42,
        description="Evidence score (see pressbot/extractive.py) below which the extractive answerer does not answer.",
    )
    outcome_decider: Literal["threshold", "fitted"] = Field(
        "threshold",
        description="What decides to answer: the evidence threshold, or the fitted model (outcome_model.json).",
    )
    rules_off: Annotated[frozenset[str], NoDecode] = Field(
        default_factory=frozenset,
        description="Answerer rules switched off (comma-separated names from pressbot/rules.py), for ablations.",
    )

    lexical_backend: Literal["store", "tantivy"] = Field(
        "store",
        description="The lexical index: the BM25 store (lexical_store.py) or tantivy (lexical_tantivy.py).",
    )

    # --- API ---------------------------------------------------------------------------
    api_tokens: Annotated[list[SecretStr], NoDecode] = Field(
        default_factory=list, description="Bearer tokens accepted by the API (JSON list or comma-separated)."
    )
    api_rate_limit: int = Field(60, ge=1, description="Requests per minute per token.")
    trusted_proxies: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Addresses whose X-Forwarded-For the API believes (comma-separated; none by default).",
    )
    allowed_hosts: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Host headers the API answers (comma-separated, e.g. pressbot.example.org); any when empty.",
    )
    redis_url: str | None = Field(
        None,
        description="Redis (e.g. redis://127.0.0.1:6379/0) holding the state replicas share: Slack event dedupe "
        "and the API rate limits; in-process when unset.",
    )

    # --- Slack -------------------------------------------------------------------------
    slack_bot_token: SecretStr | None = Field(
        None, validation_alias=AliasChoices("PRESSBOT_SLACK_BOT_TOKEN", "SLACK_BOT_TOKEN"), description="xoxb- token."
    )
    slack_app_token: SecretStr | None = Field(
        None,
        validation_alias=AliasChoices("PRESSBOT_SLACK_APP_TOKEN", "SLACK_APP_TOKEN"),
        description="xapp- token (Socket Mode).",
    )
    slack_signing_secret: SecretStr | None = Field(
        None,
        validation_alias=AliasChoices("PRESSBOT_SLACK_SIGNING_SECRET", "SLACK_SIGNING_SECRET"),
        description="Signing secret (HTTP mode).",
    )
    slack_api_url: str = Field("https://slack.com/api/", description="Slack Web API base URL (a stand-in for tests).")
    feedback_db: Path | None = Field(
        None, description="SQLite file for answer feedback; <data_dir>/feedback.sqlite3 when unset."
    )

    torch_threads: int | None = Field(
        None,
        ge=1,
        le=256,
        description="CPU threads of the embedding model; unset: 1 when answering (one question per thread), "
        "torch's default when ingesting.",
    )

    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        "INFO", description="Log level of the entry points."
    )

    @field_validator("api_tokens", "trusted_proxies", "allowed_hosts", mode="before")
    @classmethod
    def _split_list(cls, value: object) -> object:
        # a JSON list or a comma-separated string, from the environment or .env
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                import json

                return json.loads(text)
            return [t.strip() for t in text.split(",") if t.strip()]
        return value

    @field_validator("rules_off", mode="before")
    @classmethod
    def _known_rules(cls, value: object) -> frozenset[str]:
        from pressbot.rules import rules_off

        names = value.split(",") if isinstance(value, str) else [str(v) for v in value or ()]  # type: ignore[attr-defined]
        try:
            return rules_off(names)
        except ConfigError as exc:
            raise ValueError(str(exc)) from None

    @field_validator("redis_url")
    @classmethod
    def _redis_scheme(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            return None
        if value is not None and not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("a Redis URL starts with redis://, rediss:// or unix://, e.g. redis://127.0.0.1:6379/0")
        return value

    @property
    def chroma_path(self) -> Path:
        return self.data_dir / "chroma"

    @property
    def lexical_path(self) -> Path:
        if self.lexical_backend == "tantivy":
            return self.data_dir / "lexical" / f"{self.collection}.tantivy"
        return self.data_dir / "lexical" / self.collection

    @property
    def sentence_vectors_path(self) -> Path:
        return self.data_dir / "sentence-vectors" / f"{self.collection}.sqlite3"


def load_settings(**overrides: object) -> Settings:
    """Build Settings, turning validation errors into a ConfigError that names the variable."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            name = "PRESSBOT_" + "_".join(str(p) for p in err["loc"]).upper()
            problems.append(f"{name}: {err['msg']} (got {err.get('input')!r})")
        raise ConfigError("invalid settings: " + "; ".join(problems)) from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()
