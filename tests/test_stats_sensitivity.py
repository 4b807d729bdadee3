"""Missing-post sensitivity analyses: imputation draws, tipping point, the sensitivity table, the
figures, the confidence level, and a fast version of benchmarks/calibration_missing.py.

References are independent of the code under test: the Bayesian posterior predictive of a normal
linear regression (a Student t, closed form), the complete-case ANCOVA (equal to cLDA's estimate
when only post samples are missing), and the planted truth of the simulator.
"""

import importlib.util
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from tme.plots.sensitivity import plot_residual_diagnostics, plot_tipping_point
from tme.stats.clda import clda
from tme.stats.diagnostics import residual_diagnostics
from tme.stats.imputation import impute_posts, mi_estimate, multiple_imputation_ancova, tipping_point
from tme.stats.parametric import ancova, ancova_hc3
from tme.stats.sensitivity import SENSITIVITY_COLUMNS, TIPPING_GRID_COLUMNS, sensitivity_analyses

ROOT = Path(__file__).resolve().parents[1]


def trial(n=30, effect=-0.8, n_missing=6, seed=4, missing_pre=0):
    rng = np.random.default_rng(seed)
    treated = (np.arange(n) % 2).astype(float)
    b = rng.normal(0, 0.8, n)
    pre = b + rng.normal(0, 0.6, n)
    post = b + 0.3 + effect * treated + rng.normal(0, 0.6, n)
    post[rng.choice(n, n_missing, replace=False)] = np.nan
    complete = np.flatnonzero(~np.isnan(post))
    pre[complete[:missing_pre]] = np.nan
    return pre, post, treated


def test_imputations_are_draws_from_the_bayesian_predictive_distribution():
    """One missing post (reference arm): its m draws must follow the posterior predictive of the
    normal linear model post ~ pre + arm with a flat prior, a Student t with n_obs - 3 df, location
    x0'b and scale s sqrt(1 + x0'(X'X)^-1 x0) (Gelman et al., BDA3 §14.2)."""
    pre, post, treated = trial(n=24, n_missing=0, seed=1)
    post[0] = np.nan  # reference arm (treated[0] == 0)
    imputations = impute_posts(pre, post, treated, n_imputations=20000, seed=3)
    draws = imputations.post[0]
    observed = ~np.isnan(post)
    x = np.column_stack([np.ones(observed.sum()), pre[observed], treated[observed]])
    coef, rss, *_ = np.linalg.lstsq(x, post[observed], rcond=None)
    nu = observed.sum() - 3
    x0 = np.array([1.0, pre[0], 0.0])
    scale = np.sqrt(rss[0] / nu * (1 + x0 @ np.linalg.inv(x.T @ x) @ x0))
    assert stats.kstest(draws, stats.t(nu, loc=x0 @ coef, scale=scale).cdf).pvalue > 0.01
    assert imputations.n_imputed == (1, 0)
    # observed values are never changed
    np.testing.assert_array_equal(imputations.post[1:], np.repeat(post[1:, None], 20000, axis=1))


def test_multiple_imputation_is_seeded_and_close_to_the_mar_analyses():
    pre, post, treated = trial(n=60, seed=9, n_missing=12)
    a = multiple_imputation_ancova(pre, post, treated, n_imputations=200, seed=5)
    b = multiple_imputation_ancova(pre, post, treated, n_imputations=200, seed=5)
    c = multiple_imputation_ancova(pre, post, treated, n_imputations=200, seed=6)
    assert a == b and a.estimate != c.estimate
    paired = ~np.isnan(post)
    complete_case = ancova(pre[paired], post[paired], treated[paired])
    # under MAR given baseline all three estimate the same effect; MI adds imputation noise only
    assert abs(a.estimate - complete_case.estimate) < 0.25 * complete_case.se
    assert a.se > 0.9 * complete_case.se
    assert "200 imputations, seed 5" in a.method and "Barnard-Rubin" in a.method


