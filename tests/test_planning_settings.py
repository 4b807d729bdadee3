"""The planning section of the config (tme.planning.settings) and what rule planning / tme power compute from
it (tme.planning.run): resolution against the plan, the sheet's pairs, the blinded path that never sees arms."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tme.config import Design
from tme.errors import TmeInputError
from tme.planning import TrialModel, blinded_reestimation_table, simulate_trials
from tme.planning.run import compute_planning, planning_outputs, read_values
from tme.planning.settings import PlanningSettings, check_planned_pairs
from tme.run_features import feature_tables, require_tables
from tme.schema import validate

ENDPOINTS = [
    {"name": "tam", "feature": "CD68", "role": "primary"},
    {"name": "il1", "feature": "TME_IL1_INDUCED|singscore", "role": "primary"},
    {"name": "nk", "feature": "CD56", "role": "key_secondary"},
]
TARGETS = {"tam": {"effect": 0.67, "scale": "ln"}, "il1": {"effect": -0.1}}


def config(planning: dict | None = None, **top) -> dict:
    """A validated config dict (defaults filled; no files needed) with a plan and a planning section."""
    raw = {
        "samples": "samples.tsv",
        "immune": {"path": "immune.tsv"},
        "analysis_plan": {"endpoints": ENDPOINTS},
        "planning": {"targets": TARGETS, **(planning or {})},
        **top,
    }
    return validate(raw, "config")


def test_settings_follow_the_plan_and_the_run():
    settings = PlanningSettings.from_config(config())
    assert dict(settings.endpoints) == {"tam": "CD68", "il1": "TME_IL1_INDUCED|singscore"}  # primary, plan order
    assert settings.multiplicity == "holm" and settings.seed == 20261125 and settings.conf_level == 0.95
    assert settings.targets["tam"].difference == pytest.approx(np.log(0.67))
    assert (settings.alpha, settings.power, settings.n_trials, settings.estimator) == (0.05, 0.8, 1000, "ancova")
    hierarchical = config(
        {"multiplicity": "plan", "seed": 3},
        analysis_plan={
            "endpoints": ENDPOINTS,
            "multiplicity": {"primary": "hierarchical"},
            "hierarchy": ["il1", "tam"],
        },
        statistics={"confidence_level": 0.9},
    )
    settings = PlanningSettings.from_config(hierarchical)
    assert list(settings.endpoints) == ["il1", "tam"]  # the fixed sequence's testing order
    assert settings.multiplicity == "hierarchical" and settings.seed == 3 and settings.conf_level == 0.9
    assert PlanningSettings.from_config(config({"multiplicity": "bonferroni"})).multiplicity == "bonferroni"
    assert PlanningSettings.from_config({**config(), "planning": None}) is None


def sheet(pairs: dict[str, int], singles: int = 1, blinded: bool = False) -> pd.DataFrame:
    """A validated-sheet-like frame: ``pairs[arm]`` patients with both samples, ``singles`` with pre only per arm,
    and one excluded post sample per arm (which does not count)."""
    rows = []
    for arm, n in pairs.items():
        for i in range(n + singles + 1):
            patient = f"{arm}{i}"
            rows.append((patient, arm, "pre", ""))
            if i < n:
                rows.append((patient, arm, "post", ""))
            elif i == n + singles:
                rows.append((patient, arm, "post", "RNA failed QC"))
    frame = pd.DataFrame(rows, columns=["patient_id", "arm", "timepoint", "exclude_reason"])
    if blinded:
        frame["arm"] = "pooled"
    frame.attrs["path"] = "samples.tsv"
    return frame


def test_the_sheet_must_hold_enough_pairs():
    check_planned_pairs(config(), sheet({"usual_care": 3, "anakinra": 3}))
    with pytest.raises(TmeInputError) as caught:
        check_planned_pairs(config(), sheet({"usual_care": 3, "anakinra": 2}))
    message = str(caught.value)
    assert message.startswith("samples.tsv: config key 'planning': endpoint 'tam' (CD68)")
    assert "3 (reference arm) and 2 (treatment arm)" in message and "planning.priors: {tam: {rho: 0.5}}" in message
    with pytest.raises(TmeInputError, match="endpoint 'il1'"):  # a prior for one endpoint, not the other
        check_planned_pairs(config({"priors": {"tam": {"rho": 0.4}}}), sheet({"usual_care": 2, "anakinra": 2}))
    priors = {"tam": {"rho": 0.4}, "il1": {"rho": 0.6}}
    check_planned_pairs(config({"priors": priors}), sheet({"usual_care": 2, "anakinra": 2}))
    blinded = config(blinded=True)
    check_planned_pairs(blinded, sheet({"pooled": 4}, blinded=True))
    with pytest.raises(TmeInputError, match="3 patients with both samples; the blinded variance"):
        check_planned_pairs(blinded, sheet({"pooled": 3}, blinded=True))
    check_planned_pairs({**config(), "planning": None}, sheet({"usual_care": 1, "anakinra": 1}))


def trial_values(seed: int = 5, n_per_arm: int = 12) -> pd.DataFrame:
    """Both endpoints' values of one simulated trial (10 % missing posts), in tme's long format."""
    rng = np.random.default_rng(seed)
    frames = []
    for feature, model, effect in (
        ("CD68", TrialModel(0.6, 0.7, 0.5, 0.1, 0.1), -0.4),
        ("TME_IL1_INDUCED|singscore", TrialModel(0.05, 0.06, 0.7, 0.0, 0.1), -0.08),
    ):
        trial = simulate_trials(model, n_per_arm, effect, 1, rng)
        for timepoint, v in (("pre", trial.pre[0]), ("post", trial.post[0])):
            frames.append(
                pd.DataFrame(
                    {
                        "patient_id": [f"P{i:02d}" for i in range(2 * n_per_arm)],
                        "arm": np.where(trial.treated, "anakinra", "usual_care"),
                        "timepoint": timepoint,
                        "feature": feature,
                        "value": v,
                    }
                )
            )
    return pd.concat(frames, ignore_index=True).dropna(subset=["value"])


def test_blinded_planning_reads_no_arm():
    """A blinded run's values carry the pooled group as arm: it is dropped, the result is the pooled
    re-estimation, and a table with real arm labels is refused rather than read."""
    settings = PlanningSettings.from_config(config(blinded=True))
    design = Design(blinded=True)
    values = trial_values()
    pooled = values.assign(arm="pooled")
    computed = compute_planning(settings, pooled, design)
    assert list(computed) == ["blinded"]
    expected = blinded_reestimation_table(
        values.drop(columns="arm"), design, settings.endpoints, settings.targets, multiplicity="holm"
    )
    pd.testing.assert_frame_equal(computed["blinded"], expected)
    assert list(planning_outputs(True)) == ["blinded"]
    with pytest.raises(TmeInputError, match="'arm' column"):
        compute_planning(settings, values, design)


def test_unblinded_planning_computes_every_output():
    settings = PlanningSettings.from_config(config({"n_trials": 100, "n_bootstrap": 100, "n_grid": [5, 10]}))
    computed = compute_planning(settings, trial_values(), Design())
    assert list(computed) == list(planning_outputs(False)) == ["table", "grid", "assumptions", "pilot"]
    assert list(computed["table"]["endpoint"]) == ["tam", "il1"] and set(computed["grid"]["n_per_arm"]) == {5, 10}
    assert set(computed["pilot"]["true_variance_factor"]) == {0.5, 1.0, 2.0}
    assert computed["assumptions"].startswith("## Sample size: assumptions")


def test_values_tables_name_what_is_missing(tmp_path):
    path = tmp_path / "values.tsv"
    trial_values().drop(columns="arm").to_csv(path, sep="\t", index=False)
    assert "arm" not in read_values(path, Design(blinded=True)).columns
    with pytest.raises(TmeInputError) as caught:
        read_values(path, Design())
    assert str(caught.value).startswith(f"{path}, line 1, column 'arm': the values table lacks column(s) arm")


def test_a_runs_feature_tables(tmp_path):
    tables = feature_tables(config(), tmp_path)
    assert tables == {"immune": tmp_path / "immune/immune_values.tsv"}
    gene = [{"name": "il1b", "feature": "gene|IL1B", "role": "primary"}]
    both = config(expression={"path": "x.tsv"}, analysis_plan={"endpoints": gene})
    assert set(feature_tables(both, tmp_path)) == {"scores", "coverage", "immune", "expression"}
    with pytest.raises(TmeInputError, match="run the workflow first"):
        require_tables(tables)
