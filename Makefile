# The two commands a newcomer needs: `make demo` and `make test`. Everything else is optional.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

export PREFECT_SERVER_ANALYTICS_ENABLED := false
export PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS := 180
export DO_NOT_TRACK := 1

.PHONY: setup demo test test-fast bench bench-classify train clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

## Set up, write the sample inbox, run the weekly flow over its weeks, print where the outputs are.
demo: $(STAMP)
	$(BIN)/cityimage demo

## Set up and run the whole suite (slow end-to-end tests included), spread over the cores.
test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/mypy
	$(BIN)/pytest -n auto -q

## Everything but the slow end-to-end tests, for the edit-run loop.
test-fast: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/mypy
	$(BIN)/pytest -n auto -q -m "not slow"

## Benchmark against the DuckDB-only floor; writes BENCHMARKS.md and benchmarks/results.json.
## SCALE=1 is the reference year (35 to 50 minutes with its inbox cached; see docs/benchmarks.md).
SCALE ?= 0.01
bench: $(STAMP)
	$(BIN)/python -m benchmarks.run --scale $(SCALE)

## The comment classifier with its models against the lexicons alone, on 1M comments; writes benchmarks/classification.md.
bench-classify: $(STAMP)
	$(BIN)/python -m benchmarks.classification

## Retrain the comment models from ../shared/labelled (byte-identical on the same files); writes transforms/models/.
train: $(STAMP)
	$(BIN)/cityimage train --labelled ../shared/labelled

clean:
	rm -rf var .pytest_cache
