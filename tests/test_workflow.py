"""The Snakemake workflow end to end on a small simulated cohort (bad input: tests/bad_inputs)."""

from __future__ import annotations

import pandas as pd
import pytest

pytestmark = pytest.mark.workflow


def test_workflow_writes_every_output(small_run):
    results = small_run / "results"
    for name in (
        "signature_scores",
        "changes_within_arm",
        "effects_between_arms",
        "de_interaction",
        "de_within_anakinra",
        "de_within_usual_care",
        "gsea_interaction",
    ):
        assert len(pd.read_csv(results / "tables" / f"{name}.tsv", sep="\t")) > 0, name
    assert (results / "provenance.json").exists() and (results / "expression" / "expression.h5ad").exists()
    pca = pd.read_csv(results / "qc" / "expression_pca.tsv", sep="\t")
    qc = pd.read_csv(results / "qc" / "expression_qc.tsv", sep="\t", keep_default_na=False)
    assert set(pca["sample_id"]) == set(qc.loc[qc["exclude_reason"] == "", "sample_id"])  # the usable samples
    assert pca[["PC1", "PC2"]].notna().all().all() and (pca["n_genes"] == 2000).all()


def test_sample_flow(small_run, small_cohort):
    flow = pd.read_csv(small_run / "results/tables/sample_flow.tsv", sep="\t", keep_default_na=False)
    counts = flow[~flow["step"].isin(["excluded", "missing"])].set_index(["modality", "arm", "step"])["n_patients"]
    assert counts[("expression", "anakinra", "randomised")] == "8"
    samples = pd.read_csv(small_cohort / "samples.tsv", sep="\t", keep_default_na=False)
    excluded_in_sheet = set(samples.loc[samples["exclude_reason"] != "", "sample_id"])
    assert excluded_in_sheet <= set(flow.loc[flow["step"] == "excluded", "sample_id"])
    files = pd.read_csv(small_run / "results/qc/input_files.tsv", sep="\t")
    assert list(files["input"]) == ["samples", "expression", "immune"] and files["sha256"].str.len().eq(64).all()


def test_warnings_table_names_what_changed_the_analysis(small_run, small_cohort):
    """Every excluded sample is named in results/qc/warnings.tsv, as are the patients the gene-level
    design dropped (each rule's own warnings reach the table through tme.workflow.run)."""
    warnings = pd.read_csv(small_run / "results/qc/warnings.tsv", sep="\t", keep_default_na=False)
    assert list(warnings.columns) == ["source", "warning"] and not warnings.duplicated().any()
    samples = pd.read_csv(small_cohort / "samples.tsv", sep="\t", keep_default_na=False)
    text = "\n".join(warnings["warning"])
    for sample_id in samples.loc[samples["exclude_reason"] != "", "sample_id"]:
        assert sample_id in text, sample_id
    per_rule = pd.read_csv(small_run / "results/qc/warnings/differential_expression.tsv", sep="\t")
    assert list(per_rule.columns) == ["rule", "warning"] and len(per_rule) >= 1  # 2 patients dropped
    from_rules = warnings[warnings["source"].str.startswith("rule ")]
    assert set(per_rule["warning"]) <= set(from_rules["warning"])
    assert (small_run / "results/key_results.pdf").read_bytes().startswith(b"%PDF")
    landing = (small_run / "results/report/key_results.html").read_text()
    assert f"Warnings ({len(warnings)})" in landing
