# One target each for set-up, the demo, the tests, lint and the benchmarks.
# `make demo` and `make test` set everything up on a fresh machine first.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: setup demo test test-fast lint bench samples clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

demo: setup
	$(BIN)/cintel run samples/ --pipeline auto
	$(BIN)/cintel stats

test: setup
	$(BIN)/pytest

test-fast: setup
	$(BIN)/pytest -m "not slow and not ray"

lint: setup
	$(BIN)/ruff check src tests bench scripts
	$(BIN)/mypy

bench: setup
	$(BIN)/python bench/run_all.py

samples: setup
	$(BIN)/python scripts/make_samples.py

clean:
	rm -rf .cintel build dist .pytest_cache .mypy_cache .ruff_cache
