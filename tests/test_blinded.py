"""Blinded mode: the arm column is never read; permuting arm labels changes no output byte, the blinded
sample-size re-estimation (planning_blinded.tsv) included."""

from __future__ import annotations

import hashlib

import pandas as pd
import pytest

from tme.planning.reestimation import REESTIMATE_COLUMNS

from conftest import run_workflow

pytestmark = pytest.mark.workflow


def _outputs(results):
    # provenance.json holds the timestamps, which the report's methods page shows
    files = [p for p in sorted(results.rglob("*")) if p.is_file() and p.name not in {"provenance.json", "methods.html"}]
    return {str(p.relative_to(results)): hashlib.sha256(p.read_bytes()).hexdigest() for p in files}


PRIMARY = [
    {"name": "tam", "feature": "CD68", "role": "primary"},
    {"name": "il1", "feature": "TME_IL1_INDUCED|singscore", "role": "primary"},
]


def test_blinded_outputs_invariant_under_arm_permutation(small_cohort, tmp_path):
    sheet = pd.read_csv(small_cohort / "samples.tsv", sep="\t", dtype=str, keep_default_na=False)
    arm_of = dict(zip(sheet["patient_id"], sheet["arm"]))
    patients = sorted(arm_of)
    rotated = dict(zip(patients, [arm_of[p] for p in patients[1:] + patients[:1]]))
    permuted = sheet.assign(arm=sheet["patient_id"].map(rotated))
    assert (permuted["arm"] != sheet["arm"]).any()

    runs = {}
    for name, frame in (("original", sheet), ("permuted", permuted)):
        workdir = tmp_path / name
        (workdir / "inputs").mkdir(parents=True)
        frame.to_csv(workdir / "inputs" / "samples.tsv", sep="\t", index=False)
        for file in ("salmon.merged.gene_counts.tsv.gz", "immune.tsv"):
            (workdir / "inputs" / file).symlink_to(small_cohort / file)
        config = {
            "samples": "inputs/samples.tsv",
            "blinded": True,
            "expression": {"path": "inputs/salmon.merged.gene_counts.tsv.gz", "format": "nfcore_salmon_counts"},
            "immune": {"path": "inputs/immune.tsv"},
            "analysis_plan": {"endpoints": PRIMARY},
            "planning": {
                "targets": {"tam": {"effect": 0.67, "scale": "ln"}, "il1": {"effect": -0.1}},
                "n_trials": 200,
                "n_bootstrap": 200,
            },
        }
        proc = run_workflow(workdir, config)
        assert proc.returncode == 0, proc.stderr[-3000:]
        runs[name] = _outputs(workdir / "results")
        for path in [*(workdir / "results").rglob("*.tsv"), *(workdir / "logs").rglob("*.log")]:
            text = path.read_text()
            assert "anakinra" not in text and "usual_care" not in text, path
    assert runs["original"] == runs["permuted"]

    results = tmp_path / "original" / "results"
    assert not (results / "tables" / "effects_between_arms.tsv").exists()
    pooled = pd.read_csv(results / "tables" / "changes_pooled.tsv", sep="\t")
    assert set(pooled["arm"]) == {"pooled"} and pooled["estimate"].notna().any()
    # the blinded re-estimation only: pooled quantities, none of the unblinded planning's arm-wise outputs
    planning = pd.read_csv(results / "tables" / "planning_blinded.tsv", sep="\t")
    assert list(planning.columns) == REESTIMATE_COLUMNS and list(planning["endpoint"]) == ["tam", "il1"]
    assert (planning["n_per_arm"] >= planning["n_pairs_pilot"] / 2).all()
    planning_files = [p.name for p in results.rglob("planning*") if "report" not in p.relative_to(results).parts]
    assert planning_files == ["planning_blinded.tsv"]  # the report's table page shows that table only
