# Development tasks for chinchilla-sklearn. Each target creates .venv when missing and
# installs what it needs into it.
PYTHON ?= python3
VENV = .venv
BIN = $(VENV)/bin
# One thread for BLAS/OpenMP so benchmark timings are comparable between runs.
BENCH_ENV = OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1

.DEFAULT_GOAL := help
.PHONY: help test lint demo docs bench soak clean

help:
	@echo "make test   lint, then the test suite"
	@echo "make lint   ruff check"
	@echo "make demo   run examples/quickstart.py"
	@echo "make docs   build the HTML docs into docs/_build/html"
	@echo "make bench  run benchmarks/bench_core.py on one thread"
	@echo "make soak   randomised checks against references (tools/soak.py, minutes)"
	@echo "make clean  remove build, docs, compiled and cache outputs (keeps $(VENV))"

# The virtualenv itself (`make .venv`); the stamps below record which extras are
# installed in it.
$(VENV): $(BIN)/python

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip

# `$(VENV)/.installed-EXTRA` installs the package editable with EXTRA, once per
# change of pyproject.toml or of the Cython kernels (the install compiles them in
# place); "base" is the package alone.
BUILD_INPUTS = pyproject.toml setup.py $(wildcard chinchilla_sklearn/*.pyx)

$(VENV)/.installed-base: $(BUILD_INPUTS) | $(BIN)/python
	$(BIN)/python -m pip install -e .
	@touch $@

$(VENV)/.installed-%: $(BUILD_INPUTS) | $(BIN)/python
	$(BIN)/python -m pip install -e ".[$*]"
	@touch $@

# The tests run with the optional extras they exercise (tests/test_dask.py starts a
# distributed.LocalCluster), so CI runs them; installed once per pyproject.toml.
TEST_EXTRAS = test,dask

test: $(VENV)/.installed-$(TEST_EXTRAS)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .

demo: $(VENV)/.installed-base
	$(BIN)/python examples/quickstart.py

docs: $(VENV)/.installed-docs
	$(BIN)/sphinx-build -W --keep-going -b html docs docs/_build/html

bench: $(VENV)/.installed-base
	$(BENCH_ENV) $(BIN)/python benchmarks/bench_core.py

# Not part of `make test`: a few minutes of random problems against references.
soak: $(VENV)/.installed-$(TEST_EXTRAS)
	$(BENCH_ENV) $(BIN)/python tools/soak.py

# The compiled kernels go too, and with them the install stamps, so the next
# target compiles them again.
clean:
	rm -rf build dist *.egg-info .pytest_cache .ruff_cache
	rm -f chinchilla_sklearn/*.c chinchilla_sklearn/*.so $(VENV)/.installed-*
	rm -rf docs/_build docs/auto_examples docs/gen_modules docs/sg_execution_times.rst
	rm -rf docs/_generated
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -exec rm -rf {} +
