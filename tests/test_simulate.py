"""The simulated example carries its planted truth, and regenerating it gives the same bytes."""

from __future__ import annotations

import filecmp

import numpy as np
import pandas as pd
import pytest

from tme.simulate import EFFECTS, PROGRAMS, simulate_cohort, write_cohort

from conftest import REPO


@pytest.fixture(scope="module")
def cohort():
    return simulate_cohort(seed=34)  # the bundled example's seed


def test_committed_example_is_reproducible(tmp_path):
    paths = write_cohort(tmp_path, seed=34)
    for path in paths:
        assert filecmp.cmp(path, REPO / "config" / "example" / path.name, shallow=False), path.name


def test_cohort_shape(cohort):
    samples, counts = cohort["samples"], cohort["counts"]
    assert samples["patient_id"].nunique() >= 40
    arms = samples.drop_duplicates("patient_id")["arm"].value_counts()
    assert arms["anakinra"] == arms["usual_care"]  # 1:1
    n_genes = len(counts)
    assert n_genes >= 15000 and counts["gene_name"].is_unique
    library = counts.drop(columns=["gene_id", "gene_name"]).sum()
    usable = library[library > 1e6]
    assert usable.max() / usable.min() >= 5
    post_ok = samples[(samples["timepoint"] == "post") & (samples["exclude_reason"] == "")]["patient_id"]
    missing_post = 1 - (post_ok.nunique() - (library <= 1e6).sum()) / samples["patient_id"].nunique()
    assert 0.05 <= missing_post <= 0.15
    assert set(samples["batch"]) == {"run1", "run2"}


def _patient_changes(cohort, genes):
    """Per patient: post − pre change of the mean log2 CPM of ``genes``; with the patient's arm."""
    counts = cohort["counts"].set_index("gene_name").drop(columns="gene_id")
    counts = counts.loc[:, counts.sum() > 1e6]
    logcpm = np.log2(counts / counts.sum() * 1e6 + 1)
    score = logcpm.loc[list(genes)].mean()
    samples = cohort["samples"].set_index("sample_id").loc[score.index]
    wide = (
        pd.DataFrame(
            {"score": score, "patient": samples["patient_id"], "tp": samples["timepoint"], "arm": samples["arm"]}
        )
        .pivot_table(index=["patient", "arm"], columns="tp", values="score")
        .dropna()
    )
    change = (wide["post"] - wide["pre"]).reset_index()
    return change.groupby("arm")[0].mean()


@pytest.mark.parametrize("program", list(PROGRAMS))
def test_planted_program_changes(cohort, program):
    """Each program's mean change per arm equals the planted change within 0.25 log2 (≈3 SE)."""
    mean_change = _patient_changes(cohort, PROGRAMS[program])
    for arm, planted in EFFECTS[program].items():
        assert mean_change[arm] == pytest.approx(planted, abs=0.25), (program, arm)
    planted_diff = EFFECTS[program]["anakinra"] - EFFECTS[program]["usual_care"]
    assert mean_change["anakinra"] - mean_change["usual_care"] == pytest.approx(planted_diff, abs=0.25)


def test_unplanted_genes_do_not_change(cohort):
    planted = {g for genes in PROGRAMS.values() for g in genes}
    others = [g for g in cohort["counts"]["gene_name"] if g not in planted][:3000]
    mean_change = _patient_changes(cohort, others)
    assert abs(mean_change["anakinra"] - mean_change["usual_care"]) < 0.05


def test_planted_immune_densities(cohort):
    immune = cohort["immune"].merge(cohort["samples"], on="sample_id")
    immune["log_value"] = np.log(immune["value"])
    wide = immune.pivot_table(index=["patient_id", "arm", "measure"], columns="timepoint", values="log_value").dropna()
    change = (wide["post"] - wide["pre"]).groupby(["measure", "arm"]).mean()
    truth = cohort["truth"].query("feature_type == 'immune_measure'").set_index("feature")
    for measure in ("CD68", "CD163", "CD66b", "CD8"):
        diff = change[(measure, "anakinra")] - change[(measure, "usual_care")]
        assert diff == pytest.approx(truth.loc[measure, "between_arm_difference"], abs=0.3), measure
    # sTILs rise in both arms (biopsy-to-resection drift)
    assert change[("sTILs", "usual_care")] > 0.2 and change[("sTILs", "anakinra")] > 0.2
