# Xiacheng city-safety data platform. Every target creates .venv when it is missing.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
export CITYSAFETY_HOME ?= $(CURDIR)/var
export AIRFLOW__COSMOS__ENABLE_TELEMETRY := False

DBT_SOURCES := $(shell find dbt_project/models dbt_project/seeds dbt_project/macros dbt_project/tests -type f 2>/dev/null) dbt_project/dbt_project.yml
MANIFEST    := dbt_project/target/manifest.json

.PHONY: install demo demo-data pipeline dashboard serve serve-celery test test-scheduler lint bench docs clean

install: $(BIN)/.installed

$(BIN)/.installed: pyproject.toml requirements.lock
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check uv
	$(BIN)/uv pip install -q -p $(BIN)/python --compile-bytecode -r requirements.lock
	$(BIN)/uv pip install -q -p $(BIN)/python --compile-bytecode --no-deps -e .
	@touch $@

# cosmos renders the dbt DAG from the manifest (fast, no dbt ls at DAG parse time).
$(MANIFEST): $(BIN)/.installed $(DBT_SOURCES)
	cd dbt_project && ../$(BIN)/dbt parse --profiles-dir . --quiet

# Demo accounts get random passwords ($(CITYSAFETY_HOME)/secrets/demo_passwords.txt, mode 0600),
# printed at the end of `make demo-data`; `make demo` prints them when the dashboard is up.
demo-data: install
	$(BIN)/python -m demo
	$(BIN)/python -m demo.accounts --home $(CITYSAFETY_HOME) $(if $(filter demo,$(MAKECMDGOALS)),--no-print)

pipeline: install $(MANIFEST)
	$(BIN)/python -m demo.run pipeline

dashboard: install
	$(BIN)/python -m demo.run dashboard

serve: install $(MANIFEST)
	$(BIN)/python -m demo.run serve

# The production profile on this machine: PostgreSQL and Redis (README "Outgrowing one machine").
serve-celery: install $(MANIFEST)
	CITYSAFETY_PROFILE=celery $(BIN)/python -m demo.run serve

demo: demo-data pipeline serve

# Two workers, a test file each at a time (module fixtures stay in one process); 2 cores here.
# Files are handed out in the order tests/conftest.py sorts them (longest first): xdist's own
# reordering (most tests first) left the longest file, which has few tests, to run alone at the end.
PYTEST_WORKERS ?= 2
PYTEST_DIST    := -n $(PYTEST_WORKERS) --dist loadfile --no-loadscope-reorder
# The runs under the real scheduler and Celery workers take tens of minutes on 2 cores: they are
# `make test-scheduler`, kept out of `make test`, whose budget is 15 minutes on 2 cores.
test: install $(MANIFEST)
	$(BIN)/python -m pytest $(PYTEST_DIST) --durations=15 -m "not scheduler"

test-scheduler: install $(MANIFEST)
	$(BIN)/python -m pytest $(PYTEST_DIST) --durations=15 -m scheduler

# Services listen on this machine only unless CITYSAFETY_BIND_ADDRESS says otherwise (README).
BIND_ADDRESS = $(or $(CITYSAFETY_BIND_ADDRESS),127.0.0.1)
DOCS_PORT ?= 8081
docs: install $(MANIFEST)
	cd dbt_project && ../$(BIN)/dbt docs generate --profiles-dir . --quiet
	@echo "dbt docs: http://localhost:$(DOCS_PORT) (listening on $(BIND_ADDRESS))"
	cd dbt_project && ../$(BIN)/dbt docs serve --profiles-dir . --port $(DOCS_PORT) --host $(BIND_ADDRESS) --no-browser

lint: install
	$(BIN)/sqlfluff lint dbt_project/models

# Performance, measured (bench/run.py): SCALE=full (default) | medium | small.
bench: install $(MANIFEST)
	$(BIN)/python -m bench.run $(if $(SCALE),--scale $(SCALE))

clean:
	rm -rf $(VENV) dbt_project/target dbt_project/logs
