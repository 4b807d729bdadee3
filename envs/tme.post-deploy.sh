#!/usr/bin/env bash
# Snakemake runs this once inside a new conda environment made from tme.yaml (`--sdm conda`):
# it installs tme itself from the workflow's own source tree (the directory holding
# pyproject.toml, which workflow/rules/common.smk exports as TME_SOURCE). The dependencies are
# already in the environment, so pip adds tme alone.
set -euo pipefail
python -m pip install --no-deps --no-build-isolation "${TME_SOURCE:?TME_SOURCE is exported by the workflow; run tme from a checkout or a local deployment}"
