# Quick start: `make demo` then `make test`. Python 3.11+ under any name is all a fresh machine
# needs (a bare Debian also needs `python3-venv`).
# The first of these that is Python >= 3.11 (or PYTHON=... on the command line).
PYTHON ?= $(shell for p in python3 python3.14 python3.13 python3.12 python3.11; do \
  $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null && { echo $$p; break; }; done)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test lint format bench lock clean

# Installs exactly what requirements.lock pins (hash-checked), then the project itself.
$(STAMP): pyproject.toml requirements.lock
	@test -n "$(PYTHON)" || { echo "no Python >= 3.11 found (set PYTHON=...)"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV) || { \
	  echo "could not create $(VENV): on Debian/Ubuntu, apt install python3-venv"; exit 1; }
	$(PY) -m pip install --quiet --require-hashes -r requirements.lock
	$(PY) -m pip install --quiet --no-deps -e .
	touch $(STAMP)

## Serve the bundled mirror on 127.0.0.1, crawl it into data/finews.sqlite3, export data/finews.jsonl, write data/report.html
demo: $(STAMP)
	$(PY) -m localsite.demo

## The whole test suite (PostgreSQL and Redis tests skip, saying so, when the servers are absent)
test: $(STAMP)
	$(PY) -m pytest -n auto --dist loadfile

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(STAMP)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

## Benchmarks: figures printed, targets checked (see README "Performance")
bench: $(STAMP)
	$(PY) bench/run.py --articles 3000 --articles 30000

## Refresh requirements.lock after a change to the dependencies in pyproject.toml
lock: $(STAMP)
	$(PY) -m pip install --quiet uv
	$(VENV)/bin/uv pip compile pyproject.toml --extra dev --universal --generate-hashes \
	  --python-version 3.11 --upgrade -o requirements.lock

clean:
	rm -rf data/*.sqlite3* data/*.jsonl data/spool data/logs bench/out
