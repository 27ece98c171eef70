# The commands behind the README. `make demo` and `make test` work on a fresh machine with Python 3.11.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := $(CURDIR)/.venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# Airflow runs from a home inside the project (git-ignored), on SQLite with the local executor.
export AIRFLOW_HOME := $(CURDIR)/.airflow
export AIRFLOW__CORE__DAGS_FOLDER := $(CURDIR)/dags
export AIRFLOW__CORE__PLUGINS_FOLDER := $(CURDIR)/plugins
export AIRFLOW__CORE__LOAD_EXAMPLES := False
export AIRFLOW__CORE__EXECUTOR := LocalExecutor
export AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS := True
# Connection passwords are encrypted at rest with a key generated once per Airflow home.
export AIRFLOW__CORE__FERNET_KEY_CMD := cat $(AIRFLOW_HOME)/fernet.key
export PYTHONPATH := $(CURDIR)/plugins:$(CURDIR)
export PATH := $(BIN):$(PATH)

.PHONY: demo test test-fast lint bench ui airflow-init sandboxes install lock clean

demo: airflow-init  ## set up everything, run each DAG once against the sandboxes, print a summary
	$(BIN)/python -m sandboxes.demo

test: $(STAMP)  ## lint (ruff, with Airflow 3 rules) and the whole test suite
	$(BIN)/ruff check .
	$(BIN)/pytest

test-fast: $(STAMP)  ## lint, and the unit and contract tests on SQLite: no e2e, nothing slow, no PostgreSQL half
	$(BIN)/ruff check .
	$(BIN)/pytest -m "not e2e and not slow and not postgresql"

lint: $(STAMP)
	$(BIN)/ruff check .

bench: $(STAMP)  ## benchmarks: prints figures and ratios, writes benchmarks/results/latest.json
	$(BIN)/python benchmarks/run.py $(BENCH_ARGS)

ui: airflow-init  ## the Airflow UI on http://localhost:8080 (all users are admins locally)
	$(BIN)/airflow standalone

airflow-init: $(AIRFLOW_HOME)/.initialised
	@$(BIN)/python -m shopify_max.airflow_glue.fernet_key $(AIRFLOW_HOME)/fernet.key  # an older home's key: 0600

# The Fernet key decrypts every connection password: created 0600 (umask too, for anything else made here).
$(AIRFLOW_HOME)/.initialised: $(STAMP) airflow_settings.yaml
	umask 077 && mkdir -p $(AIRFLOW_HOME)
	$(BIN)/python -m shopify_max.airflow_glue.fernet_key $(AIRFLOW_HOME)/fernet.key
	$(BIN)/airflow db migrate > $(AIRFLOW_HOME)/db-migrate.log
	$(BIN)/python -m shopify_max.airflow_glue.settings_loader airflow_settings.yaml
	touch $@

install: $(STAMP)

$(STAMP): requirements.txt requirements-services.txt requirements-dev.txt constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt -r requirements-services.txt -r requirements-dev.txt \
		-c constraints.txt
	touch $@

lock: $(STAMP)  ## regenerate constraints.txt from the installed, tested environment
	$(BIN)/python -m pip freeze --exclude-editable > constraints.txt

clean:
	rm -rf $(AIRFLOW_HOME)
