# Hermes: `make repro` runs the pipeline, `make test` runs the tests; both create and reuse .venv.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
STAMP := $(VENV)/.installed-stamp
# The venv's tools first on PATH: DVC stage commands call `python`, papermill starts `python3` kernels.
RUN := PATH="$(BIN):$$PATH" MPLBACKEND=Agg

.PHONY: setup repro test bench lab clean-venv

$(STAMP): pyproject.toml
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --upgrade pip
	$(VENV)/bin/python -m pip install --quiet -e '.[test]'
	$(VENV)/bin/python -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (hermes)" >/dev/null
	touch $(STAMP)

setup: $(STAMP)

repro: setup
	$(RUN) $(BIN)/dvc repro

test: setup
	$(RUN) $(BIN)/python -m pytest -p no:cacheprovider tests notebooks --nbval-lax --nbval-current-env

bench: setup
	@set -e; for script in benchmarks/bench_*.py; do echo "== $$script"; $(RUN) $(BIN)/python $$script; done

lab: setup
	$(RUN) $(BIN)/jupyter lab --ip 127.0.0.1 --no-browser

clean-venv:
	rm -rf $(VENV)
