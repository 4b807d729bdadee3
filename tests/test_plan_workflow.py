"""The analysis plan through the workflow: a patients sheet, baseline covariates and strata, a
per-protocol population and plan endpoints, with the next trial planned from its primary family (rule
planning); and a single-arm window study, to a report."""

from __future__ import annotations

import pandas as pd
import pytest

from tme.planning import TABLE_COLUMNS

from conftest import cohort_config, run_workflow

pytestmark = pytest.mark.workflow

SMALL = {"scoring": {"collections": ["tme_il1", "danaher2017"]},
         "statistics": {"n_bootstrap": 100, "differential_expression": False}}  # fmt: skip
ENDPOINTS = [
    {"name": "il1", "feature": "TME_IL1_INDUCED|singscore", "role": "primary", "display": "IL-1-induced genes"},
    {"name": "tam", "feature": "CD68", "role": "primary", "display": "CD68+ TAM density", "unit": "cells/mm2"},
    {"name": "il1b", "feature": "gene|IL1B", "role": "key_secondary", "display": "IL1B expression"},
    {"name": "nk", "feature": "CD56", "role": "key_secondary"},
]


def _patients_sheet(cohort, path):
    sheet = pd.read_csv(cohort / "samples.tsv", sep="\t")
    patients = sorted(sheet["patient_id"].unique())
    doses = [14 if i % 5 else 9 for i in range(len(patients))]  # every fifth patient took fewer than 12 doses
    pd.DataFrame(
        {"patient_id": patients, "age": [45 + (7 * i) % 23 for i in range(len(patients))], "doses_received": doses}
    ).to_csv(path, sep="\t", index=False)
    return {p for p, d in zip(patients, doses) if d >= 12}


def test_plan_with_patients_sheet_strata_and_per_protocol(small_cohort, tmp_path):
    per_protocol = _patients_sheet(small_cohort, tmp_path / "patients.tsv")
    plan = {"endpoints": ENDPOINTS, "strata": ["subtype"], "covariates": ["age"],
            "patients": {"path": str(tmp_path / "patients.tsv"),
                         "columns": {"age": "number", "doses_received": "number"}},
            "per_protocol": {"column": "doses_received", "min": 12}}  # fmt: skip
    planning = {"targets": {"il1": {"effect": -0.1}, "tam": {"effect": 0.67, "scale": "ln"}},
                "n_trials": 200, "n_bootstrap": 200}  # fmt: skip
    work = tmp_path / "run"
    done = run_workflow(work, cohort_config(small_cohort, analysis_plan=plan, planning=planning, **SMALL))
    assert done.returncode == 0, done.stderr[-3000:]
    effects = pd.read_csv(work / "results/tables/effects_between_arms.tsv", sep="\t", keep_default_na=False)
    head = effects.drop_duplicates("feature").head(4)
    assert list(head["feature"]) == ["TME_IL1_INDUCED|singscore", "CD68", "gene|IL1B", "CD56"]  # plan order
    assert list(head["family"]) == ["primary", "primary", "key_secondary", "key_secondary"]
    ancova = effects[(effects["analysis"] == "ancova") & (effects["population"] == "itt")]
    assert set(ancova["covariates"]) == {"subtype;age"}
    assert set(ancova.loc[ancova["family"] == "primary", "multiplicity"]) == {"holm"}
    assert set(ancova.loc[ancova["family"] == "key_secondary", "multiplicity"]) == {"hierarchical"}
    pp = effects[effects["population"] == "per_protocol"]
    assert set(pp["analysis"]) == {"ancova"} and len(pp) == ancova["feature"].nunique()
    flow = pd.read_csv(work / "results/tables/sample_flow.tsv", sep="\t", keep_default_na=False)
    counts = flow[flow["step"] == "per_protocol"].groupby("modality")["n_patients"].apply(lambda s: s.astype(int).sum())
    assert (counts == len(per_protocol)).all()
    within = pd.read_csv(work / "results/tables/changes_within_arm.tsv", sep="\t", keep_default_na=False)
    assert {"endpoint", "display_name", "p_adjusted", "multiplicity"} <= set(within.columns)
    # the next trial: one row per primary endpoint, in plan order, with the documented columns, and the power curves
    planning = pd.read_csv(work / "results/tables/planning.tsv", sep="\t")
    assert list(planning.columns) == TABLE_COLUMNS and list(planning["endpoint"]) == ["il1", "tam"]
    assert set(planning["multiplicity"]) == {"holm"} and (planning["family_size"] == 2).all()
    pairs = planning["n_pairs_reference"] + planning["n_pairs_treatment"]
    assert (pairs <= planning["n_patients"]).all() and (planning["n_patients"] <= 16).all()
    assert (work / "results/figures/planning/power_curves.png").stat().st_size > 10_000


def test_single_arm_window_study_reaches_a_report(small_cohort, tmp_path):
    cohort = tmp_path / "cohort"
    cohort.mkdir()
    sheet = pd.read_csv(small_cohort / "samples.tsv", sep="\t", keep_default_na=False)
    kept = sheet[sheet["arm"] == "anakinra"]
    kept.to_csv(cohort / "samples.tsv", sep="\t", index=False)
    immune = pd.read_csv(small_cohort / "immune.tsv", sep="\t")
    immune[immune["sample_id"].isin(kept["sample_id"])].to_csv(cohort / "immune.tsv", sep="\t", index=False)
    config = cohort_config(
        small_cohort, design={"reference_arm": None}, analysis_plan={"endpoints": ENDPOINTS[:2]}, **SMALL
    )
    config["samples"], config["immune"]["path"] = str(cohort / "samples.tsv"), str(cohort / "immune.tsv")
    config["expression"]["extra_samples"] = "ignore"
    work = tmp_path / "run"
    for args in ((), ("--report", str(work / "report.html"))):
        done = run_workflow(work, config, *args)
        assert done.returncode == 0, done.stderr[-3000:]
    tables = work / "results" / "tables"
    assert not (tables / "effects_between_arms.tsv").exists()
    within = pd.read_csv(tables / "changes_within_arm.tsv", sep="\t")
    assert set(within["arm"]) == {"anakinra"}
    primary = within[(within["family"] == "primary") & (within["analysis"] == "paired_t")]
    assert len(primary) == 2 and set(primary["multiplicity"]) == {"holm"}
    assert (work / "report.html").stat().st_size > 100_000
