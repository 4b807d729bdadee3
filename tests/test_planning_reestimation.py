"""Blinded sample-size re-estimation (tme.planning.reestimation, tme.planning.pilot).

References: the expectation of the lumped variance (Kieser & Friede 2003) by simulation; the pooled
regression residual variance recomputed with numpy least squares; the analytic sample size; a fast
internal-pilot calibration (the full one is benchmarks/planning_calibration.py, 10,000 trials per cell).
"""

from __future__ import annotations

import inspect

import numpy as np
import pandas as pd
import pytest
from scipy import optimize

from tme.config import Design
from tme.errors import TmeInputError
from tme.planning import (
    REESTIMATE_COLUMNS,
    Target,
    TrialModel,
    adjusted_variance,
    ancova_sample_size,
    blinded_reestimate,
    blinded_reestimation_table,
    lumped_variance,
    simulate_trials,
)
from tme.planning.pilot import _pairs_needed, internal_pilot

BLINDED = Design(blinded=True)


def pilot_table(trials, t: int = 0) -> pd.DataFrame:
    """One simulated pilot as the blinded function receives it: patient, timepoint, value — no arm."""
    n = trials.pre.shape[1]
    frame = pd.DataFrame(
        {
            "patient_id": np.tile([f"P{i:02d}" for i in range(n)], 2),
            "timepoint": np.repeat(["pre", "post"], n),
            "value": np.concatenate([trials.pre[t], trials.post[t]]),
        }
    )
    return frame.dropna(subset=["value"])


def test_lumped_variance_contains_the_arm_difference():
    model = TrialModel(1.0, 1.0, 0.6)
    trials = simulate_trials(model, 10, 0.8, 20000, np.random.default_rng(4))
    for estimator, sigma2 in (("ancova", model.residual_sd**2), ("change", 2 - 2 * 0.6)):
        s2, n = lumped_variance(trials.pre, trials.post, estimator)
        bias = 0.8**2 * 20 / (4 * 19)
        se = s2.std() / np.sqrt(len(s2))
        assert s2.mean() == pytest.approx(sigma2 + bias, abs=4 * se), estimator
        assert adjusted_variance(s2, n, 0.8).mean() == pytest.approx(sigma2, abs=4 * se + 0.01), estimator


