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
# Locally every user is an admin with no login, so the UI and its API answer on loopback only, never on 0.0.0.0.
export AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS := True
export AIRFLOW__API__HOST := 127.0.0.1
# Connection passwords are encrypted at rest with a key generated once per Airflow home.
export AIRFLOW__CORE__FERNET_KEY_CMD := cat $(AIRFLOW_HOME)/fernet.key
# A laptop, not a cluster: 4 task slots (the API pools have 4 each), not 32 idle LocalExecutor workers.
export AIRFLOW__CORE__PARALLELISM := 4
# SQLite is one file that the scheduler, DAG processor, API server and a CLI command all write to. Write transactions
# take its lock first (BEGIN IMMEDIATE) and wait up to 60 s for it: `airflow backfill create` failed with "database is
# locked" while `make ui` ran (why: the module's docstring). The module gives PostgreSQL nothing.
export AIRFLOW__DATABASE__SQL_ALCHEMY_CONNECT_ARGS := shopify_max.airflow_glue.sqlite_settings.CONNECT_ARGS
export AIRFLOW__DATABASE__SQL_ALCHEMY_CONNECT_ARGS_ASYNC := shopify_max.airflow_glue.sqlite_settings.ASYNC_CONNECT_ARGS
# DAGs start paused, as in production (docker-compose.yaml): a new DAG begins calling Shopify and MAX on its
# schedule only when someone switches it on (the toggle in the UI, or `airflow dags unpause DAG_ID`).
export PYTHONPATH := $(CURDIR)/plugins:$(CURDIR)
export PATH := $(BIN):$(PATH)
# What `eval "$$(make -s env)"` puts in a shell, for the airflow CLI and the sandboxes by hand.
ENV_VARS := AIRFLOW_HOME AIRFLOW__CORE__DAGS_FOLDER AIRFLOW__CORE__PLUGINS_FOLDER AIRFLOW__CORE__LOAD_EXAMPLES \
	AIRFLOW__CORE__EXECUTOR AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS AIRFLOW__API__HOST AIRFLOW__CORE__FERNET_KEY_CMD \
	AIRFLOW__CORE__PARALLELISM AIRFLOW__DATABASE__SQL_ALCHEMY_CONNECT_ARGS \
	AIRFLOW__DATABASE__SQL_ALCHEMY_CONNECT_ARGS_ASYNC PYTHONPATH

.PHONY: demo test test-fast lint bench ui airflow-init sandboxes env install lock clean

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

ui: airflow-init  ## the Airflow UI on http://localhost:8080 (all users are admins locally); Ctrl+C stops all of it
	$(BIN)/python -m shopify_max.airflow_glue.standalone

sandboxes: airflow-init  ## the sandboxes `make demo` uses, same arguments, in the foreground for `make ui`
	$(BIN)/python -m sandboxes.demo --serve

env:  ## the environment above, for a shell: eval "$$(make -s env)"
	@$(foreach name,$(ENV_VARS),echo "export $(name)='$($(name))'";)
	@echo 'export PATH="$(BIN):$$PATH"'

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
