# Every target creates or reuses .venv and installs what it needs from pyproject.toml.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
ARGS ?=

.PHONY: run test lint bench install clean screenshots

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml tests/trajectory/js/package-lock.json clients/typescript/package-lock.json | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev,postgres,plot,bench,code,openai,anthropic,litellm,otel,server,browser,mcp]'
	npm ci --prefix tests/trajectory/js --no-audit --no-fund --loglevel=error
	npm ci --prefix clients/typescript --no-audit --no-fund --loglevel=error
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/outcomes demo $(ARGS)

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy --strict src

test: lint
	$(BIN)/python -m pytest $(ARGS)

bench: $(STAMP)
	$(BIN)/python -m benchmarks $(ARGS)

screenshots: $(STAMP)
	$(BIN)/python -m tests.server.dashboard.screenshots docs/img

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
