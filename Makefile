# Two commands for a newcomer (README "Quick start"):
#   make demo   create .venv if missing, install tme, run the workflow on the bundled example,
#               write results/ and the HTML report
#   make test   same environment, the full test suite
SHELL := /bin/bash
PYTHON ?= $(shell for p in python3 python3.13 python3.12 python3.11; do \
	command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null && { echo $$p; break; }; done)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.tme-installed
CORES ?= 2
# `make demo CONFIG=config/singlecell.yaml` runs the single-cell example instead of the bulk one,
# `make demo CONFIG=config/nanostring.yaml` the NanoString and IHC panel example
# `make demo CONFIG=config/cells.yaml` the multiplex-IF cell-table example
CONFIG ?= config/config.yaml

.PHONY: demo test lint check-report clean

$(STAMP): pyproject.toml
	@test -n "$(PYTHON)" || { echo "tme needs Python >= 3.11 on the PATH (python3, python3.11, 3.12 or 3.13)"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $@

demo: $(STAMP) $(if $(findstring singlecell,$(CONFIG)),config/example_sc/cells.h5ad) \
	$(if $(findstring nanostring,$(CONFIG)),config/example_ns/samples.tsv) \
	$(if $(findstring cells.yaml,$(CONFIG)),config/example_cells/manifest.tsv)
	$(BIN)/tme run --config $(CONFIG) --cores $(CORES) --report results/report.html
	@echo "Report: results/report.html (key results also in results/key_results.pdf)"

config/example_sc/cells.h5ad: $(STAMP)
	$(BIN)/tme simulate --single-cell --seed 34 --out config/example_sc

config/example_ns/samples.tsv: $(STAMP)
	$(BIN)/tme simulate --nanostring --seed 34 --out config/example_ns

config/example_cells/manifest.tsv: $(STAMP)
	$(BIN)/tme simulate --cells --seed 34 --out config/example_cells

# Lint (ruff, snakefmt, snakemake --lint), then every test on $(CORES) workers, one test module per
# worker at a time (a module's workflow run is built once; the run several modules share is built
# once for all workers: tests/conftest.py)
test: lint
	$(BIN)/python -m pytest -n $(CORES) --dist loadfile --no-loadscope-reorder --durations=25

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/snakefmt --check Snakefile workflow
	$(BIN)/snakemake --lint --snakefile Snakefile --cores 1 --quiet all

# Build the demo report and look at it in headless Chromium (installed by the project's script)
check-report: demo
	bash tests/browser/install_chromium.sh
	$(BIN)/python -m pytest -m browser tests/test_report_browser.py

clean:
	rm -rf results logs .snakemake
