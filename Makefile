# Quick start: `make demo` then `make test`. Python 3.11+ is all a fresh machine needs.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test lint format bench clean

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "$(PYTHON) not found (set PYTHON=...)"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

## Serve the bundled mirror on 127.0.0.1, crawl it into data/finews.sqlite3, export data/finews.jsonl, write data/report.html
demo: $(STAMP)
	$(PY) -m localsite.demo

## The whole test suite (PostgreSQL and Redis tests skip, saying so, when the servers are absent)
test: $(STAMP)
	$(PY) -m pytest

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(STAMP)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

## Benchmarks: figures printed, targets checked (see README "Performance")
bench: $(STAMP)
	$(PY) bench/run.py --articles 3000 --articles 30000

clean:
	rm -rf data/*.sqlite3* data/*.jsonl data/spool data/logs bench/out
