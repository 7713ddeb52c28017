# The two commands of the README: `make report` and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PIP_FLAGS ?= -q --disable-pip-version-check

.PHONY: install report test test-long test-fast test-spark lint format bench clean

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install $(PIP_FLAGS) -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

data/sample/customers.csv: | $(STAMP)
	$(BIN)/reportlib sample-data --out data/sample

## report: install, make the sample data if missing, run the monthly job for the latest complete month
## (scorecard notebook, then one board pack per node in parallel; current packs are skipped)
report: $(STAMP) data/sample/customers.csv
	$(BIN)/reportlib run

## test: install if needed, then run the test suite (tests/ on every core, then the notebooks),
## all but the `long` end-to-end scenarios, which `make test-long` runs (CI runs both);
## a test module runs on one worker (--dist loadfile), so its module-wide setup is made once
## (the bad-input cases, which share nothing, are spread one by one: tests/conftest.py)
test: $(STAMP)
	$(BIN)/pytest -n auto --dist loadfile --durations=20 -m "not long" tests
	$(BIN)/pytest notebooks

## test-long: the end-to-end scenarios of half a minute or more (a wheel install, a Dask
## cluster, concurrent runs and crashes, re-run determinism, bad inputs that render packs)
test-long: $(STAMP)
	$(BIN)/pytest -n auto --dist loadfile --durations=10 -m long tests

## test-fast: the quick loop while developing (no kernels, PDFs, SMTP or subprocesses)
test-fast: $(STAMP)
	$(BIN)/pytest -m "not slow"

## test-spark: the warehouse tests on a local Spark (installs the `spark` extra: PySpark; needs Java 17)
test-spark: $(STAMP)
	$(PY) -m pip install $(PIP_FLAGS) -e ".[dev,spark]"
	$(BIN)/pytest -m spark tests/warehouse

lint: $(STAMP)
	$(BIN)/ruff check reportlib tests benchmarks
	$(BIN)/ruff format --check reportlib tests benchmarks
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff format reportlib tests benchmarks
	$(BIN)/ruff check --fix reportlib tests benchmarks

bench: $(STAMP)
	$(PY) benchmarks/bench_compute.py
	$(PY) benchmarks/bench_run.py

clean:
	rm -rf output/*/ .pytest_cache
