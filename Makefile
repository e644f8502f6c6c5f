# One entry point: make run | test | lint | bench | fmt
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
# Absolute, so PATH stays right when VENV is given as an absolute path.
BIN_PATH := $(abspath $(BIN))
STAMP := $(VENV)/.installed

LOCK := requirements.lock

.PHONY: install lock run demo test lint fmt bench clean

# Reproducible installs: every dependency, pinned with its hashes, from
# $(LOCK); then the project itself without resolving anything. `pip check`
# fails when setup.cfg names a dependency the lock file lacks: run `make lock`.
$(STAMP): setup.cfg pyproject.toml $(LOCK)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --require-hashes -r $(LOCK)
	$(BIN)/python -m pip install --quiet --no-deps -e .
	$(BIN)/python -m pip check || { echo "setup.cfg and $(LOCK) disagree: run 'make lock'" >&2; exit 1; }
	touch $(STAMP)

install: $(STAMP)

# Regenerate $(LOCK) from setup.cfg (install_requires + the test extra), with
# hashes. Run after changing a dependency in setup.cfg; commit both files.
lock:
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet "pip-tools>=7.4,<8"
	$(BIN)/pip-compile --quiet --generate-hashes --extra test --strip-extras --allow-unsafe \
		--no-emit-index-url --no-emit-find-links --output-file $(LOCK) setup.cfg

# Web + worker from the Procfile (honcho), on SQLite under var/ by default.
# In development demo/devenv.py exports STRIPE_WEBHOOK_SECRET (when unset) from
# var/dev-webhook-secret, creating it once, and prints where everything is;
# with APP_ENV=production it does nothing. See README "Try it".
run: install
	mkdir -p var
	PATH="$(BIN_PATH):$$PATH" $(BIN)/honcho start release
	@dev_env="$$($(BIN)/python -m demo.devenv)" && eval "$$dev_env" && \
	  PATH="$(BIN_PATH):$$PATH" exec $(BIN)/honcho start --port $${PORT:-8000} web worker

# With `make run` up in another terminal: one signed event of each handled
# type, the emails the worker produced, and where to look next.
demo: install
	@$(BIN)/python -m demo $(DEMO_ARGS)

# The whole suite on SQLite, then on PostgreSQL when it answers
# (REQUIRE_POSTGRES=1 makes its absence a failure, as in CI).
test: install
	bin/ensure-services
	PATH="$(BIN_PATH):$$PATH" bin/test $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-logo
	$(BIN)/mypy

fmt: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: install
	PATH="$(BIN_PATH):$$PATH" $(BIN)/python -m bench

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache
