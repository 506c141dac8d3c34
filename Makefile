# One target each for set-up, the demo, the tests, lint and the benchmarks.
# `make demo` and `make test` set everything up on a fresh machine first.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: setup system-deps demo test test-fast lint bench samples clean

setup: $(VENV)/.installed

# The speech tests speak with espeak-ng (Debian package); installed once when missing.
system-deps:
	@command -v espeak-ng >/dev/null 2>&1 || { \
		echo "installing espeak-ng (needed by the speech tests)"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -q && $$SUDO apt-get install -y -q espeak-ng; }

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

demo: setup
	$(BIN)/cintel run samples/ --pipeline auto
	$(BIN)/cintel stats

test: setup system-deps
	$(BIN)/pytest

test-fast: setup system-deps
	$(BIN)/pytest -m "not slow and not ray"

lint: setup
	$(BIN)/ruff check src tests bench scripts
	$(BIN)/mypy

bench: setup
	$(BIN)/python bench/run_all.py
	$(BIN)/python bench/audio.py

samples: setup
	$(BIN)/python scripts/make_samples.py

clean:
	rm -rf .cintel build dist .pytest_cache .mypy_cache .ruff_cache
