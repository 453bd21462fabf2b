# Two commands for a fresh machine: `make demo` and `make test`.
# Both create the virtualenv in .venv and install what they need on first use.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

# The test suite runs against the production components on this machine.
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/lansnytt
TEST_REDIS_URL ?= redis://127.0.0.1:6379/1
PYTEST_ARGS ?=
# e.g. make bench BENCH_ARGS="--quick" or BENCH_ARGS="--n 50000 --skip-peer"
BENCH_ARGS ?=
# e.g. make soak SOAK_ARGS="--n 5000" (the default is 100,000 recipients; bench/soak.py)
SOAK_ARGS ?=

.PHONY: demo test lint format bench soak system-deps clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e '.[test,bench]'
	touch $(STAMP)

demo: $(STAMP)
	$(PY) manage.py migrate --noinput
	$(PY) manage.py demo

system-deps:
	bin/system-deps

# ruff, and import-linter for the direction of imports between the apps (pyproject.toml).
lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports --no-cache

format: $(STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

test: $(STAMP) system-deps lint
	DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) \
		$(VENV)/bin/pytest --junitxml=var/test-results/junit.xml $(PYTEST_ARGS)

bench: $(STAMP)
	$(PY) bench/run.py $(BENCH_ARGS)

soak: $(STAMP)
	$(PY) bench/soak.py $(SOAK_ARGS)

clean:
	rm -rf $(VENV) var
