"""The single-cell path through the workflow: features and pseudobulk reach the paired statistics and
the report."""

from __future__ import annotations

import anndata as ad
import numpy as np
import pandas as pd
import pytest

from conftest import run_workflow

pytestmark = pytest.mark.workflow


def test_singlecell_workflow(tmp_path):
    from tme.singlecell import write_singlecell_example

    data = tmp_path / "sc"
    write_singlecell_example(data, seed=5, n_patients=8, cells_per_sample=200, n_genes=2000)
    config = {
        "samples": str(data / "samples.tsv"),
        "single_cell": {"path": str(data / "cells.h5ad"), "min_genes": 50, "min_counts": 100, "min_cells": 50},
        "scoring": {"collections": ["tme_il1", "danaher2017"]},
        "statistics": {"n_bootstrap": 0},
    }
    for args in ((), ("--report", str(tmp_path / "run" / "report.html"))):
        proc = run_workflow(tmp_path / "run", config, *args)
        assert proc.returncode == 0, proc.stderr[-3000:]
    assert (tmp_path / "run" / "report.html").stat().st_size > 100_000
    results = tmp_path / "run" / "results"
    effects = pd.read_csv(results / "tables" / "effects_between_arms.tsv", sep="\t")
    assert set(effects["family"]) == {"single_cell"}
    assert "proportion|IL1B+ macrophage" in set(effects["feature"])
    flow = pd.read_csv(results / "tables" / "sample_flow.tsv", sep="\t", keep_default_na=False)
    assert set(flow["modality"]) == {"single_cell"}
    # pseudobulk = exact sum of the cells' counts that passed QC
    pseudo = pd.read_csv(results / "singlecell" / "pseudobulk_counts.tsv.gz", sep="\t", index_col=0)
    cells = ad.read_h5ad(data / "cells.h5ad")
    qc = pd.read_csv(results / "qc" / "singlecell_qc.tsv", sep="\t", keep_default_na=False)
    assert set(pseudo.columns) == set(qc.loc[qc["exclude_reason"] == "", "sample_id"])
    assert pseudo.to_numpy().sum() <= np.asarray(cells.X.sum())
