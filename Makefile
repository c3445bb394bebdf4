# Two entry points for a fresh machine (Python >= 3.11 and make):
#   make demo   install, ingest the demo masters (a no-op when they and the records are unchanged),
#               then check, build and publish the bundled demo shows to public/
#   make test   install with the test extra, then the linter and the whole test suite
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: demo test serve bench lint constraints clean

$(BIN)/python:
	@$(PYTHON) -m venv $(VENV) 2>/dev/null || { ./scripts/ensure-venv-support && $(PYTHON) -m venv $(VENV); }
	$(BIN)/python -m pip install --quiet --upgrade pip

# constraints.txt pins every dependency to the versions the suite last passed with (make constraints)
$(VENV)/.installed: pyproject.toml constraints.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.'
	touch $@

$(VENV)/.installed-test: pyproject.toml constraints.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[test,dev]'
	touch $@

demo: $(VENV)/.installed
	$(BIN)/grandirenhlm ingest --quiet --show grandir-en-hlm masters/grandir-en-hlm
	$(BIN)/grandirenhlm check
	$(BIN)/grandirenhlm publish

test: lint
	-./scripts/ensure-test-browser
	-./scripts/ensure-test-java
	-./scripts/ensure-test-gpodder
	$(BIN)/python -m pytest -n 2 --dist loadgroup

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

constraints: $(VENV)/.installed-test
	{ sed -n '1,2p' constraints.txt; $(BIN)/python -m pip freeze --exclude-editable; } > constraints.new
	mv constraints.new constraints.txt

clean:
	rm -rf public .pytest_cache
