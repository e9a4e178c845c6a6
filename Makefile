# Tori – `make help` lists the targets.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
# Test processes in parallel (pytest-xdist): one per core; each has its own database and server.
TEST_WORKERS ?= auto

.DEFAULT_GOAL := help
.PHONY: help run install install-dev chromium vnu nginx test-data test screenshots lint audit format messages bench drills clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "} {printf "  make %-12s %s\n", $$1, $$2}'

$(BIN)/python:
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Tori needs Python 3.11 or newer"' \
		|| { echo "Tori needs Python 3.11 or newer (found $$($(PYTHON) --version))."; exit 1; }
	@$(PYTHON) -m venv $(VENV) || { echo "Could not create a virtual environment: on Debian/Ubuntu run 'apt-get install python3-venv'."; exit 1; }
	@$(BIN)/python -m pip install -q --upgrade pip setuptools

install: $(BIN)/python ## install Tori into .venv
	@$(BIN)/pip install -q -e .

install-dev: $(BIN)/python ## install Tori and the test tools into .venv
	@$(BIN)/pip install -q -e '.[dev]'

run: install ## run Tori with demo data on the embedded SQLite file, at http://127.0.0.1:8000
	@$(BIN)/tori migrate
	@$(BIN)/tori seed-demo
	@echo "Tori runs at http://$(HOST):$(PORT) (Ctrl+C stops it)"
	@$(BIN)/tori serve --host $(HOST) --port $(PORT)

chromium: ## install Debian's Chromium for the browser tests when it is missing
	@if [ -x /usr/bin/chromium ] || [ -n "$$TORI_CHROMIUM" ]; then exit 0; fi; \
	echo "Installing Debian's Chromium for the browser tests..."; \
	if [ "$$(id -u)" = 0 ]; then SUDO=; elif command -v sudo >/dev/null; then SUDO=sudo; \
	else echo "The browser tests need Chromium: run 'apt-get install chromium fonts-dejavu-core' as root."; exit 1; fi; \
	$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium fonts-dejavu-core >/dev/null \
		|| { echo "Could not install Chromium with apt-get."; exit 1; }

vnu: ## Java and npm for the HTML check (the test installs the pinned vnu-jar into ~/.cache/tori)
	@if command -v java >/dev/null && command -v npm >/dev/null; then exit 0; fi; \
	echo "Installing Java and npm for the HTML check..."; \
	if [ "$$(id -u)" = 0 ]; then SUDO=; elif command -v sudo >/dev/null; then SUDO=sudo; \
	else echo "The HTML check needs Java 17 and npm: run 'apt-get install openjdk-17-jre-headless npm' as root."; exit 1; fi; \
	$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq openjdk-17-jre-headless npm >/dev/null \
		|| { echo "Could not install Java and npm with apt-get."; exit 1; }

lint: install-dev ## ruff lint and format check
	@$(BIN)/ruff check .
	@$(BIN)/ruff format --check .

audit: install-dev ## check the installed dependencies against PyPI's vulnerability advisories
	@$(BIN)/python scripts/audit_dependencies.py

nginx: ## Debian's nginx for the tests of Tori behind a reverse proxy, when it is missing
	@if command -v nginx >/dev/null || [ -x /usr/sbin/nginx ]; then exit 0; fi; \
	echo "Installing Debian's nginx for the proxy tests..."; \
	if [ "$$(id -u)" = 0 ]; then SUDO=; elif command -v sudo >/dev/null; then SUDO=sudo; \
	else echo "The proxy tests need nginx: run 'apt-get install nginx' as root."; exit 1; fi; \
	$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq nginx >/dev/null \
		|| { echo "Could not install nginx with apt-get."; exit 1; }; \
	$$SUDO systemctl disable --now nginx >/dev/null 2>&1 || $$SUDO service nginx stop >/dev/null 2>&1 || true

