"""PRESSBOT_REDIS_URL: checked when the settings load; unset, dedupe and rate limits stay in-process."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.api_security import RateLimiter, make_rate_limiter
from bot.shared_state import redacted
from bot.slack_dedupe import Deduper, make_deduper
from pressbot.config import load_settings
from pressbot.errors import ConfigError
from tests.support import settings_for


def test_unset_keeps_everything_in_this_process(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    assert settings.redis_url is None
    assert type(make_deduper(settings)) is Deduper
    assert type(make_rate_limiter(settings)) is RateLimiter


@pytest.mark.parametrize("url", ["http://127.0.0.1:6379", "127.0.0.1:6379", "redis:/host"])
def test_a_url_that_is_not_redis_is_refused_by_name(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PRESSBOT_REDIS_URL", url)
    with pytest.raises(ConfigError, match=r"PRESSBOT_REDIS_URL: .*redis://, rediss:// or unix://"):
        load_settings(_env_file=None)


def test_an_empty_url_means_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PRESSBOT_REDIS_URL", "  ")
    assert load_settings(_env_file=None).redis_url is None
    monkeypatch.setenv("PRESSBOT_REDIS_URL", "rediss://cache.internal:6380/2")
    assert load_settings(_env_file=None).redis_url == "rediss://cache.internal:6380/2"


def test_logs_name_redis_without_its_password() -> None:
    assert redacted("redis://:s3cret@cache:6379/0") == "redis://cache:6379/0"
    assert redacted("rediss://user:pw@10.0.0.5:6380") == "rediss://10.0.0.5:6380"
    assert redacted("redis://127.0.0.1:6379/0") == "redis://127.0.0.1:6379/0"
