"""Run by Python at start-up in every process the tests start (tests/conftest.py puts this
folder on PYTHONPATH): the model-free stand-in for PRESSBOT_EMBEDDING_MODEL=hash-N."""

import os

if os.environ.get("PRESSBOT_EMBEDDING_MODEL", "").startswith("hash"):
    from tests.model_free import install

    install()
