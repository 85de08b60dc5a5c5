# The two commands of the README:
#   make book   set up .venv, execute every chapter (cpu profile), build the HTML book
#   make test   set up .venv, run the whole test suite (chapters and book build included)
# Everyday work: make test-fast (unit tests + smoke executions, a few minutes).
#   make lint   ruff check, ruff format --check, the package's layers (lint-imports), spelling
#               (codespell) and the notebook pairs in sync (CI runs it first)
#   make format ruff's fixes and formatter; notebooks are formatted in their .ipynb and synced back

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PROFILE ?= cpu

.PHONY: setup book test test-fast robustness lint format sync check clean

setup: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[book]"
	touch $@

book: setup
	$(BIN)/python -m rlhfbook run --profile $(PROFILE) $(if $(FORCE),--force); \
	status=$$?; $(BIN)/python -m rlhfbook build --profile $(PROFILE) && exit $$status

# The book again on another block of seeds (SEED, SEED + 1, ...), its verdicts beside the shipped ones.
SEED ?= 1000
robustness: setup
	$(BIN)/python -m rlhfbook robustness --seed $(SEED) --profile $(PROFILE)

# Unit tests run beside the chapters' executions, one pytest worker per core; the tests that
# execute chapters into results/ and _build/ stay together in one worker (tests/conftest.py).
test: setup
	$(BIN)/python -m pytest -n auto

test-fast: setup
	$(BIN)/python -m pytest -n auto -m "not chapter and not book and not browser and not install"

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache
	$(BIN)/codespell src tests benchmarks notebooks book README.md CONTRIBUTING.md
	$(BIN)/python -m rlhfbook check

# The formatter knows notebook cells only in an .ipynb (there it keeps a cell's final `;`), so
# notebooks are formatted there: .py -> .ipynb, ruff, .ipynb -> .py (see pyproject.toml).
format: setup
	$(BIN)/jupytext --quiet --sync notebooks/*.py
	$(BIN)/ruff check --fix .
	$(BIN)/jupytext --quiet --sync notebooks/*.py
	$(BIN)/ruff format .
	$(BIN)/jupytext --quiet --sync notebooks/*.ipynb

sync: setup
	$(BIN)/jupytext --sync notebooks/*.py

check: setup
	$(BIN)/python -m rlhfbook check

clean:
	rm -rf _build results
