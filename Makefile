# anyprop: everything a fresh machine needs, from python3 and make alone.
#   make demo   create .venv, install anyprop with its demo extras, train the embedded default
#   make test   create or reuse .venv, install the test tools, run the whole suite
#   make lint   ruff over the code
#   make bench  the benchmarks, printed as a table of ratios
#   make accuracy  the defaults against scikit-learn's on a panel of data sets (docs/accuracy.md)

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip install --disable-pip-version-check -q

.PHONY: demo test lint bench accuracy clean

$(VENV)/.created:
	$(PYTHON) -m venv $(VENV)
	@touch $@

$(VENV)/.demo: $(VENV)/.created pyproject.toml
	$(PIP) -e ".[demo]"
	@touch $@

$(VENV)/.test: $(VENV)/.created pyproject.toml
	$(PIP) -e ".[demo,test]"
	@touch $@

demo: $(VENV)/.demo
	$(VENV)/bin/anyprop train --out demo-model.anyprop

test: $(VENV)/.test
	$(PY) -m pytest

lint: $(VENV)/.test
	$(PY) -m ruff check src tests bench examples
	$(PY) -m ruff format --check src tests bench examples

bench: $(VENV)/.test
	$(PY) -m bench

accuracy: $(VENV)/.test
	$(PY) -m bench.accuracy --out docs/accuracy.md

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis build src/*.egg-info
