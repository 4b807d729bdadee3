"""Real Snakemake runs on one bad-input case per kind of input (see test_catalogue.py): the run stops
in its checks with tme's message and writes nothing. Every other case takes the same code path,
checked in-process by test_catalogue_workflow.py."""

from __future__ import annotations

import pytest
from checks import broken

from cases import CASES
from conftest import run_workflow

pytestmark = pytest.mark.workflow


# One case per kind of input (and the classes that once left files behind) through real Snakemake.
SNAKEMAKE = [
    "sheet: duplicate sample_id",
    "sheet: BOM and CRLF (usable)",
    "sheet: covariate is not a column",
    "sheet: nan in a numeric column",
    "config: unknown key",
    "yaml: duplicated top-level key",
    "label: arm label with RST raw directive",
    "path: gene-set path with </script>",
    "counts: truncated gzip",
    "counts: every post of an arm below the library size",
    "nfcore: negative TPM",
    "normalised: text cell",
    "immune: two units",
    "gmt: truncated .gmt.gz",
    "tsv gene set: non-numeric weight",
    "planning: too few pairs to estimate the correlation",
    "rcc: file cut mid-section",
    "cells: pixel coordinates without a pixel size",
    "plan: endpoint below the coverage rule",
]


@pytest.mark.parametrize("name", SNAKEMAKE)
def test_workflow_stops_without_output(tmp_path, name):
    case = CASES[name]
    config_path, _ = broken(tmp_path, name)
    workdir = tmp_path / "run"
    args = ("--until", "sample_flow") if case.usable else ()
    proc = run_workflow(workdir, None, *args, configfile=config_path)
    text = proc.stdout + proc.stderr
    if case.usable:
        assert proc.returncode == 0, text[-3000:]
        assert (workdir / "results" / "tables" / "sample_flow.tsv").exists()
        return
    assert proc.returncode != 0, text[-2000:]
    assert "Fix:" in text and "Traceback" not in text, text[-3000:]
    for fragment in case.fragments:
        assert fragment in text, (fragment, text[-3000:])
    leftovers = [p for p in (workdir / "results").rglob("*") if p.is_file()] if (workdir / "results").exists() else []
    assert leftovers == []
    assert not (tmp_path / "secure" / "ids.tsv").exists() and not (tmp_path / "secure" / "key").exists()
