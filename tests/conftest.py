"""Shared test set-up: unit tests run with the network disabled; integration tests may reach
127.0.0.1 only. Nothing here downloads anything (HF_HUB_OFFLINE)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import pytest_socket

from tests.model_free import install as install_model_free

ROOT = Path(__file__).resolve().parents[1]
# processes the tests start get the model-free stand-in for hash-N too (tests/model_free.py)
os.environ["PYTHONPATH"] = os.pathsep.join(
    [str(ROOT / "tests" / "hooks"), str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]
)
install_model_free()

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")


@pytest.fixture(autouse=True)
def _network_rules(request: pytest.FixtureRequest):
    path = str(request.node.path)
    if f"{os.sep}unit{os.sep}" in path:
        pytest_socket.disable_socket(allow_unix_socket=True)
    else:
        pytest_socket.socket_allow_hosts(["127.0.0.1", "localhost", "::1"], allow_unix_socket=True)
    yield
    pytest_socket.enable_socket()
