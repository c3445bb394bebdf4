# Two entry points for a fresh machine (Python >= 3.11 and make):
#   make demo   install, ingest the demo masters (a no-op when they and the records are unchanged),
#               then check, build and publish the bundled demo shows to public/
#   make test   install with the test extra, then run the whole test suite
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: demo test serve bench lint clean

$(BIN)/python:
	@$(PYTHON) -m venv $(VENV) 2>/dev/null || { ./scripts/ensure-venv-support && $(PYTHON) -m venv $(VENV); }
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.'
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test,dev]'
	touch $@

demo: $(VENV)/.installed
	$(BIN)/grandirenhlm ingest --quiet --show grandir-en-hlm masters/grandir-en-hlm
	$(BIN)/grandirenhlm check
	$(BIN)/grandirenhlm publish

test: $(VENV)/.installed-test
	-./scripts/ensure-test-browser
	-./scripts/ensure-test-java
	-./scripts/ensure-test-gpodder
	$(BIN)/python -m pytest

serve: $(VENV)/.installed
	$(BIN)/grandirenhlm serve

bench: $(VENV)/.installed-test
	$(BIN)/python benchmarks/bench_pipeline.py --episodes 100 --episodes 1000
	$(BIN)/python benchmarks/bench_media.py --files 1000
	$(BIN)/python benchmarks/bench_feed.py --episodes 10000
	$(BIN)/python benchmarks/bench_encode.py
	$(BIN)/python benchmarks/bench_pages.py --episodes 10000
	$(BIN)/python benchmarks/bench_publish.py --episodes 1000

lint: $(VENV)/.installed-test
	$(BIN)/ruff check src tests benchmarks scripts
	$(BIN)/ruff format --check src tests benchmarks scripts

clean:
	rm -rf public .pytest_cache
