"""Every input format through the whole workflow to a built report, on small data.

The 12-patient cohort in ``.test/data`` (nf-core salmon counts) is rewritten in each format:
nf-core TPM and normalised values on log2, log10 and linear scales; plus an immune-only config
(log10 and linear run the steps that read the scale, up to the statistics; the others to a report).
Gene-level DE is off here. The other formats reach a report elsewhere: ``counts`` through the
README's own-trial commands (tests/test_readme.py, with DE), ``nfcore_salmon_counts`` as a deployed
module (tests/test_deploy.py, with DE), single cell in tests/test_singlecell_workflow.py.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from conftest import REPO, run_workflow

pytestmark = pytest.mark.workflow

DATA = REPO / ".test" / "data"


@pytest.fixture(scope="module")
def matrices(tmp_path_factory) -> dict[str, str]:
    """The .test counts written in every matrix format (columns: gene identifiers, then samples)."""
    out = tmp_path_factory.mktemp("formats")
    salmon = pd.read_csv(DATA / "salmon.merged.gene_counts.tsv.gz", sep="\t")
    counts = salmon.drop(columns="gene_id").set_index("gene_name").round().astype(int)
    cpm = counts / counts.sum() * 1e6
    tables = {
        "salmon.merged.gene_tpm.tsv": salmon[["gene_id", "gene_name"]].join(cpm.reset_index(drop=True)),
        "log2.tsv": np.log2(cpm + 1),
        "log10.tsv": np.log10(cpm + 1),
        "linear.tsv": cpm,
    }
    paths = {}
    for name, table in tables.items():
        table.to_csv(out / name, sep="\t", index=name != "salmon.merged.gene_tpm.tsv", float_format="%.6g")
        paths[name] = str(out / name)
    return paths


CASES = {
    "nfcore_salmon_tpm": ("salmon.merged.gene_tpm.tsv", {"format": "nfcore_salmon_tpm"}),
    "normalised log2": ("log2.tsv", {"format": "normalised", "scale": "log2"}),
    "normalised log10": ("log10.tsv", {"format": "normalised", "scale": "log10"}),
    "normalised linear": ("linear.tsv", {"format": "normalised", "scale": "linear"}),
    "immune only": (None, None),
}


# log10 and linear values differ from log2 only where the scale is read (ingest, the expression QC
# figure, the analysis transform of the scores): those steps run; the rest is log2's path to a report.
PARTIAL = {"normalised log10", "normalised linear"}
PARTIAL_TARGETS = ("results/figures/cohort/expression_qc.png", "results/tables/effects_between_arms.tsv")


@pytest.mark.parametrize("case", list(CASES))
def test_format_reaches_a_report(tmp_path, matrices, case):
    name, settings = CASES[case]
    config = {
        "samples": str(DATA / "samples.tsv"),
        "immune": {"path": str(DATA / "immune.tsv")},
        "scoring": {"collections": ["tme_il1", "danaher2017"]},
        "statistics": {"n_bootstrap": 100, "gsea_permutations": 100},
    }
    if name:
        config["expression"] = {"path": matrices[name], **settings}
    work = tmp_path / "run"
    if case in PARTIAL:  # the scale-dependent steps only: reading, QC figure, scores, statistics
        done = run_workflow(work, config, "--printshellcmds", *PARTIAL_TARGETS)  # a flag ends --quiet's list
        assert done.returncode == 0, done.stderr[-3000:]
    else:
        for args in ((), ("--report", str(work / "report.html"))):
            done = run_workflow(work, config, *args)
            assert done.returncode == 0, done.stderr[-3000:]
        assert (work / "report.html").stat().st_size > 100_000
    effects = pd.read_csv(work / "results" / "tables" / "effects_between_arms.tsv", sep="\t")
    families = set(effects["family"])
    assert "immune_measures" in families and (("exploratory_signatures" in families) == bool(name))
    if name:  # no counts in these formats, so no gene level
        import anndata as ad

        adata = ad.read_h5ad(work / "results" / "expression" / "expression.h5ad")
        assert "counts" not in adata.layers
