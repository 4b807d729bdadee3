"""The NanoString and IHC panel example (config/nanostring.yaml, as `tme simulate --nanostring` writes it)
through Snakemake: RCC files -> nCounter QC -> coverage rule -> signature scores -> paired statistics."""

from __future__ import annotations

import pandas as pd
import pytest

from conftest import run_workflow

pytestmark = pytest.mark.workflow

TARGETS = (
    "results/qc/nanostring_qc.tsv",
    "results/qc/nanostring_files.tsv",
    "results/qc/signature_coverage.tsv",
    "results/figures/cohort/nanostring_qc.png",
    "results/tables/sample_flow.tsv",
    "results/tables/signature_scores.tsv",
    "results/tables/effects_between_arms.tsv",
    "results/tables/changes_within_arm.tsv",
)


def _read(path) -> pd.DataFrame:
    return pd.read_csv(path, sep="\t", keep_default_na=False, na_values=["NA"])


@pytest.fixture(scope="module")
def panel_run(tmp_path_factory):
    """The panel example's config on a smaller cohort (12 patients, the full 750-gene panel), without
    bootstrap; its analysis outputs (not the report's plots, which other workflow tests cover)."""
    from tme.nanostring.simulate import example_config, write_rcc_cohort

    root = tmp_path_factory.mktemp("nanostring_run")
    write_rcc_cohort(root / "data", seed=34, n_patients=12)
    config = example_config(root / "data")
    config["statistics"] = {"n_bootstrap": 0, "differential_expression": False}
    proc = run_workflow(root / "run", config, "--show-failed-logs", *TARGETS)  # an option ends --quiet's list
    assert proc.returncode == 0, proc.stderr[-4000:]
    return root


def test_nanostring_qc_table_and_sample_flow(panel_run):
    results = panel_run / "run" / "results"
    qc = _read(results / "qc" / "nanostring_qc.tsv")
    planted = _read(panel_run / "data" / "qc_truth.tsv")
    failed = qc.loc[qc["qc_action"] == "exclude", "sample_id"]
    assert sorted(failed) == sorted(planted["sample_id"])  # the QC finds exactly the planted failures
    assert (qc["match_by"] == "file_name").all() and (qc["matched_on"] == qc["sample_id"]).all()
    assert (results / "figures" / "cohort" / "nanostring_qc.png").stat().st_size > 10_000
    flow = _read(results / "tables" / "sample_flow.tsv")
    excluded = flow[(flow["modality"] == "expression") & (flow["step"] == "excluded")]
    reasons = excluded.set_index("sample_id")["reason"]
    assert set(reasons[reasons.str.startswith("nCounter QC: ")].index) == set(planted["sample_id"])
    scores = _read(results / "tables" / "signature_scores.tsv")
    assert not set(planted["sample_id"]) & set(scores["sample_id"])  # excluded samples are not scored


def test_signatures_below_the_coverage_rule_are_absent_from_every_table(panel_run):
    results = panel_run / "run" / "results"
    coverage = _read(results / "qc" / "signature_coverage.tsv")
    below = set(coverage.loc[~coverage["scored"], "signature"] + "|" + coverage.loc[~coverage["scored"], "method"])
    above = set(coverage.loc[coverage["scored"], "signature"] + "|" + coverage.loc[coverage["scored"], "method"])
    assert "AYERS_TCELL_INFLAMED_GEP_18|weighted" in above  # the IO 360-like panel covers the GEP
    assert len(below) >= 10  # a 750-gene panel leaves much of the library unscored
    assert (coverage.loc[~coverage["scored"], "reason"] != "").all()
    for table in ("signature_scores", "effects_between_arms", "changes_within_arm"):
        frame = _read(results / "tables" / f"{table}.tsv")
        if "feature" not in frame:  # the long score table: signature, method
            frame["feature"] = frame["signature"] + "|" + frame["method"]
        assert not below & set(frame["feature"]), table
        assert set(frame.loc[frame["feature"].str.contains("|", regex=False), "feature"]) <= above
    effects = _read(results / "tables" / "effects_between_arms.tsv")
    signatures = effects[effects["feature_type"] == "signature"]
    expected = dict(zip(coverage["signature"] + "|" + coverage["method"], coverage["coverage"]))
    assert (signatures["coverage"] == signatures["feature"].map(expected)).all()


def test_primary_family_holds_the_panel_and_ihc_endpoints(panel_run):
    effects = _read(panel_run / "run" / "results" / "tables" / "effects_between_arms.tsv")
    primary = effects[(effects["family"] == "primary") & effects["primary_analysis"]].set_index("endpoint")
    assert set(primary.index) == {"il1_induced", "il1b_hscore"}
    assert primary.loc["il1b_hscore", "analysis"] == "mann_whitney_change"  # a bounded score: rank-based
    assert (primary["estimate"] < 0).all()  # planted: IL-1 inflammation lower after anakinra