def test_clda_equals_complete_case_ancova_when_only_posts_are_missing():
    """With missing posts only, the likelihood factorises into baseline and post | baseline, so
    the cLDA arm effect is the complete-case ANCOVA coefficient exactly (Lu 2010)."""
    pre, post, treated = trial(n=40, seed=2, n_missing=8)
    paired = ~np.isnan(post)
    assert clda(pre, post, treated).estimate == pytest.approx(
        ancova(pre[paired], post[paired], treated[paired]).estimate, abs=1e-9
    )
    pre_missing = pre.copy()
    pre_missing[np.flatnonzero(paired)[:3]] = np.nan  # now baseline values are missing too
    assert clda(pre_missing, post, treated).estimate != pytest.approx(clda(pre, post, treated).estimate, abs=1e-6)


def test_no_missing_post_makes_mi_the_complete_case_ancova():
    pre, post, treated = trial(n_missing=0)
    result = multiple_imputation_ancova(pre, post, treated, n_imputations=50, seed=1)
    primary = ancova(pre, post, treated)
    assert result.estimate == pytest.approx(primary.estimate, abs=1e-12)
    assert result.se == pytest.approx(primary.se, abs=1e-12)
    assert "no missing post" in result.note
    assert result.df < primary.df  # Barnard-Rubin with the lambda floor of 1e-4, as mice


def test_tipping_point_is_where_p_crosses_alpha():
    pre, post, treated = trial(n=40, effect=-1.0, n_missing=10, seed=0)
    imputations = impute_posts(pre, post, treated, n_imputations=50, seed=2)
    at_mar = mi_estimate(imputations)
    assert at_mar.p < 0.05 and at_mar.estimate < 0
    deltas = np.linspace(-3, 3, 61)
    result = tipping_point(imputations, deltas, conf_level=0.95)
    assert result.delta > 0  # towards the null only
    assert result.at_delta.p == pytest.approx(0.05, abs=1e-8)
    assert result.at_delta.ci_high == pytest.approx(0.0, abs=1e-6)
    grid = result.grid
    assert 0.0 in set(grid["delta"])
    before = grid[(grid["delta"] >= 0) & (grid["delta"] < result.delta)]
    assert before["significant"].all()
    # the shift moves the pooled estimate linearly (same imputations for every delta)
    slope = np.diff(grid["estimate"]) / np.diff(grid["delta"])
    np.testing.assert_allclose(slope, slope[0], rtol=1e-9)
    assert "significance lost" in result.note
    at_90 = tipping_point(imputations, deltas, conf_level=0.90)
    assert at_90.delta > result.delta  # a looser level needs a larger shift to lose significance


def test_tipping_point_without_missing_treatment_posts_says_so():
    pre, post, treated = trial(n_missing=0)
    post[0] = np.nan  # a reference-arm patient only
    result = tipping_point(impute_posts(pre, post, treated, seed=1), [-1, 1])
    assert np.isnan(result.delta) and "nothing to shift" in result.note


def test_sensitivity_table_rows_counts_and_determinism():
    pre, post, treated = trial(n=30, n_missing=6, missing_pre=2)
    z = np.random.default_rng(0).normal(size=(30, 1))
    rows, grid = sensitivity_analyses("CD8", pre, post, treated, z, seed=7)
    again, grid_again = sensitivity_analyses("CD8", pre, post, treated, z, seed=7)
    pd.testing.assert_frame_equal(rows, again)
    pd.testing.assert_frame_equal(grid, grid_again)
    assert list(rows.columns) == SENSITIVITY_COLUMNS
    assert list(grid.columns) == TIPPING_GRID_COLUMNS
    rows = rows.set_index("analysis")
    assert list(rows.index) == ["ancova", "ancova_hc3", "clda", "mi_mar", "tipping_point"]
    paired = ~np.isnan(pre) & ~np.isnan(post)
    assert rows.loc["ancova", "n_reference_arm"] + rows.loc["ancova", "n_treatment_arm"] == paired.sum()
    assert rows.loc["clda", "n_reference_arm"] + rows.loc["clda", "n_treatment_arm"] == 30
    assert rows.loc["mi_mar", "n_reference_arm"] + rows.loc["mi_mar", "n_treatment_arm"] == 28
    assert (
        rows.loc["mi_mar", ["n_imputed_reference", "n_imputed_treatment"]].sum() == np.isnan(post[~np.isnan(pre)]).sum()
    )
    assert rows.loc["ancova_hc3", "estimate"] == rows.loc["ancova", "estimate"]
    expected = ancova_hc3(pre[paired], post[paired], treated[paired], z[paired])
    assert rows.loc["ancova_hc3", "se"] == expected.se
    assert rows.loc["clda", "estimate"] == clda(pre, post, treated, z).estimate
    assert grid["delta_sd"].abs().max() == pytest.approx(2.0)


