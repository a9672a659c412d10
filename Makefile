# The README's two set-up commands: `make demo` and `make test`. Both create .venv on their own.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
OUT ?= gigshift-demo

.PHONY: demo serve atlas test semantic bench data clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.stamp-base: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.stamp-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $@ $(VENV)/.stamp-base

# Optional extra for the semantic lookup. PyTorch 2.13.0 (CPU build) is pinned first so that pip does not
# pull a multi-GB CUDA build for sentence-transformers.
$(VENV)/.stamp-semantic: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet "torch==2.13.0"
	$(BIN)/python -m pip install --quiet -e ".[dev,semantic]"
	touch $@ $(VENV)/.stamp-dev $(VENV)/.stamp-base

semantic: $(VENV)/.stamp-semantic

# The end-to-end demo: simulate, estimate, audit, three workers' stories -> $(OUT)/index.html (< 3 min, 2 cores).
demo: $(VENV)/.stamp-base
	$(BIN)/gigshift demo --out $(OUT)

# The service with a synthetic market and one login per role (printed); Ctrl-C stops it.
serve: $(VENV)/.stamp-base
	$(BIN)/gigshift serve --demo

atlas: $(VENV)/.stamp-base
	$(BIN)/gigshift atlas --out gigshift-atlas

test: $(VENV)/.stamp-dev
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/python -m pytest tests src/gigshift

# Mesa is a benchmark-only dependency (the simulator's core loop is compared with a Mesa model).
bench: $(VENV)/.stamp-semantic
	$(BIN)/python -m pip install --quiet -e ".[bench]"
	$(BIN)/python benchmarks/lookup.py
	$(BIN)/python benchmarks/allocate.py
	$(BIN)/python benchmarks/audit.py
	$(BIN)/python benchmarks/simulate.py

# Rebuild the shipped tables from the raw public data (see README, "Data sources and licences").
data: $(VENV)/.stamp-base
	$(BIN)/gigshift data build --raw $${GIGSHIFT_RAW_DATA:-../shared/data}

clean:
	rm -rf $(VENV) $(OUT) gigshift-atlas .pytest_cache .ruff_cache
