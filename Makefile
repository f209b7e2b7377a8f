# The two commands of the README. Each creates the virtual environment when it is missing.
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin

.PHONY: demo test lint clean

$(BIN)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $@

demo: $(BIN)/.installed
	$(BIN)/fgan reproduce gaussian-mixture --out runs/demo --force

test: $(BIN)/.installed
	$(BIN)/python -m pytest -q
	$(BIN)/ruff check .

lint: $(BIN)/.installed
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) runs .pytest_cache
