# The two commands of the README:
#   make demo [CATALOG=path/to/catalog.csv]   set up, import, serve at http://127.0.0.1:8000
#   make test                                  set up, lint, run every test
# Both create .venv and install requirements on first use, so a fresh clone needs nothing else.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: demo test install migrate lint chromium redis loadtest crashtest

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed

migrate: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py createcachetable

# Browser tests drive Debian's Chromium (never a browser downloaded by a test tool).
chromium:
	@command -v chromium >/dev/null || { \
		echo "Installing Debian's chromium for the browser tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }

# The distributed indexing tests start Debian's redis-server (the Celery broker) themselves.
redis:
	@command -v redis-server >/dev/null || { \
		echo "Installing Debian's redis-server for the distributed indexing tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server; }

# An import with some skipped rows (exit status 1) still starts the shop; a file that cannot
# be imported at all (exit status 2) stops here.
demo: migrate
ifdef CATALOG
	$(BIN)/python manage.py import_catalog "$(CATALOG)" || test $$? -eq 1
	$(BIN)/python manage.py index || test $$? -eq 1
else
	@echo "No CATALOG given: serving what the database holds."
	@echo "Load one with: make demo CATALOG=path/to/catalog.csv"
endif
	$(BIN)/python manage.py catalog_status
	$(BIN)/python manage.py ensure_admin --site-url http://$(HOST):$(PORT)
	$(BIN)/python manage.py runserver $(HOST):$(PORT)

lint: install
	$(BIN)/ruff check .

test: lint chromium redis
	$(BIN)/python -m pytest

# Kill -9 and restart tests of the indexer, the server and PostgreSQL (also part of `test`).
crashtest: install
	$(BIN)/python -m pytest -m crash

# Load test of the production server (tests/load/run.py): needs FASHION_DATA; USERS, DURATION
# and PRODUCTS size it. Uses DATA_DIR (default var/loadtest) for its own catalog and server.
loadtest: install
	$(BIN)/python tests/load/run.py