test-data: install-dev ## fetch the real pabulib instances for the count's oracle tests (once per machine)
	@$(BIN)/python -m tests.real_data

test: install-dev chromium vnu nginx test-data lint audit ## run the whole suite: PostgreSQL, SQLite and browser tests
	@$(BIN)/pytest -n $(TEST_WORKERS) --durations=15

screenshots: install-dev chromium ## refresh the README's pictures (docs/screenshots) from a real browser
	@TORI_SCREENSHOTS=docs/screenshots $(BIN)/pytest -q -m browser -k screenshot_for_the_readme

format: install-dev ## format the code
	@$(BIN)/ruff format .
	@$(BIN)/ruff check --fix .

messages: install-dev ## extract messages and update the fi, sv and en catalogs
	@$(BIN)/python scripts/catalogs.py update

# `make bench` runs every benchmark with short settings (about 20 minutes on two cores); `make
# bench FULL=1` with the settings the README's figures were measured with (about an hour).
ifeq ($(FULL),1)
BENCH_COMPARE :=
BENCH_POST := --seconds 10
BENCH_VERIFY :=
BENCH_JOURNEYS :=
BENCH_PAGES := --seconds 10 --runs 3
BENCH_RESULTS := --seconds 10 --runs 3
BENCH_REVIEW :=
BENCH_LOOP := --ballots 20000 --pending 100000 --roll 50000
BENCH_COUNT :=
else
BENCH_COMPARE := --events 1000 --responses 100000 --pending 1000 --repeats 3
BENCH_POST := --seconds 5
BENCH_VERIFY := --ballots 100000
BENCH_JOURNEYS := --seconds 5 --runs 3 --voters 6000
BENCH_PAGES := --seconds 3 --runs 3
BENCH_RESULTS := --seconds 3 --runs 3 --requests 100
BENCH_REVIEW := --ideas 500 --events 2000 --requests 20
BENCH_LOOP := --ballots 5000 --pending 10000 --roll 10000
BENCH_COUNT := --ballots 20000 --runs 1
endif

bench: install-dev test-data ## every benchmark beside its baseline, short settings (FULL=1: the README's; needs wrk and Redis)
	@command -v wrk >/dev/null || { [ "$$(id -u)" = 0 ] && apt-get install -y -qq wrk >/dev/null; } || { echo "The benchmarks need wrk: apt-get install wrk"; exit 1; }
	@$(BIN)/python -m benchmarks.feedback_compare $(BENCH_COMPARE)
	@$(BIN)/python -m benchmarks.feedback_submit $(BENCH_POST)
	@$(BIN)/python -m benchmarks.poll_vote $(BENCH_POST)
	@$(BIN)/python -m benchmarks.pb_cast $(BENCH_POST)
	@$(BIN)/python -m benchmarks.journeys $(BENCH_JOURNEYS)
	@$(BIN)/python -m benchmarks.public_pages $(BENCH_PAGES)
	@$(BIN)/python -m benchmarks.results_page $(BENCH_RESULTS)
	@$(BIN)/python -m benchmarks.review_list $(BENCH_REVIEW)
	@$(BIN)/python -m benchmarks.event_loop_drill $(BENCH_LOOP)
	@$(BIN)/python -m benchmarks.count_off_loop $(BENCH_COUNT)
	@$(BIN)/python -m benchmarks.tally
	@$(BIN)/python -m benchmarks.verify $(BENCH_VERIFY)

drills: install-dev ## fault drills: mixed load with a killed worker and a database crash, two servers on one Redis, floods with Redis killed, backup and restore
	@$(BIN)/python -m benchmarks.drills
	@$(BIN)/python -m benchmarks.flood_drill
	@$(BIN)/python -m benchmarks.backup_drill

clean: ## remove the virtual environment, caches and the demo database
	rm -rf $(VENV) .pytest_cache .ruff_cache test-artifacts tori.sqlite3 tori.sqlite3-*
