# Quick start: `make demo` and `make test`. Both create .venv on first use.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --disable-pip-version-check
TF_REQ := tensorflow-cpu==2.21.0
# Test-time and example dependencies (TensorFlow itself is a prerequisite of
# the package, not a requirement of it: see setup.py).
DEV_REQS := numpy absl-py pytest

.PHONY: all setup demo test bench clean

all: test

$(VENV)/.deps:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q $(TF_REQ) $(DEV_REQS)
	touch $@

# Reinstall the package whenever its build inputs change.
$(VENV)/.installed: $(VENV)/.deps setup.py $(shell find sonnet -name '*.cc' -o -name '*.h' -o -name '*.proto' 2>/dev/null)
	$(PIP) install -q --no-build-isolation -e .
	touch $@

setup: $(VENV)/.installed

demo: setup
	$(PY) examples/demo.py

test: setup
	$(PY) -m pytest -q tests

bench: setup
	@for f in benchmarks/*.py; do echo "== $$f"; $(PY) $$f || exit 1; done

clean:
	rm -rf $(VENV) build *.egg-info