def test_reestimate_equals_a_direct_computation():
    trials = simulate_trials(TrialModel(1.0, 1.2, 0.5, missing_post=0.2), 12, 0.5, 1, np.random.default_rng(9))
    values = pilot_table(trials)
    result = blinded_reestimate(values, BLINDED, Target("IL1", 1.4, "log2"), alpha=0.025, power=0.9)
    ok = np.isfinite(trials.pre[0]) & np.isfinite(trials.post[0])
    x = np.column_stack([np.ones(ok.sum()), trials.pre[0][ok]])
    _, rss, *_ = np.linalg.lstsq(x, trials.post[0][ok], rcond=None)
    s2 = rss[0] / (ok.sum() - 2)
    assert result.lumped_variance == pytest.approx(s2, rel=1e-12) and result.variance_used == result.lumped_variance
    pairs = int(np.ceil(ancova_sample_size(np.log2(1.4), np.sqrt(s2), 0.025, 0.9)))
    assert result.n_pairs_per_arm == max(pairs, ok.sum() // 2)
    assert result.missing_post_pilot == pytest.approx(1 - ok.sum() / 24)
    assert result.n_per_arm == int(np.ceil(result.n_pairs_per_arm / (1 - result.missing_post_pilot) - 1e-9))
    adjusted = blinded_reestimate(values, BLINDED, Target("IL1", 1.4, "log2"), alpha=0.025, power=0.9, adjust=True)
    assert adjusted.variance_used < adjusted.lumped_variance and adjusted.n_pairs_per_arm <= result.n_pairs_per_arm
    capped = blinded_reestimate(values, BLINDED, Target("IL1", 1.4, "log2"), n_max=5)
    assert capped.n_pairs_per_arm == 5


def test_the_arm_is_never_an_input():
    assert "arm" not in inspect.signature(blinded_reestimate).parameters
    trials = simulate_trials(TrialModel(1.0, 1.0, 0.5), 10, 1.0, 1, np.random.default_rng(1))
    values = pilot_table(trials)
    with pytest.raises(TmeInputError, match="'arm' column.*Fix: pass only patient_id, timepoint"):
        blinded_reestimate(values.assign(arm="anakinra"), BLINDED, Target("x", 1.0))


def test_integer_sizes_of_the_pilot_table_equal_the_analytic_ceiling():
    sds = np.array([0.3, 0.55, 0.8, 1.0, 1.7, np.nan, 0.0])
    needed = _pairs_needed(sds, 0.6, 0.05, 0.8, 1, n_cap=500)
    expected = [int(np.ceil(ancova_sample_size(0.6, s, 0.05, 0.8) - 1e-9)) for s in sds[:5]]
    assert needed.tolist() == [*expected, 0, 0]
    assert _pairs_needed(np.array([5.0]), 0.6, 0.05, 0.8, 1, n_cap=30).tolist() == [30]


def test_internal_pilot_fast_calibration():
    """400 trials per cell (the benchmark runs 10,000): type I error <= 0.05 + 3 SE; with a planning
    variance half the truth, power within 0.08 of the 0.8 target (3 SE plus the 0.03 of the benchmark)."""
    model = TrialModel(1.0, 1.0, 0.5, missing_post=0.1)
    delta = optimize.brentq(lambda d: ancova_sample_size(d, model.residual_sd, 0.05, 0.8) - 40, 0.01, 10)
    common = dict(planning_residual_sd=model.residual_sd * np.sqrt(0.5), n_trials=400)
    null = internal_pilot(model, delta, 0.0, seed=1, **common)
    alt = internal_pilot(model, delta, delta, seed=2, **common)
    print(
        f"\ninternal pilot, 400 trials: type I {null.rejection_rate:.3f} (SE {null.mc_se:.3f}), "
        f"power {alt.rejection_rate:.3f} (SE {alt.mc_se:.3f}), planned {alt.n_planned}, pilot {alt.n_pilot}, "
        f"final mean {alt.n_final.mean():.1f} per arm"
    )
    assert null.rejection_rate <= 0.05 + 3 * 0.011
    assert abs(alt.rejection_rate - 0.8) <= 0.08
    assert alt.n_planned == 24 and alt.n_pilot == 12 and alt.n_final.mean() > 40  # the pilot grew the trial


@pytest.mark.parametrize(
    "kwargs,values,match",
    [
        ({"design": Design()}, None, "unblinded configuration.*Fix: run it in blinded mode"),
        ({}, "few", "needs at least 4"),
        ({}, "columns", "lacks column"),
        ({"estimator": "welch"}, None, "unknown blinded variance estimator"),
    ],
)
def test_bad_input(kwargs, values, match):
    trials = simulate_trials(TrialModel(1.0, 1.0, 0.5), 10, 1.0, 1, np.random.default_rng(1))
    table = pilot_table(trials)
    if values == "few":
        table = table[table["patient_id"].isin(["P00", "P01", "P11"])]
    elif values == "columns":
        table = table.rename(columns={"value": "score"})
    design = kwargs.pop("design", BLINDED)
    with pytest.raises(TmeInputError, match=match):
        blinded_reestimate(table, design, Target("x", 1.0), **kwargs)
    with pytest.raises(TmeInputError, match="pilot fraction"):
        internal_pilot(TrialModel(1.0, 1.0, 0.5), 1.0, 0.0, planning_residual_sd=1.0, pilot_fraction=0)


def test_family_table_uses_the_per_endpoint_level_and_never_sees_arms():
    rng = np.random.default_rng(6)
    frames = []
    for feature in ("il1", "cd68"):
        trials = simulate_trials(TrialModel(1.0, 1.0, 0.5, missing_post=0.1), 12, 0.6, 1, rng)
        frames.append(pilot_table(trials).assign(feature=feature))
    pooled = pd.concat(frames, ignore_index=True)
    targets = {"IL-1": {"effect": 1.5, "scale": "log2"}, "CD68": {"effect": -0.5}}
    table = blinded_reestimation_table(
        pooled, BLINDED, {"IL-1": "il1", "CD68": "cd68"}, targets, alpha=0.05, multiplicity="bonferroni"
    )
    assert list(table.columns) == REESTIMATE_COLUMNS and table["alpha"].tolist() == [0.025, 0.025]
    one = blinded_reestimate(
        pooled.loc[pooled["feature"] == "cd68", ["patient_id", "timepoint", "value"]],
        BLINDED,
        Target("CD68", -0.5),
        alpha=0.025,
    )
    assert table.set_index("endpoint").loc["CD68", "n_per_arm"] == one.n_per_arm
    # a table that carries an arm column at all (even the blinded workflow's "pooled") is refused outright
    with pytest.raises(TmeInputError, match="'arm' column"):
        blinded_reestimation_table(pooled.assign(arm="pooled"), BLINDED, {"IL-1": "il1", "CD68": "cd68"}, targets)
    with pytest.raises(TmeInputError, match="feature 'cd86'.*did you mean 'cd68'"):
        blinded_reestimation_table(pooled, BLINDED, {"IL-1": "il1", "CD68": "cd86"}, targets)
    with pytest.raises(TmeInputError, match="unblinded configuration"):
        blinded_reestimation_table(pooled, Design(), {"IL-1": "il1", "CD68": "cd68"}, targets)


def test_internal_pilot_table_per_endpoint():
    from tme.planning import PILOT_COLUMNS, internal_pilot_table

    table = pd.DataFrame(
        [
            {
                "endpoint": "IL-1",
                "baseline_sd": 1.0,
                "post_sd": 1.0,
                "rho": 0.5,
                "drift_reference": 0.2,
                "missing_post": 0.1,
                "residual_sd": np.sqrt(0.75),
                "alpha_per_endpoint": 0.025,
                "power": 0.8,
                "target_difference": -0.8,
            }
        ]
    )
    out = internal_pilot_table(table, true_variance_factors=(0.5, 2.0), n_trials=300, seed=2)
    assert list(out.columns) == PILOT_COLUMNS and len(out) == 2
    small, large = out.iloc[0], out.iloc[1]
    assert small["n_planned"] == large["n_planned"] and small["n_final_mean"] < large["n_final_mean"]
    assert large["n_final_mean"] > large["n_planned"]  # the pilot found the variance twice as large
    assert (out["type1"] <= 0.025 + 3 * np.sqrt(0.025 * 0.975 / 300)).all()
    assert abs(large["power"] - 0.8) <= 3 * large["power_mc_se"] + 0.03
