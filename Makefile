# Two entry points: `make run` (JupyterLab on the quickstart; UI=notebook or UI=voila for the
# other front ends) and `make test` (the whole suite).
# Both create their own virtual environment in .venv.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test lint strip clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.run-deps: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[lab,notebook,voila,parquet]'
	touch $@

$(VENV)/.test-deps: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[lab,parquet,test]'
	touch $@

# `make run UI=notebook` (Jupyter Notebook 7) or `make run UI=voila` (the quickstart as an app).
UI ?= lab
run: $(VENV)/.run-deps
	$(BIN)/vidu-nb $(UI)

test: $(VENV)/.test-deps
	scripts/ensure-chromium
	scripts/ensure-postgresql
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/python -m pytest -p no:cacheprovider -n 2 --dist loadgroup

lint: $(VENV)/.test-deps
	$(BIN)/ruff check . && $(BIN)/ruff format --check . && $(BIN)/mypy && $(BIN)/lint-imports

strip:
	scripts/strip-notebooks

clean:
	rm -rf $(VENV) build *.egg-info
