# Two commands for a fresh machine:
#   make run    install, then run the bot on its embedded default
#   make test   install with the test extras, then ruff, the import contracts, mypy and the whole suite
#               (on every core: pytest-xdist, one PostgreSQL database pool per worker, tests/pg_pool.py)
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# Installing takes tens of seconds, so it happens again only when pyproject.toml is newer than
# the last install (the code itself is installed editable: edits need no reinstall).
INSTALLED := $(VENV)/.installed
INSTALLED_TEST := $(VENV)/.installed-test

.PHONY: run test lint install install-test

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(INSTALLED): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(INSTALLED_TEST): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@ $(INSTALLED)

install: $(INSTALLED)

install-test: $(INSTALLED_TEST)

run: install
	$(BIN)/distbot check-config
	$(BIN)/distbot run

test: install-test
	./scripts/system-deps
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/mypy
	$(BIN)/pytest -n auto --dist worksteal

lint: install-test
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/mypy
