# label-bridge — the two commands of the README quickstart, and a few more.
#   make demo   install, then convert the shipped sample data through the unified schema
#   make test   install everything the tests need (incl. a real Label Studio server), run them
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PIP_CONSTRAINTS := requirements/constraints.txt
PYTEST_ARGS ?=

.PHONY: demo test install install-test labelstudio lint typecheck constraints clean

$(BIN)/bridge: pyproject.toml $(PIP_CONSTRAINTS)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c $(PIP_CONSTRAINTS) -e .
	@touch $@

$(VENV)/.test-installed: $(BIN)/bridge
	$(BIN)/python -m pip install -q -c $(PIP_CONSTRAINTS) -e '.[all,test]'
	@touch $@

install: $(BIN)/bridge
install-test: $(VENV)/.test-installed

labelstudio:
	scripts/labelstudio-server.sh install

demo: $(BIN)/bridge
	PATH="$(abspath $(BIN)):$$PATH" scripts/demo.sh

test: install-test labelstudio
	$(BIN)/python -m pytest -n 2 $(PYTEST_ARGS)

lint: install-test typecheck
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

typecheck: install-test
	$(BIN)/mypy  # strict on src/bridge ([tool.mypy] in pyproject.toml)

constraints:
	$(BIN)/python -m pip freeze | grep -v '^-e' | grep -viE '^(label-bridge|pip|setuptools|wheel)==' > $(PIP_CONSTRAINTS).new
	(echo "# Pinned versions CI installs (pip constraints). Regenerate: make constraints"; cat $(PIP_CONSTRAINTS).new) > $(PIP_CONSTRAINTS) && rm $(PIP_CONSTRAINTS).new

clean:
	rm -rf $(VENV) build .pytest_cache
