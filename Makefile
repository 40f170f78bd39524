# make run  -> set up, train if data changed, seed the demo database, start everything
# make test -> set up, train if data changed, lint, validate, install test services, every pytest test, no leftovers
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
export RASA_TELEMETRY_ENABLED := false
export TF_CPP_MIN_LOG_LEVEL := 2
export SQLALCHEMY_SILENCE_UBER_WARNING := 1
export PYTHONWARNINGS := ignore::DeprecationWarning
RASA := $(VENV)/bin/rasa
RASA_FILES := --config bot/config.yml --domain bot/domain --data data
STAMP := $(VENV)/.installed

.PHONY: help setup services train run shell test unit validate eval bench triage lock lint clean leftovers

help:
	@echo "make run    - set up, train when needed, seed demo data, start the assistant"
	@echo "make test   - set up, train when needed, run every test"
	@echo "make train | shell | eval | bench | triage FILE=... | lock | lint | clean"

# Locked install: Rasa 3.6 declares Python <3.11, so dependencies are resolved for 3.10 in the
# lock and installed without pip's resolver (see README, "Dependencies").
$(STAMP): requirements/base.lock requirements/dev.lock
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet --no-deps --ignore-requires-python -r requirements/base.lock -r requirements/dev.lock
	@touch $@

# The web chat's socket.io client (socket.io-client) from the npm registry, served locally by the
# Rasa server with the widget (bot/web/static, docs/webchat.md).
WEB_STAMP := bot/web/node_modules/.package-lock.json
$(WEB_STAMP): bot/web/package.json bot/web/package-lock.json
	npm ci --prefix bot/web
	@touch $@

setup: $(STAMP) $(WEB_STAMP)

# The model is named after a hash of everything it is built from (config, domain, data, custom
# components): an unchanged model is reused as is; a changed one is retrained, and Rasa's own
# fingerprinting cache (.rasa/) retrains only the components whose inputs changed.
MODEL = $(shell $(PYTHON) bot/model_hash.py)
export RASA_MODEL = $(MODEL)

train: setup
	@mkdir -p models
	@if [ -f $(MODEL) ]; then touch $(MODEL); echo "$(MODEL) is up to date (config, domain, data unchanged)"; \
	else $(RASA) train $(RASA_FILES) --out models --augmentation 0 --fixed-model-name $(notdir $(basename $(basename $(MODEL)))); fi

run: train
	$(PY) -m bot.launcher --demo --model $(MODEL)

shell: train
	$(PY) -m bot.launcher --shell --model $(MODEL)

validate: setup
	$(RASA) data validate $(RASA_FILES) --fail-on-warnings

# What a fresh clone can run: no model, no servers, no system services.
unit: setup
	$(PY) -m pytest -m "not needs_model and not needs_servers and not needs_postgres and not needs_redis and not needs_nginx and not needs_chromium"

# System services the tests need (PostgreSQL, Redis, Chromium), installed from Debian when missing.
services:
	@.ci/provision.sh

test: lint validate services train
	$(PY) -m pytest; status=$$?; $(PY) tests/leftovers.py; exit $$(( status || $$? ))

# Processes of this checkout still running (a server a test left behind): exit 1 when there is one.
leftovers:
	$(PY) tests/leftovers.py

# NLU benchmark: ours vs the stock `rasa init` pipeline, held-out splits and public sets.
eval: train
	$(PY) tests/benchmarks/eval_nlu.py
	$(PY) tests/benchmarks/eval_openings.py
	$(PY) tests/benchmarks/fresh_conversations.py

# Conversation benchmark: REST turns with database actions at 1/10/50 concurrent conversations per
# language, cold start, training times, memory; ours vs stock. Extra options: make bench ARGS="--help"
bench: train
	$(PY) tests/benchmarks/bench.py $(ARGS)

# Support triage of a message file (CSV / JSONL): make triage FILE=inbox.csv [OUT=triaged.jsonl]
# [ARGS=--tickets] (tickets in the agents' queue for the messages that need a person)
triage: train
	@test -n "$(FILE)" || { echo "usage: make triage FILE=messages.csv|.jsonl [OUT=triaged.csv|.jsonl] [ARGS=--tickets]" >&2; exit 2; }
	$(PY) -m actions.orders migrate
	$(PY) -m bot.triage "$(FILE)" $(if $(OUT),--out "$(OUT)") $(ARGS)

lint: setup
	$(VENV)/bin/ruff check bot actions tests

# Regenerate the locks (needs `uv`: pip install uv). Markers are resolved for Python 3.10.
lock:
	cd requirements && UV_PYTHON_DOWNLOADS=never uv pip compile --python-version 3.10 \
		--override overrides.txt base.in -o base.lock
	cd requirements && UV_PYTHON_DOWNLOADS=never uv pip compile --python-version 3.10 \
		--override overrides.txt dev.in -o dev.lock

clean:
	rm -rf models results var .rasa .pytest_cache
