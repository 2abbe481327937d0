# make run · make test · make bench — each works on a fresh machine.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app app

.PHONY: run test bench load lint install install-dev browser oathtool clean

$(BIN)/activate: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev: $(BIN)/activate requirements-dev.txt
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

install: $(BIN)/activate
install-dev: $(VENV)/.dev

# Debian's chromium for the browser tests (Playwright drives it; it never downloads a browser).
browser:
	@command -v chromium >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }

# Debian's oathtool: the hardware-token tests check codes against it (an OATH implementation of its own).
oathtool:
	@command -v oathtool >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq oathtool; }

run: install
	$(FLASK) init-db
	$(FLASK) demo
	PORTAL_DEMO=1 $(FLASK) run --host 127.0.0.1 --port 5000

lint: install-dev
	$(BIN)/ruff check .

test: install-dev browser oathtool lint
	$(BIN)/pytest -q

bench: install-dev
	@command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk; }
	$(BIN)/python bench/bench.py

# 100 simulated providers for 60 s against gunicorn -w 4 (PostgreSQL when LOAD_DATABASE_URL or
# TEST_DATABASE_URL is set, else SQLite); loopback only, bounded, stops by itself.
load: install-dev
	$(BIN)/python bench/load.py --providers 100 --seconds 60

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
