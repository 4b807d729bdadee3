"""Nuisance parameters per endpoint (tme.planning.estimate_nuisance).

References: a direct pandas/statistics computation of each definition (pooled within-arm SD and
correlation, mean change per arm, missing share) on awkward data (ties, missing values, a patient
with only a post sample, n >= 50); the closed-form truth of tme.simulate's immune model (CD68 on the
log scale) and of the planning simulator; bootstrap CI coverage over repeated trials.
"""

from __future__ import annotations

import statistics

import numpy as np
import pandas as pd
import pytest

from tme.config import Design
from tme.errors import TmeInputError
from tme.planning import PARAMETERS, TrialModel, estimate_nuisance, simulate_trials


def long_table(trials, t: int = 0, feature: str = "x", design: Design = Design()) -> pd.DataFrame:
    """One simulated trial as tme's long table."""
    n = len(trials.treated)
    frames = []
    for timepoint, values in ((design.pre, trials.pre[t]), (design.post, trials.post[t])):
        frames.append(
            pd.DataFrame(
                {
                    "patient_id": [f"P{i:03d}" for i in range(n)],
                    "arm": np.where(trials.treated, design.treatment_arm, design.reference_arm),
                    "timepoint": timepoint,
                    "feature": feature,
                    "value": values,
                }
            )
        )
    return pd.concat(frames, ignore_index=True).dropna(subset=["value"])


def _direct(values: pd.DataFrame, design: Design = Design()) -> dict:
    """The documented definitions computed another way (statistics.variance, numpy least squares)."""
    wide = values.pivot(index="patient_id", columns="timepoint", values="value")
    wide["arm"] = values.drop_duplicates("patient_id").set_index("patient_id")["arm"]
    groups = [g[design.pre].dropna().tolist() for _, g in wide.groupby("arm")]
    baseline_var = sum((len(g) - 1) * statistics.variance(g) for g in groups) / (sum(map(len, groups)) - 2)
    pairs = wide.dropna(subset=[design.pre, design.post])
    x = np.column_stack([np.ones(len(pairs)), pairs[design.pre], pairs["arm"] == design.treatment_arm])
    coef, rss, *_ = np.linalg.lstsq(x, pairs[design.post].to_numpy(), rcond=None)
    residual_var = rss[0] / (len(pairs) - 3)
    post_sd = np.sqrt(residual_var + coef[1] ** 2 * baseline_var)
    change = pairs[design.post] - pairs[design.pre]
    return {
        "baseline_sd": baseline_var**0.5,
        "post_sd": post_sd,
        "rho": coef[1] * baseline_var**0.5 / post_sd,
        "residual_sd": residual_var**0.5,
        "drift_reference": change[pairs["arm"] == design.reference_arm].mean(),
        "drift_treatment": change[pairs["arm"] == design.treatment_arm].mean(),
        "missing_post": 1 - len(pairs) / wide[design.pre].notna().sum(),
    }


def awkward_table() -> pd.DataFrame:
    """60 patients: rounded values (ties), 9 missing posts, one patient with only a post value."""
    rng = np.random.default_rng(5)
    trials = simulate_trials(TrialModel(1.0, 1.3, 0.4, 0.2, missing_post=0.15), 30, -0.7, 1, rng)
    values = long_table(trials).assign(value=lambda d: d["value"].round(1))
    return values[~((values["patient_id"] == "P007") & (values["timepoint"] == "pre"))]


def test_estimates_equal_the_definitions_on_awkward_data():
    values = awkward_table()
    row = estimate_nuisance(values, Design(), ["x"], n_bootstrap=200, seed=1).iloc[0]
    expected = _direct(values)
    for name in PARAMETERS:
        assert row[name] == pytest.approx(expected[name], rel=1e-12, abs=1e-14), name
        assert row[f"{name}_ci_low"] <= row[name] <= row[f"{name}_ci_high"], name
    assert row["n_patients"] == 60
    assert row["n_pairs_reference"] + row["n_pairs_treatment"] == values.groupby("patient_id").size().eq(2).sum()
    assert row["source"] == "estimated"


