# Two commands matter: `make demo` and `make test`. Everything else supports them.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PYTEST_ARGS ?=
# The same suite runs on SQLite and, when DATABASE_URL names PostgreSQL, again on it.
PG_URL := $(filter postgres%,$(DATABASE_URL))

.PHONY: demo test install install-test chromium lint check test-sqlite test-postgres messages bench serve clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	@touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e ".[test]"
	@touch $@ $(VENV)/.installed

install: $(VENV)/.installed

install-test: $(VENV)/.installed-test

## demo: install, migrate SQLite, load the demo company, start the app and the worker.
demo: install
	DEBUG=$${DEBUG:-true} $(BIN)/smarketing migrate --noinput
	DEBUG=$${DEBUG:-true} $(BIN)/smarketing demo --if-empty
	DEBUG=$${DEBUG:-true} $(BIN)/smarketing serve

serve: install
	DEBUG=$${DEBUG:-true} $(BIN)/smarketing serve

## chromium: the browser tests drive Debian's Chromium; install it when missing.
chromium:
	@if [ ! -x /usr/bin/chromium ]; then \
		echo "Installing Chromium for the browser tests (apt)…"; \
		if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium >/dev/null; \
		else sudo apt-get update -qq && sudo apt-get install -y -qq chromium >/dev/null; fi; \
	fi

lint: install-test
	$(BIN)/ruff check src tests conftest.py benchmarks
	$(BIN)/ruff format --check src tests conftest.py benchmarks

check: install-test
	env -u DATABASE_URL SMARKETING_DATA_DIR=$$(mktemp -d) $(BIN)/smarketing check
	env -u DATABASE_URL SMARKETING_DATA_DIR=$$(mktemp -d) $(BIN)/smarketing makemigrations --check --dry-run

test-sqlite: install-test chromium
	env -u DATABASE_URL $(BIN)/pytest -n 2 -p no:cacheprovider $(PYTEST_ARGS)

test-postgres: install-test chromium
	DATABASE_URL=$(PG_URL) $(BIN)/pytest -n 2 -p no:cacheprovider $(PYTEST_ARGS)

## test: lint, Django checks, then the whole suite on SQLite (and PostgreSQL when configured).
test: lint check test-sqlite
ifneq ($(PG_URL),)
	$(MAKE) test-postgres
else
	@echo "DATABASE_URL does not name PostgreSQL: the suite ran on SQLite only."
endif

messages: install-test
	cd src/smarketing && ../../$(BIN)/smarketing makemessages -l es --ignore "*/tests/*" && ../../$(BIN)/smarketing compilemessages -l es

bench: install-test
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
