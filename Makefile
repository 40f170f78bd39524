# make run  -> set up, train if data changed, seed the demo database, start everything
# make test -> set up, train if data changed, validate, test stories, every pytest test
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

.PHONY: help setup train run shell test unit stories validate eval bench triage lock lint clean

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

# The web chat widget (rasa-webchat) from the npm registry, served locally by the Rasa server.
WEB_STAMP := bot/web/node_modules/.package-lock.json
$(WEB_STAMP): bot/web/package.json bot/web/package-lock.json
	npm ci --prefix bot/web
	@touch $@

setup: $(STAMP) $(WEB_STAMP)

# The model is named after a hash of everything it is built from (config, domain, data, custom
# components): an unchanged model is reused as is; a changed one is retrained, and Rasa's own
# fingerprinting cache (.rasa/) retrains only the components whose inputs changed.
MODEL_HASH = $(shell cat bot/config.yml $$(find bot/domain data bot/components -type f \( -name '*.yml' -o -name '*.py' \) | sort) | sha256sum | cut -c1-12)
MODEL := models/model-$(MODEL_HASH).tar.gz

train: setup
	@mkdir -p models
	@if [ -f $(MODEL) ]; then touch $(MODEL); echo "$(MODEL) is up to date (config, domain, data unchanged)"; \
	else $(RASA) train $(RASA_FILES) --out models --augmentation 0 --fixed-model-name model-$(MODEL_HASH); fi

run: train
	$(PY) -m bot.launcher --demo

shell: train
	$(PY) -m bot.launcher --shell

validate: setup
	$(RASA) data validate $(RASA_FILES) --fail-on-warnings

stories: train
	$(RASA) test core --model $(MODEL) --stories tests/stories --endpoints bot/endpoints.yml \
		--fail-on-prediction-errors --out results/stories

unit: setup
	$(PY) -m pytest -m "not e2e"

test: lint validate stories
	$(PY) -m pytest

# NLU benchmark: ours vs the stock `rasa init` pipeline, held-out splits and public sets.
eval: setup
	$(PY) tests/benchmarks/eval_nlu.py

# Conversation benchmark: REST turns with database actions at 1/10/50 concurrent conversations per
# language, cold start, training times, memory; ours vs stock. Extra options: make bench ARGS="--help"
bench: train
	$(PY) tests/benchmarks/bench.py $(ARGS)

# Support triage of a message file (CSV / JSONL): make triage FILE=inbox.csv [OUT=triaged.jsonl]
triage: train
	@test -n "$(FILE)" || { echo "usage: make triage FILE=messages.csv|.jsonl [OUT=triaged.csv|.jsonl]" >&2; exit 2; }
	$(PY) -m bot.triage "$(FILE)" $(if $(OUT),--out "$(OUT)")

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