def test_deterministic_and_independent_of_other_endpoints():
    a = awkward_table()
    b = a.assign(feature="y", value=a["value"] * 2)
    one = estimate_nuisance(a, Design(), ["x"], n_bootstrap=300, seed=3)
    both = estimate_nuisance(pd.concat([b, a]), Design(), ["y", "x"], n_bootstrap=300, seed=3)
    pd.testing.assert_frame_equal(one, both[both["endpoint"] == "x"].reset_index(drop=True))
    scaled = both.set_index("endpoint")
    assert scaled.loc["y", "post_sd"] == pytest.approx(2 * scaled.loc["x", "post_sd"])
    assert scaled.loc["y", "rho"] == pytest.approx(scaled.loc["x", "rho"])


def test_endpoint_mapping_to_feature_names():
    table = estimate_nuisance(awkward_table(), Design(), {"IL-1 score": "x"}, n_bootstrap=100)
    assert table.loc[0, ["endpoint", "feature"]].tolist() == ["IL-1 score", "x"]


def test_large_trial_recovers_the_simulator_truth():
    model = TrialModel(0.8, 1.1, 0.65, drift_reference=0.3, missing_post=0.1, missing_slope=0.8)
    trials = simulate_trials(model, 3000, -0.5, 1, np.random.default_rng(8))
    row = estimate_nuisance(long_table(trials), Design(), ["x"], n_bootstrap=200).iloc[0]
    truth = {
        "baseline_sd": 0.8,
        "post_sd": 1.1,
        "rho": 0.65,
        "residual_sd": model.residual_sd,
        "drift_reference": 0.3,
        "missing_post": 0.1,
    }
    for name, value in truth.items():
        assert row[f"{name}_ci_low"] < value < row[f"{name}_ci_high"], name
    # drift_treatment is not the design parameter under MAR missingness: missing posts depend on the baseline
    assert row["drift_treatment"] - row["drift_reference"] == pytest.approx(-0.5, abs=0.08)


def test_bootstrap_cis_cover_the_truth():
    model = TrialModel(1.0, 1.0, 0.5, missing_post=0.1)
    rng = np.random.default_rng(11)
    trials = simulate_trials(model, 20, 0.0, 200, rng)
    truth = {"post_sd": 1.0, "rho": 0.5, "residual_sd": model.residual_sd, "drift_reference": 0.0}
    hits = {name: 0 for name in truth}
    for t in range(200):
        row = estimate_nuisance(long_table(trials, t), Design(), ["x"], n_bootstrap=1000, seed=t).iloc[0]
        for name, value in truth.items():
            hits[name] += row[f"{name}_ci_low"] <= value <= row[f"{name}_ci_high"]
    coverage = {name: h / 200 for name, h in hits.items()}
    print(f"\n95 % BCa bootstrap coverage, 20 per arm, 200 trials: {coverage}")
    # bootstrap intervals of SDs undercover at 20 per arm (documented in tme.planning.nuisance);
    # the bound catches a broken interval (e.g. percentile limits swapped or a wrong resampling unit)
    assert all(0.85 <= c <= 0.99 for c in coverage.values()), coverage


def test_example_cd68_matches_the_cohort_simulator():
    """tme.simulate: log CD68 = program (patient SD 0.6 + sample SD 0.25, log2 units) x ln 2 + N(0, 0.35)."""
    from tme.simulate import simulate_cohort

    cohort = simulate_cohort(seed=3, n_patients=400, n_genes=6000)
    samples = cohort["samples"].query("exclude_reason == ''")
    immune = cohort["immune"].merge(samples[["sample_id", "patient_id", "arm", "timepoint"]], on="sample_id")
    values = immune.assign(feature=immune["measure"], value=np.log1p(immune["value"]))
    # 99 % intervals: this cohort's baseline SD happens to sit 2.3 SEs above the model's
    row = estimate_nuisance(values, Design(), ["CD68"], n_bootstrap=1000, conf_level=0.99).iloc[0]
    ln2 = np.log(2)
    var = ln2**2 * (0.6**2 + 0.25**2) + 0.35**2
    rho = ln2**2 * 0.6**2 / var
    for name, value in {
        "baseline_sd": var**0.5,
        "post_sd": var**0.5,
        "rho": rho,
        "residual_sd": (var * (1 - rho**2)) ** 0.5,
    }.items():
        assert row[f"{name}_ci_low"] < value < row[f"{name}_ci_high"], (name, value, row[name])
    assert row["drift_treatment"] - row["drift_reference"] == pytest.approx(-0.6 * ln2, abs=0.1)


