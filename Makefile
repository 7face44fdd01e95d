# The two commands of the README. Both do all set-up on a fresh machine (Python 3.11 + pip).
PY ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
DEMO_DIR ?= .pressbot-demo
QUESTION ?= Which countries receive the $180 million program?
# The question reaches the shell through the environment, unexpanded ($(value)), so `$`, quotes
# and backticks in it stay text: "$(QUESTION)" in a recipe let the shell expand "$1" of "$180".
export PRESSBOT_DEMO_QUESTION = $(value QUESTION)

.PHONY: demo test install dev lint clean services

$(BIN)/python:
	$(PY) -c 'import sys; assert sys.version_info[:2] == (3, 11), "pressbot needs Python 3.11, got " + sys.version'
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q -U pip

# torch is pinned to 2.13.0 in pyproject.toml: the CPU build that lies on disk
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[dev]'
	touch $(VENV)/.installed $@

install: $(VENV)/.installed
dev: $(VENV)/.installed-dev

demo: install
	HF_HUB_OFFLINE=1 $(BIN)/pressbot --data-dir $(DEMO_DIR) ingest evals/sample_archive
	HF_HUB_OFFLINE=1 $(BIN)/pressbot --data-dir $(DEMO_DIR) ask "$$PRESSBOT_DEMO_QUESTION"

# Servers the integration tests start themselves, on 127.0.0.1 in a temp dir (never a system
# service): redis-server, installed from the distribution's package when it is missing.
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)
services:
	@command -v redis-server >/dev/null 2>&1 || { \
	  echo "redis-server is missing (the shared-state tests start their own): installing it with apt-get"; \
	  $(SUDO) apt-get update -qq && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends redis-server; }

# one pytest-xdist worker per core; a worker that runs out of tests takes some of another's
test: dev services
	HF_HUB_OFFLINE=1 $(BIN)/python -m pytest -q -n auto --dist worksteal

lint: dev
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/mypy --strict pressbot

clean:
	rm -rf $(DEMO_DIR) .pytest_cache
