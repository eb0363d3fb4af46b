# Every target creates .venv on demand and installs the project into it.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP_RUN := $(VENV)/.installed-run
STAMP_DEV := $(VENV)/.installed-dev
STAMP_BENCH := $(VENV)/.installed-bench

.PHONY: demo test bench lint clean ui browser

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP_RUN): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[duckdb]'
	touch $@

$(STAMP_DEV): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@ $(STAMP_RUN)

$(STAMP_BENCH): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev,bench]'
	touch $@ $(STAMP_DEV) $(STAMP_RUN)

demo: $(STAMP_RUN)
	$(BIN)/python examples/quickstart/run_demo.py

# The browser tests need Debian's chromium; CI (root, CI set) installs it, developers
# run `make browser` as root or let those tests skip.
test: $(STAMP_DEV)
	@if [ -n "$$CI" ] && [ "$$(id -u)" = 0 ]; then $(MAKE) --no-print-directory browser; fi
	$(BIN)/python -m pytest

# Debian's chromium for the Playwright tests (never a downloaded browser); idempotent.
browser:
	@if [ -x /usr/bin/chromium ]; then echo "chromium: $$(/usr/bin/chromium --version)"; \
	else apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium; fi

# Rebuild the bundled page (src/sheer/web/static/app.js, app.css, layout-worker.js) from
# frontend/, after its layout checks.
ui:
	cd frontend && npm ci && npm test && npm run build

lint: $(STAMP_DEV)
	$(BIN)/ruff check src tests benchmarks examples
	$(BIN)/ruff format --check src tests benchmarks examples
	$(BIN)/mypy

bench: $(STAMP_BENCH)
	$(BIN)/python benchmarks/run_all.py

clean:
	rm -rf $(VENV) .sheer .pytest_cache