def test_priors_replace_estimates():
    values = awkward_table()
    row = estimate_nuisance(values, Design(), ["x"], n_bootstrap=100, priors={"x": {"rho": 0.3}}).iloc[0]
    assert row["rho"] == 0.3 and np.isnan(row["rho_ci_low"]) and row["source"] == "prior: rho"
    assert row["residual_sd"] == pytest.approx(row["post_sd"] * np.sqrt(1 - 0.09))
    assert row["residual_sd_ci_low"] < row["residual_sd"] < row["residual_sd_ci_high"]


def _few_pairs() -> pd.DataFrame:
    values = awkward_table()
    keep = {f"P{i:03d}" for i in (0, 1, 2, 30, 31)}
    return values[values["patient_id"].isin(keep)]


@pytest.mark.parametrize(
    "values,priors,match",
    [
        (
            _few_pairs(),
            None,
            r"too few patients with both samples.*reference arm 3, treatment arm 2.*Fix: give a prior",
        ),
        (awkward_table().assign(value=1.0), None, "baseline_sd cannot be estimated|not strictly inside"),
        (awkward_table(), {"y": {"rho": 0.5}}, "not in the plan"),
        (awkward_table(), {"x": {"rho": 1.0}}, "prior rho = 1.0 .* strictly between -1 and 1"),
        (awkward_table(), {"x": {"rho": "high"}}, "prior rho = high"),
        (awkward_table(), {"x": {"sd": 1.0}}, "unknown parameter 'sd'"),
        (awkward_table(), {"x": {"missing_post": 1.0}}, r"in \[0, 1\)"),
    ],
)
def test_bad_input_is_explained(values, priors, match):
    with pytest.raises(TmeInputError, match=match):
        estimate_nuisance(values, Design(), ["x"], n_bootstrap=50, priors=priors)


def test_perfect_correlation_and_too_few_pairs_accept_a_prior():
    values = awkward_table()
    values = values.assign(
        value=np.where(values["timepoint"] == "post", 0, 0) + values.groupby("patient_id")["value"].transform("first")
    )  # post = pre exactly: rho = 1
    with pytest.raises(TmeInputError, match="not strictly inside"):
        estimate_nuisance(values, Design(), ["x"], n_bootstrap=50)
    row = estimate_nuisance(_few_pairs(), Design(), ["x"], n_bootstrap=50, priors={"x": {"rho": 0.5}}).iloc[0]
    assert row["rho"] == 0.5


def test_unknown_endpoint_feature_names_the_nearest():
    with pytest.raises(TmeInputError, match=r"feature 'xx'.*did you mean 'x'"):
        estimate_nuisance(awkward_table(), Design(), {"e": "xx"}, n_bootstrap=50)


def test_one_arm_only_and_odd_prior_types():
    values = awkward_table()
    with pytest.raises(TmeInputError, match="values in one arm only"):
        estimate_nuisance(
            values[values["arm"] == "anakinra"], Design(), ["x"], n_bootstrap=50, priors={"x": {"rho": 0.5}}
        )
    with pytest.raises(TmeInputError, match="prior rho = True"):
        estimate_nuisance(values, Design(), ["x"], n_bootstrap=50, priors={"x": {"rho": True}})
    row = estimate_nuisance(values, Design(), ["x"], n_bootstrap=50, priors={"x": {"rho": np.float32(0.25)}}).iloc[0]
    assert row["rho"] == 0.25