def test_sensitivity_rows_are_na_with_reasons_on_tiny_data():
    pre, post, treated = trial(n=8, n_missing=3, seed=1)
    rows, _ = sensitivity_analyses("tiny", pre, post, treated, seed=1)
    rows = rows.set_index("analysis")
    for analysis in ("mi_mar", "tipping_point"):
        if np.isnan(rows.loc[analysis, "estimate"]):
            assert rows.loc[analysis, "note"]
    with pytest.raises(ValueError, match="unknown sensitivity analyses"):
        sensitivity_analyses("x", pre, post, treated, analyses=("clda", "lmm"))


@pytest.fixture(scope="module")
def calibration():
    spec = importlib.util.spec_from_file_location("calibration_missing", ROOT / "benchmarks" / "calibration_missing.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_type1_error_with_missing_posts_fast(calibration):
    """200 null trials with 20 % MAR-missing posts: the binomial 99.8 % range of the rejection
    count at 0.05 is about 2-20, so the band is [0.01, 0.10]; the full run (1,000 trials,
    benchmarks/calibration_missing.py) targets [0.035, 0.065]."""
    rates = calibration.null_rejections(200, seed=20261125, n_imputations=50)
    for analysis in ("clda", "mi_mar", "ancova"):
        assert 0.01 <= rates[analysis] <= 0.10, f"{analysis}: {rates[analysis]:.3f}"


def test_tipping_point_flags_the_fragile_endpoint(calibration):
    """Planted: 'fragile' has no effect but the treated patients with the highest posts lose their
    post sample (MNAR); 'robust' has a -1 SD effect and MAR loss. Among trials significant under
    MAR, the fragile endpoint is flagged far more often and tips at a much smaller shift."""
    flags = calibration.fragility_flags(40, seed=2)
    assert flags.loc["fragile", "flagged"] >= 0.35
    assert flags.loc["robust", "flagged"] <= 0.2
    assert flags.loc["fragile", "median_tipping_delta_sd"] < 0.6 < flags.loc["robust", "median_tipping_delta_sd"]


def test_figures_draw_and_say_the_confidence_level():
    pre, post, treated = trial(n=40, effect=-1.0, n_missing=10, seed=0)
    rows, grid = sensitivity_analyses("CD68", pre, post, treated, seed=2, conf_level=0.9)
    tipping = rows.set_index("analysis").loc["tipping_point", "tipping_delta"]
    fig = plot_tipping_point(grid, tipping, "CD68", "log1p cells/mm2", conf_level=0.9)
    texts = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert "90% CI" in texts and any(t.startswith("tipping point") for t in texts)
    paired = ~np.isnan(post)
    checks, residuals = residual_diagnostics("CD68", pre[paired], post[paired], treated[paired])
    fig = plot_residual_diagnostics(residuals, checks, ("usual_care", "anakinra"))
    assert len(fig.axes) >= 3
    empty = plot_tipping_point(grid.iloc[0:0], np.nan, "CD68")
    assert "No tipping-point analysis" in empty.axes[0].texts[0].get_text()


def test_no_hard_coded_confidence_level_in_stats():
    """Every interval in tme.stats comes from conf_level: 0.95 appears only as a default."""
    offenders = []
    for path in sorted((ROOT / "src" / "tme" / "stats").glob("*.py")):
        for number, line in enumerate(path.read_text().splitlines(), 1):
            code = line.split("#")[0]
            # a named data quantile (DESeq2's filter range) is not a confidence level
            allowed = "conf_level: float = 0.95" in code or re.match(r"[A-Z_]+_QUANTILE = ", code)
            if re.search(r"\b(0\.95|0\.975|1\.96|0\.025)\b", code) and not allowed:
                offenders.append(f"{path.name}:{number}: {line.strip()}")
    assert not offenders, offenders


@pytest.mark.filterwarnings("error")
def test_awkward_inputs_give_rows_with_reasons_not_errors():
    """Tiny arms, ties, zero variation, post equal to pre, missing baselines: every function
    returns, without warnings, and every NaN estimate says why."""
    rng = np.random.default_rng(8)
    for _ in range(150):
        n = int(rng.integers(4, 14))
        treated = (np.arange(n) % 2).astype(float)
        pre = rng.normal(size=n)
        post = pre * rng.choice([0, 1]) + rng.normal(size=n) * rng.choice([0.0, 1e-8, 1.0])
        if rng.random() < 0.3:
            pre, post = np.round(pre), np.round(post)
        post[rng.random(n) < 0.3] = np.nan
        pre[rng.random(n) < 0.1] = np.nan
        rows, _ = sensitivity_analyses("f", pre, post, treated, seed=1)
        na = rows["estimate"].isna()
        assert (rows.loc[na, "note"].str.len() > 0).all(), rows.loc[na, ["analysis", "note"]]
        paired = ~np.isnan(pre) & ~np.isnan(post)
        checks, _ = residual_diagnostics("f", pre[paired], post[paired], treated[paired])
        assert len(checks) == 3


def test_registered_sensitivity_analyses_and_readable_effects_in_the_effects_table():
    """cLDA, MI and HC3 rows of effects_between_arms equal the library functions on the same patients;
    the primary ANCOVA row carries the readable effects, the ratio back-transformed by the feature's
    transform."""
    from tme.stats import Design, effects_between_arms
    from tme.stats.clda import clda

    pre, post, treated = trial(n=40, seed=4, n_missing=6)
    patients = [f"P{i:02d}" for i in range(len(pre))]
    arm = np.where(treated == 1, "anakinra", "usual_care")
    rows = [
        {"patient_id": p, "arm": a, "timepoint": t, "feature": "CD68", "value": v}
        for p, a, x, y in zip(patients, arm, pre, post)
        for t, v in (("pre", x), ("post", y))
        if not np.isnan(v)
    ]
    features = pd.DataFrame(
        {"feature": ["CD68"], "feature_type": ["immune_measure"], "family": ["primary"], "transform": ["log1p"]}
    )
    table = effects_between_arms(
        pd.DataFrame(rows),
        Design(),
        features,
        n_bootstrap=0,
        seed=3,
        analyses=["ancova", "clda", "mi_mar", "ancova_hc3"],
    ).set_index("analysis")
    assert table.loc["clda", "estimate"] == pytest.approx(clda(pre, post, treated).estimate, abs=1e-12)
    paired = ~np.isnan(pre) & ~np.isnan(post)
    mi = multiple_imputation_ancova(pre[~np.isnan(pre)], post[~np.isnan(pre)], treated[~np.isnan(pre)], seed=3)
    assert table.loc["mi_mar", "estimate"] == pytest.approx(mi.estimate, abs=1e-12)
    hc3 = ancova_hc3(pre[paired], post[paired], treated[paired])
    assert table.loc["ancova_hc3", "se"] == pytest.approx(hc3.se, abs=1e-12)
    ancova_row = table.loc["ancova"]
    assert ancova_row["ratio"] == pytest.approx(np.exp(ancova_row["estimate"]), rel=1e-12)
    assert "1 + x" in ancova_row["ratio_meaning"] and np.isfinite(ancova_row["std_effect"])
    assert np.isnan(table.loc["clda", "ratio"])  # readable effects belong to the primary analysis
