# cckpi developer tasks. Variables can be overridden: make kafka PORT=19092, make test PYTEST_ARGS='-k brokers'.

SHELL        := bash
.SHELLFLAGS  := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON       ?= python3
VENV         ?= .venv
BIN          := $(VENV)/bin
VENV_STAMP   := $(VENV)/.installed-dev
PORT         ?= 9092
PYTEST_ARGS  ?=
DEMO_ARGS    ?=
BENCH_ARGS   ?=
SOAK_ARGS    ?=
BENCH_STAMP  := $(VENV)/.installed-bench

.PHONY: help venv demo kafka kafka-jars browser test lint bench soak bench-deps fuzz compiled uncompiled bench-core

help: ## list targets
	@grep -E '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

venv: $(VENV_STAMP) ## create .venv and install the project with the dev extra (includes demo; once per pyproject change)

$(VENV_STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q -e '.[dev]'
	@touch $@

demo: venv ## run broker (tansu, no Java), worker and simulator with a live view; Ctrl-C stops all
	$(BIN)/cckpi demo $(DEMO_ARGS)

kafka-jars: ## assemble the Apache Kafka broker classpath from Maven Central (no-op when up to date)
	@tools/kafka/assemble.sh

browser: ## Debian's headless Chromium and a CJK font, for the statement PDF/PNG test (no-op when present)
	@command -v chromium >/dev/null || { apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-wqy-microhei >/dev/null; }

kafka: kafka-jars ## run Kafka in the foreground on 127.0.0.1:$(PORT) (data in .cache/kafka-run/$(PORT))
	tools/kafka/run.sh $(PORT)

test: venv compiled kafka-jars browser lint ## lint, then the whole test suite (starts its own brokers and services)
	$(BIN)/pytest -q $(PYTEST_ARGS)

lint: venv ## ruff + mypy + import-linter (the layering contracts in pyproject.toml)
	$(BIN)/ruff check streams tests bench tools
	$(BIN)/mypy
	$(BIN)/lint-imports --no-logo --cache-dir .cache/import-linter

# The compiled core (mypyc, setup.py), built beside its sources; rebuilt when a source it is typed against changes. An
# import checks the digest in streams/core/compiled.json and runs the Python source if the build is stale.
CORE_SOURCES := $(shell find streams/core streams/models streams/contracts streams/calendar streams/queueing -name '*.py') \
                streams/compiled.py setup.py
CORE_STAMP   := streams/core/compiled.json

compiled: venv $(CORE_STAMP) ## compile the pure core with mypyc beside its sources (about a minute; CCKPI_PURE_PYTHON=1 ignores it)

$(CORE_STAMP): $(CORE_SOURCES)
	mkdir -p .cache && $(BIN)/python setup.py inplace >.cache/compiled-build.log 2>&1 || { tail -30 .cache/compiled-build.log; exit 1; }

uncompiled: ## remove the compiled core: the Python source runs
	rm -f streams/core/*.so $(CORE_STAMP)

bench-core: venv compiled ## in-process cost of the core compiled vs Python: on_batch us/event, cckpi compute events/s
	$(BIN)/python -m bench.core

bench-deps: $(BENCH_STAMP) ## install the `bench` extra (Quix Streams, psutil) into .venv

$(BENCH_STAMP): pyproject.toml $(VENV_STAMP)
	$(BIN)/python -m pip install -q -e '.[dev,bench]'
	@touch $@

bench: venv compiled kafka-jars bench-deps ## benchmark: cckpi vs Quix Streams vs raw consumer, latency, RSS (bench/README.md)
	$(BIN)/python -m bench run $(BENCH_ARGS)

soak: venv kafka-jars bench-deps ## 30-minute soak of one worker: RSS and lag, fails on growth (SOAK_ARGS='--minutes 5')
	$(BIN)/python -m bench soak $(SOAK_ARGS)

FUZZ_SECONDS ?= 300

fuzz: venv ## coverage-guided fuzzing (atheris) of event decoding and contract loading, FUZZ_SECONDS per target
	@for target in events contracts; do \
	  work=.cache/fuzz/$$target; mkdir -p $$work; \
	  (cd $$work && ../../../$(BIN)/python ../../../tools/fuzz/fuzz_inputs.py $$target . ../../../tools/fuzz/corpus/$$target \
	    -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1) || exit 1; \
	done
