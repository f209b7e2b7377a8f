# The two commands of the README. Each creates the virtual environment when it is missing.
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
# Options added to the demo's command (tests/test_readme.py shortens it: DEMO_OPTIONS='--steps 40 --divergence kl --snapshots 2').
DEMO_OPTIONS ?=
# The outcome of installing Chromium, for the browser test of `fgan report` (see .ci/install-chromium).
CHROMIUM_STAMP := $(VENV)/.chromium

.PHONY: demo test lint typecheck chromium clean

$(BIN)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $@

demo: $(BIN)/.installed
	$(BIN)/fgan reproduce gaussian-mixture --out runs/demo --force $(DEMO_OPTIONS)

$(CHROMIUM_STAMP):
	bash .ci/install-chromium $@

test: $(BIN)/.installed $(CHROMIUM_STAMP)
	$(BIN)/python -m pytest -q
	$(BIN)/ruff check .
	$(BIN)/mypy

lint: $(BIN)/.installed
	$(BIN)/ruff check .

typecheck: $(BIN)/.installed
	$(BIN)/mypy

# Install Chromium now (again), whatever the stamp says.
chromium:
	bash .ci/install-chromium $(CHROMIUM_STAMP)

clean:
	rm -rf $(VENV) runs .pytest_cache .mypy_cache
