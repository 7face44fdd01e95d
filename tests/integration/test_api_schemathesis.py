"""Property-based tests of the HTTP API against its own OpenAPI schema (schemathesis).

For every operation, generated requests (valid ones, and invalid ones) must never get a 5xx,
and every response must match the schema: status codes, content types, headers and bodies.
Bearer tokens are on, so schemathesis also checks that requests without one are refused.
Every check schemathesis has runs (`ALL_CHECKS`), not only those its configuration enables.
Examples are bounded so the module runs in well under a minute.

(schemathesis' lazy `from_fixture` loader sets `request.node._nodeid`, which pytest 9 no
longer has, so each operation's strategy is driven with Hypothesis' `@given` here.)
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, assume, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import CHECKS, load_all_checks

from bot.api import create_app
from tests.support import build_engine

TOKEN = "schemathesis-token-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
WITH_INPUT = ["POST /v1/ask", "POST /v1/search", "GET /v1/releases/{release_id}"]  # negative data needs input
load_all_checks()
ALL_CHECKS = CHECKS.get_all()
OPERATIONS = [
    "POST /v1/ask",
    "POST /v1/search",
    "GET /v1/releases/{release_id}",
    "GET /v1/stats",
    "GET /healthz",
    "GET /readyz",
    "GET /metrics",
]


@pytest.fixture(scope="module")
def api_schema(tmp_path_factory: pytest.TempPathFactory) -> schemathesis.BaseSchema:
    tmp: Path = tmp_path_factory.mktemp("schemathesis")
    # a generous rate limit: the point here is the schema; the limiter has its own tests
    engine = build_engine(tmp, abstain_threshold=0.0, api_tokens=[TOKEN], api_rate_limit=1_000_000)
    return schemathesis.openapi.from_asgi("/openapi.json", create_app(engine.settings, engine))


def test_every_operation_is_covered(api_schema: schemathesis.BaseSchema) -> None:
    assert sorted(result.ok().label for result in api_schema.get_all_operations()) == sorted(OPERATIONS)


def test_all_checks_means_every_builtin_check() -> None:
    names = {check.__name__ for check in ALL_CHECKS}
    assert names >= {"not_a_server_error", "status_code_conformance", "content_type_conformance",
                     "response_headers_conformance", "response_schema_conformance", "negative_data_rejection",
                     "positive_data_acceptance", "missing_required_header", "unsupported_method",
                     "allow_header_conformance", "use_after_free", "ensure_resource_availability", "ignored_auth"}


@pytest.mark.parametrize(
    ("label", "mode"),
    [(label, GenerationMode.POSITIVE) for label in OPERATIONS]
    + [(label, GenerationMode.NEGATIVE) for label in WITH_INPUT],
)
def test_operation_conforms_to_the_schema(
    api_schema: schemathesis.BaseSchema, label: str, mode: GenerationMode
) -> None:
    operation = api_schema.find_operation_by_label(label)
    assert operation is not None

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=int(os.environ.get("API_FUZZ_EXAMPLES", "30")),
        deadline=None,
        database=None,  # no .hypothesis/ folder in the work tree
        derandomize=True,  # the same examples every run: CI is reproducible, a failure can be replayed
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    def check(case: schemathesis.Case) -> None:
        if mode is GenerationMode.POSITIVE:
            # the one rule JSON Schema cannot state: since <= until (a reversed window is a 422)
            body = case.body if isinstance(case.body, dict) else {}
            assume(not (body.get("since") and body.get("until") and body["since"] > body["until"]))
        case.call_and_validate(headers=AUTH, checks=ALL_CHECKS)

    check()
