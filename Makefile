# Two commands for a fresh machine: `make demo` and `make test`. Both create .venv when missing.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-groundv

.PHONY: demo test lint bench clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

demo: $(STAMP)
	$(BIN)/groundv demo --out out/demo

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks

# pytest exits 5 when it collects no test; make treats any non-zero exit as failure.
test: lint
	$(BIN)/python -m pytest

# Speed and memory figures for BENCHMARKS.md (minutes, not part of the tests).
bench: $(STAMP)
	$(BIN)/python benchmarks/bench_foundation.py
	$(BIN)/python benchmarks/bench_eval.py --million
	$(BIN)/python benchmarks/bench_generate.py
	$(BIN)/python benchmarks/bench_export.py

clean:
	rm -rf $(VENV) out build *.egg-info src/*.egg-info .pytest_cache .ruff_cache
