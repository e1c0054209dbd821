# fanpin — two commands on a fresh machine: `make run` and `make test`.
# Everything installs from uv.lock into .venv; the only prerequisite is python3.

PYTHON ?= python3
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
SYNCED := $(VENV)/.synced
export UV_PROJECT_ENVIRONMENT := $(VENV)
# Trust the machine's certificate store (uv's own roots do not hold a site's or proxy's CA;
# pip already does): installs then work behind an office proxy without SSL_CERT_FILE.
export UV_SYSTEM_CERTS ?= 1
export PREFECT_HOME ?= $(CURDIR)/.prefect
export PREFECT_SERVER_ANALYTICS_ENABLED := false
export PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS := 120

RUN_DATE ?= 2026-11-30
POLICY ?= sample
OUTPUT ?= out

.PHONY: setup run test lint bench bench-ingest sample screenshot clean

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet uv==0.13.8

$(SYNCED): $(UV) uv.lock pyproject.toml
	$(UV) sync --frozen --group dev
	@touch $@

setup: $(SYNCED)

run: setup
	$(VENV)/bin/fanpin run --inbox sample_data/inbox --output $(OUTPUT) --run-date $(RUN_DATE) --policy $(POLICY)

test: setup
	$(VENV)/bin/pytest

lint: setup
	$(VENV)/bin/ruff check fanpin transforms flows tests bench
	$(VENV)/bin/mypy fanpin transforms flows

sample: setup
	$(VENV)/bin/python -m fanpin.generator --people 600 --seed 20261129 --run-date $(RUN_DATE) --out sample_data/inbox --truth sample_data/truth

bench: $(UV)
	$(UV) sync --frozen --all-groups
	@touch $(SYNCED)
	$(VENV)/bin/python -m bench $(BENCH_ARGS)

# Issue 2's ingest target: 10M medical rows, UTF-8 and GB18030, against DuckDB (median of 3).
bench-ingest: setup
	$(VENV)/bin/python -m bench.ingest --rows 10000000 --repeat 3 --save
	$(VENV)/bin/python -c "from bench.render import render_file; render_file()"

# Render the latest run's report in real headless Chromium and save a screenshot.
screenshot: setup
	@command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium fonts-noto-cjk)
	$(VENV)/bin/python -m fanpin.screenshot $(OUTPUT)/latest/report/run_date=$(RUN_DATE)/report.html $(OUTPUT)/report-$(RUN_DATE).png --window 1280,2960
	@echo "screenshot: $(OUTPUT)/report-$(RUN_DATE).png"

clean:
	rm -rf $(OUTPUT) .prefect
