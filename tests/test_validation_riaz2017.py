"""Real-data validation: CheckMate-038 (Riaz 2017) through the whole workflow.

Independent references (not produced by tme): MORRISON-1 `cytotoxic-activity-khan2018` per sample
(Campbell, Cancer Cell 2023) and the authors' Affymetrix TIS of the same CM038 patients. Skips
with a reason when ../shared/validation/riaz2017 is absent; never copies its files.
"""

from __future__ import annotations

import io
import time

import pandas as pd
import pytest
from scipy.stats import spearmanr

from conftest import run_workflow, shared_path

pytestmark = [pytest.mark.validation, pytest.mark.workflow]


@pytest.fixture(scope="module")
def riaz(tmp_path_factory):
    """Prepare the cohort with `tme prepare riaz2017` and run the full workflow once (timed)."""
    import yaml

    from tme.prepare import prepare_riaz2017

    folder = shared_path("validation", "riaz2017")
    out = tmp_path_factory.mktemp("riaz2017")
    _, config_path = prepare_riaz2017(
        folder / "GSE91061_BMS038109Sample.hg19KnownGene.raw.csv.gz",
        folder / "bms038_clinical_data.csv",
        folder / "SampleTableCorrected.9.19.16.csv",
        out / "prepared",
    )
    config = yaml.safe_load(config_path.read_text())
    start = time.perf_counter()
    proc = run_workflow(out / "run", config)
    elapsed = time.perf_counter() - start
    assert proc.returncode == 0, proc.stderr[-4000:]
    print(f"\nRiaz 2017 full workflow: {elapsed:.0f} s")
    return {
        "folder": folder,
        "results": out / "run" / "results",
        "elapsed": elapsed,
        "workdir": out / "run",
        "config": config,
    }


def _scores(results, signature, method):
    scores = pd.read_csv(results / "tables" / "signature_scores.tsv", sep="\t")
    scores = scores[(scores["signature"] == signature) & (scores["method"] == method)].copy()
    parts = scores["sample_id"].str.extract(r"^(Pt\d+)_(Pre|On)_")
    scores["patient"], scores["visit"] = parts[0], parts[1].str.lower()
    return scores


def test_cytolytic_activity_matches_morrison1(riaz):
    """tme's CYT (Rooney 2015) vs MORRISON-1 cytotoxic-activity-khan2018: Spearman ≥ 0.97."""
    cyt = _scores(riaz["results"], "CYT_ROONEY2015", "cyt")
    ref = pd.read_csv(riaz["folder"] / "RNA-CancerCell-MORRISON1-immune_signatures-tiara_pd1-all_samples.tsv", sep="\t")
    ref = ref[ref["sample.id"].str.endswith("_rna_038")]
    parts = ref["sample.id"].str.extract(r"^(Pt\d+)_(pre|on)_rna_038$")
    ref = ref.assign(patient=parts[0], visit=parts[1])
    merged = cyt.merge(ref, on=["patient", "visit"])
    rho = spearmanr(merged["score"], merged["cytotoxic-activity-khan2018"]).statistic
    print(f"\nCYT vs MORRISON-1: Spearman {rho:.4f} over {len(merged)} samples")
    assert len(merged) >= 90 and rho >= 0.97


def test_gep_matches_affymetrix_tis(riaz):
    """tme's T-cell-inflamed GEP (Cristescu weights, housekeeping-normalised) vs the CM038 Affymetrix TIS: ≥ 0.88.

    Samples are matched on the trial subject ID (USUBJID, via the authors' sample table); the
    Affymetrix table's `individual` number disagrees with USUBJID for 9 of its rows, so it is not used.
    """
    gep = _scores(riaz["results"], "AYERS_TCELL_INFLAMED_GEP_18", "weighted")
    folder = riaz["folder"]
    table = pd.read_csv(io.StringIO((folder / "SampleTableCorrected.9.19.16.csv").read_text().replace("\r", "\n")))
    patient_of = table.drop_duplicates("PatientID").set_index("USUBJID")["PatientID"]
    affy = pd.read_csv(folder / "CM038_affy_sdrf_scores.csv")
    affy = affy.assign(
        patient=affy["USUBJID"].map(patient_of),
        visit=affy["sampling_time_point"].map(lambda t: "pre" if t == "screen" else "on"),
        tis=affy["TIS"].fillna(affy["TIS_D29"]),
    ).dropna(subset=["patient", "tis"])
    merged = gep.merge(affy[["patient", "visit", "tis"]], on=["patient", "visit"])
    rho = spearmanr(merged["score"], merged["tis"]).statistic
    print(f"\nGEP vs Affymetrix TIS: Spearman {rho:.4f} over {len(merged)} samples")
    assert len(merged) >= 75 and rho >= 0.88


def test_sample_flow_matches_publication(riaz):
    """43 patients with both samples: 19 ipilimumab-naive, 24 ipilimumab-progressed (Riaz 2017)."""
    flow = pd.read_csv(riaz["results"] / "tables" / "sample_flow.tsv", sep="\t", keep_default_na=False)
    paired = flow[flow["step"] == "paired"].set_index("arm")["n_patients"].astype(int)
    assert paired.to_dict() == {"NIV3-NAIVE": 19, "NIV3-PROG": 24}
    excluded = flow[flow["step"] == "excluded"]
    assert excluded["reason"].str.startswith("technical replicate").sum() == 1


def test_all_tables_produced(riaz):
    results = riaz["results"]
    for name in (
        "effects_between_arms",
        "changes_within_arm",
        "de_interaction",
        "de_within_NIV3-NAIVE",
        "de_within_NIV3-PROG",
        "gsea_interaction",
        "signature_scores",
    ):
        table = pd.read_csv(results / "tables" / f"{name}.tsv", sep="\t")
        assert len(table) > 0, name
    between = pd.read_csv(results / "tables" / "effects_between_arms.tsv", sep="\t")
    assert between.loc[between["analysis"] == "ancova", "estimate"].notna().mean() > 0.9
    assert (results / "provenance.json").exists()


def test_report_builds(riaz):
    proc = run_workflow(riaz["workdir"], riaz["config"], "--report", "results/report.html")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (riaz["results"] / "report.html").stat().st_size > 100_000
