"""A single-arm window study through the gene-level rules: DESeq2's paired ~ patient + timepoint
design of the one arm (de_within_<arm>.tsv) and pre-ranked GSEA of its statistic
(gsea_within_<arm>.tsv), no interaction tables; planted changes (tme.simulate) found in direction."""

from __future__ import annotations

import pandas as pd
import pytest

from tme.simulate import PROGRAMS

from conftest import cohort_config, run_workflow

pytestmark = pytest.mark.workflow


def test_single_arm_gene_level_tables(small_cohort, tmp_path):
    cohort = tmp_path / "cohort"
    cohort.mkdir()
    sheet = pd.read_csv(small_cohort / "samples.tsv", sep="\t", keep_default_na=False)
    sheet[sheet["arm"] == "anakinra"].to_csv(cohort / "samples.tsv", sep="\t", index=False)
    config = cohort_config(
        small_cohort,
        design={"reference_arm": None},
        scoring={"collections": ["tme_il1", "danaher2017"]},
        statistics={"gsea_permutations": 200},
    )
    config["samples"] = str(cohort / "samples.tsv")
    config["expression"]["extra_samples"] = "ignore"
    del config["immune"]
    work = tmp_path / "run"
    tables = work / "results" / "tables"
    targets = [f"results/tables/{kind}_within_anakinra.tsv" for kind in ("de", "gsea")]
    done = run_workflow(work, config, "--nolock", *targets)  # a flag ends --quiet's list
    assert done.returncode == 0, done.stderr[-3000:]
    assert not (tables / "de_interaction.tsv").exists() and not (tables / "gsea_interaction.tsv").exists()

    de = pd.read_csv(tables / "de_within_anakinra.tsv", sep="\t").set_index("gene")
    assert list(de.columns) == ["baseMean", "log2FoldChange", "lfcSE", "stat", "pvalue", "padj"]
    change = {program: de.reindex(list(genes))["log2FoldChange"].median() for program, genes in PROGRAMS.items()}
    # planted log2 changes in the anakinra arm: IL-1 inflammation -1.0, proliferation +0.5, NK 0
    assert change["il1_inflammation"] < -0.5 and change["proliferation"] > 0.2 and abs(change["nk"]) < 0.3, change

    gsea = pd.read_csv(tables / "gsea_within_anakinra.tsv", sep="\t").set_index("gene_set")
    for gene_set in ("TME_IL1_INDUCED", "DANAHER2017_Neutrophils"):  # IL-1 inflammation and neutrophils fall
        assert gsea.loc[gene_set, "nes"] < 0 and gsea.loc[gene_set, "q"] < 0.05, gsea.loc[gene_set]
    warnings = pd.read_csv(work / "results/qc/warnings/gsea_within_anakinra.tsv", sep="\t")
    assert list(warnings.columns) == ["rule", "warning"]
