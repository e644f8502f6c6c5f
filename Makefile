# One entry point: make run | test | lint | bench | fmt
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test lint fmt bench clean

$(STAMP): setup.cfg pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

# Web + worker from the Procfile (honcho), on SQLite under var/ by default.
run: install
	mkdir -p var
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/honcho start release
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/honcho start --port $${PORT:-8000} web worker

# The whole suite on SQLite, then on PostgreSQL when it answers
# (REQUIRE_POSTGRES=1 makes its absence a failure, as in CI).
test: install
	bin/ensure-services
	PATH="$(CURDIR)/$(BIN):$$PATH" bin/test $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-logo
	$(BIN)/mypy

fmt: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: install
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m bench

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache
