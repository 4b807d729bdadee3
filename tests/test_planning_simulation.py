"""Simulated trials and simulation-based power (tme.planning.trials, tme.planning.simulation).

References: tme.stats.ancova on every simulated trial (the batched OLS must equal it); the exact
analytic power (tme.planning.analytic, itself R-checked) where it applies — no missing posts and a
Bonferroni family, where each endpoint is tested at alpha/m; the simulator's own planted rates.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from tme.errors import TmeInputError
from tme.planning import Target, TrialModel, ancova_many, ancova_power, power_grid, simulate_trials, simulated_power
from tme.planning.trials import Trials
from tme.stats import ancova

MODELS = {"A": TrialModel(1.0, 1.0, 0.5), "B": TrialModel(0.6, 0.8, 0.8, drift_reference=0.4)}
TARGETS = {"A": Target("A", -0.9), "B": Target("B", 1.5, "log2")}


def test_batched_ancova_equals_tme_stats_ancova():
    model = TrialModel(1.0, 1.2, 0.6, 0.3, missing_post=0.25, missing_slope=1.0)
    trials = simulate_trials(model, 6, 0.5, 300, np.random.default_rng(1))
    trials.pre[0, :3] = np.nan  # missing baselines too
    fits = ancova_many(trials)
    checked = 0
    for t in range(300):
        ok = np.isfinite(trials.pre[t]) & np.isfinite(trials.post[t])
        ref = ancova(trials.pre[t][ok], trials.post[t][ok], trials.treated[ok].astype(float))
        if np.isnan(ref.estimate):
            assert np.isnan(fits.p[t])
            continue
        checked += 1
        for name in ("estimate", "se", "df", "p"):
            assert getattr(fits, name)[t] == pytest.approx(getattr(ref, name), rel=1e-10, abs=1e-12), (t, name)
    assert checked > 250


def test_batched_ancova_not_estimable_cases():
    pre = np.array([[1.0, 2.0, 3.0, 4.0], [1.0, 1.0, 1.0, 1.0], [1.0, 2.0, np.nan, np.nan]])
    post = np.array([[1.0, 2.5, 2.0, 5.0], [0.0, 1.0, 2.0, 3.0], [1.0, 2.0, 3.0, 4.0]])
    fits = ancova_many(Trials(pre, post, np.array([False, False, True, True])))
    assert np.isfinite(fits.p[0]) and fits.df[0] == 1
    assert np.isnan(fits.p[1:]).all()  # constant baseline; an arm without pairs


def test_missing_posts_at_the_planned_rate_and_dependence():
    model = TrialModel(1.0, 1.0, 0.5, missing_post=0.2, missing_slope=1.5)
    trials = simulate_trials(model, 500, 0.0, 40, np.random.default_rng(2))
    missing = np.isnan(trials.post)
    assert missing.mean() == pytest.approx(0.2, abs=0.01)
    assert missing[trials.pre > 0].mean() > 2 * missing[trials.pre < 0].mean()  # MAR on the baseline
    assert not np.isnan(trials.pre).any()


def _z(grid: pd.DataFrame) -> np.ndarray:
    p = grid["power_analytic"].to_numpy()
    return (grid["power_simulated"].to_numpy() - p) / np.sqrt(p * (1 - p) / grid["n_trials"].to_numpy())


def test_simulated_power_agrees_with_analytic_power():
    """24 design points (2 endpoints x n 4, 6, 10, 20 x effect 0, 0.5, 1 x target), 1,000 trials each."""
    grid = power_grid(
        MODELS, TARGETS, [4, 6, 10, 20], (0.0, 0.5, 1.0), n_trials=1000, alpha=0.05, multiplicity="bonferroni", seed=19
    )
    z = _z(grid)
    within = np.mean(np.abs(z) <= 2)
    print(
        f"\n{len(z)} design points: {np.sum(np.abs(z) <= 2)} within 2 MC SE, max |z| {np.abs(z).max():.2f}, "
        f"sum z^2 {np.sum(z**2):.1f} (chi2 {len(z)} df: 99.9 % point {stats.chi2.ppf(0.999, len(z)):.1f})"
    )
    assert len(grid) >= 12 and grid["power_analytic"].between(0.02, 0.999).all()
    # each point is within 2 SE with probability 0.95, so demand what chance allows for 24 points
    assert within >= 0.85 and np.abs(z).max() < 3.5 and np.sum(z**2) < stats.chi2.ppf(0.999, len(z))


def test_holm_is_at_least_as_powerful_as_bonferroni_and_type_one_error_is_kept():
    common = dict(n_trials=2000, alpha=0.05, seed=3)
    diffs = {"A": -0.9, "B": TARGETS["B"].difference}
    bonferroni, _ = simulated_power(MODELS, diffs, "A", 10, multiplicity="bonferroni", **common)
    holm, _ = simulated_power(MODELS, diffs, "A", 10, multiplicity="holm", **common)
    assert holm >= bonferroni
    null, se = simulated_power(MODELS, {"A": 0.0, "B": 0.0}, "A", 10, multiplicity="holm", **common)
    assert null <= 0.025 + 3 * se  # Holm at 0.05 over 2 endpoints tests the first at 0.025


def test_grid_is_deterministic_and_points_do_not_depend_on_the_grid():
    small = power_grid(MODELS, TARGETS, [6], (1.0,), n_trials=200, seed=5)
    large = power_grid(MODELS, TARGETS, [4, 6], (1.0,), n_trials=200, seed=5)
    again = power_grid(MODELS, TARGETS, [4, 6], (1.0,), n_trials=200, seed=5)
    pd.testing.assert_frame_equal(large, again)
    pd.testing.assert_frame_equal(small, large[large["n_per_arm"] == 6].reset_index(drop=True))
    assert small.loc[small["endpoint"] == "B", "effect"].iloc[0] == pytest.approx(1.5)  # readable: fold change


def test_the_analysis_is_pluggable():
    diffs = {"A": -0.9, "B": 1.0}
    always, _ = simulated_power(MODELS, diffs, "A", 5, n_trials=50, analysis=lambda t: np.zeros(len(t.pre)))
    never, _ = simulated_power(MODELS, diffs, "A", 5, n_trials=50, analysis=lambda t: np.full(len(t.pre), np.nan))
    assert (always, never) == (1.0, 0.0)

    def welch_on_changes(trials):  # a per-trial analysis, as a cLDA or MI analysis would be
        change = trials.post - trials.pre
        return np.array(
            [
                stats.ttest_ind(
                    c[trials.treated & np.isfinite(c)], c[~trials.treated & np.isfinite(c)], equal_var=False
                ).pvalue
                for c in change
            ]
        )

    common = dict(n_trials=400, seed=1, multiplicity="bonferroni")
    welch, _ = simulated_power(MODELS, diffs, "A", 10, analysis=welch_on_changes, **common)
    ancova_based, se = simulated_power(MODELS, diffs, "A", 10, **common)
    assert welch < ancova_based  # rho = 0.5: ANCOVA is the more efficient analysis
    assert ancova_based == pytest.approx(ancova_power(10, -0.9, 1.0 * np.sqrt(0.75), 0.025), abs=3 * se)


def test_bad_simulation_input():
    with pytest.raises(TmeInputError, match="not usable"):
        TrialModel(1.0, 1.0, 1.0)
    with pytest.raises(TmeInputError, match="at least 2 patients"):
        simulate_trials(MODELS["A"], 1, 0.5, 10, np.random.default_rng(0))
    with pytest.raises(TmeInputError, match="n_trials"):
        simulated_power(MODELS, {"A": 1, "B": 1}, "A", 5, n_trials=0)
