"""Parity of tme's sign-off statistics with R on awkward data (issue 13).

Fixtures: tests/fixtures/stats_signoff/ made by make_fixtures.R (R 4.2.2, nlme, emmeans, sandwich,
lmtest, mice, lme4, lmerTest, pbkrtest; versions in VERSIONS). Datasets have missing posts, a
post-only patient, ties, tiny n (8 patients), n = 120 and a high-leverage patient.
Tolerances: cLDA estimate, plug-in SE and covariance parameters vs gls ≤ 1e-6 (R's gls optimum
itself is good to ~1e-7); Kenward–Roger SE and df vs pbkrtest ≤ 1e-10 / 1e-8 given lme4's
variance estimates; Wilcoxon estimates/CIs ≤ 1e-9; lmerTest boundary df ≤ 1e-6; HC3 (sandwich + lmtest) and
Rubin's rules (mice::pool on the same imputations) ≤ 1e-10; LS means (emmeans) ≤ 1e-8; Cook's
distance, leverages and the arm × baseline test ≤ 1e-10; Shapiro–Wilk ≤ 1e-8.
"""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tme.stats import paired_t, rank_sum_test, signed_rank_test
from tme.stats.clda import clda, fit_clda
from tme.stats.design import covariate_matrix
from tme.stats.diagnostics import residual_diagnostics
from tme.stats.effects import LSMEAN_COLUMNS, ls_means, readable_effects
from tme.stats.imputation import Imputations, analyse_imputations, rubin_pool
from tme.stats.kenward_roger import kenward_roger
from tme.stats.mixed import mixed_model_interaction
from tme.stats.parametric import ancova_design, ancova_hc3

FIXTURES = Path(__file__).parent / "fixtures" / "stats_signoff"


def read(name: str) -> pd.DataFrame:
    return pd.read_csv(FIXTURES / name, sep="\t")


def patients(dataset: str) -> pd.DataFrame:
    """One row per patient of a fixture trial: arm, z, stratum, pre, post (NaN when missing)."""
    d = read("trials.tsv").query("dataset == @dataset")
    wide = d.pivot(index="patient_id", columns="timepoint", values="value")
    info = d.drop_duplicates("patient_id").set_index("patient_id")[["arm", "z", "stratum"]]
    out = info.join(wide.reindex(columns=["pre", "post"]))
    out["treated"] = (out["arm"] == "anakinra").astype(float)
    return out


CLDA = read("clda_expected.tsv")


@pytest.mark.parametrize("row", CLDA.to_dict("records"), ids=list(CLDA["dataset"]))
def test_clda_matches_nlme_gls(row):
    p = patients(row["dataset"])
    covariates = p[["z"]].to_numpy() if row["covariate"] else None
    fit = fit_clda(p["pre"], p["post"], p["treated"], covariates)
    assert fit.converged
    assert fit.beta[2] == pytest.approx(row["estimate"], abs=1e-6)
    assert np.sqrt(fit.phi[2, 2]) == pytest.approx(row["se"], abs=1e-6)
    s_pre, s_post = np.sqrt(fit.theta[:2])
    assert (s_pre, s_post) == pytest.approx((row["sd_pre"], row["sd_post"]), abs=1e-6)
    assert fit.theta[2] / (s_pre * s_post) == pytest.approx(row["rho"], abs=1e-6)
    # REML log-likelihood up to nlme's constant -(n - p)/2 log(2 pi)
    constant = -(row["n_samples"] - len(fit.beta)) / 2 * np.log(2 * np.pi)
    assert fit.reml_loglik + constant == pytest.approx(row["reml_loglik"], abs=1e-8)
    result = clda(p["pre"], p["post"], p["treated"], covariates)
    assert result.estimate == fit.beta[2] and result.note == ""
    assert result.se > np.sqrt(fit.phi[2, 2])  # Kenward-Roger inflates the plug-in SE
    assert "Kenward-Roger" in result.method


KR = read("kenward_roger_expected.tsv")


def _random_intercept(dataset: str, covariate: bool):
    d = read("trials.tsv").query("dataset == @dataset")
    post = (d["timepoint"] == "post").to_numpy(float)
    treated = (d["arm"] == "anakinra").to_numpy(float)
    columns = [np.ones(len(d)), post, treated, post * treated]
    x = np.column_stack(columns + ([d["z"].to_numpy(float)] if covariate else []))
    return d, x, post, treated


@pytest.mark.parametrize("row", KR.to_dict("records"), ids=list(KR["dataset"]))
def test_kenward_roger_matches_pbkrtest(row):
    """Random-intercept lme4 fits: tme's KR (generic in V = sum theta_k V_k) vs pbkrtest."""
    d, x, post, treated = _random_intercept(row["dataset"], row["covariate"])
    patient = d["patient_id"].to_numpy()
    z = (patient[:, None] == np.unique(patient)[None, :]).astype(float)
    contrast = np.zeros(x.shape[1])
    contrast[3] = 1.0
    theta = np.array([row["var_patient"], row["var_residual"]])  # lme4's REML estimates
    variance, df = kenward_roger(x, [z @ z.T, np.eye(len(d))], theta, contrast)
    assert np.sqrt(variance) == pytest.approx(row["se_kr"], abs=1e-10)
    assert df == pytest.approx(row["df_kr"], abs=1e-8)
    assert df == pytest.approx(row["df_kr_lmertest"], abs=1e-8)


def test_clda_uses_post_only_patients():
    p = patients("small_missing")
    assert p["pre"].isna().sum() == 1 and p["post"].isna().sum() == 4
    all_data = clda(p["pre"], p["post"], p["treated"])
    without_post_only = p.dropna(subset=["pre"])
    reduced = clda(without_post_only["pre"], without_post_only["post"], without_post_only["treated"])
    assert all_data.estimate != pytest.approx(reduced.estimate, abs=1e-6)


def test_clda_not_estimable_without_pairs():
    result = clda([1.0, np.nan, 2.0, np.nan], [np.nan, 1.0, np.nan, 3.0], [0, 0, 1, 1])
    assert np.isnan(result.estimate) and "both samples" in result.note


def test_clda_not_estimable_when_reml_runs_to_a_singular_covariance():
    """Six patients, three pairs: REML drives the pre-post correlation to 1 (1 - rho^2 ~ 2e-7 when
    step halving stalls); an estimate on ~1 Kenward-Roger df with p 3e-4 would be noise, so NA."""
    pre = [0.77690202, 0.96488113, -1.08217839, np.nan, -0.16816076, -0.18966098]
    post = [-0.76189137, np.nan, np.nan, -1.3279093, -1.1375595, 0.01619465]
    result = clda(pre, post, [0, 1, 0, 1, 0, 1])
    assert np.isnan(result.estimate) and "singular or at its boundary" in result.note
    # post equal to pre up to a shift: no residual variation (the old Fisher scoring returned an estimate
    # with "did not converge")
    pre = np.random.default_rng(3).normal(size=40)
    result = clda(pre, pre + 0.3, np.arange(40) % 2)
    assert np.isnan(result.estimate) and "singular or at its boundary" in result.note


RANK = read("rank_expected.tsv")


@pytest.mark.parametrize("row", RANK.to_dict("records"), ids=list(RANK["case"]))
def test_wilcoxon_normal_approximation_matches_r(row):
    cases = read("rank_cases.tsv").query("case == @row['case']")
    x = cases.loc[cases["group"] == "x", "value"].to_numpy()
    y = cases.loc[cases["group"] == "y", "value"].to_numpy()
    if row["test"] == "signed_rank":
        result = signed_rank_test(x, row["conf_level"])
    else:
        result = rank_sum_test(x, y, row["conf_level"])
    assert result.method.startswith("normal approximation")
    assert result.statistic == row["statistic"]
    for field in ("p", "estimate", "ci_low", "ci_high"):
        expected = row[field]
        got = getattr(result, field)
        if np.isnan(expected):
            assert np.isnan(got), field
        else:
            assert got == pytest.approx(expected, abs=1e-9), field
    if row["achieved_conf_level"] != row["conf_level"] and not np.isnan(row["ci_low"]):
        assert f"CI at level {row['achieved_conf_level']:.4g}" in result.method


def test_signed_rank_reproducer_from_issue_13():
    """R: HL 0.750077, CI (4.2e-5, 1.500039) at the achievable level 0.90; tme gave 0.75, (-0.5, 2)."""
    result = signed_rank_test(np.array([0.5, 0.5, 1, 1.5, -0.5, 2]))
    assert result.estimate == pytest.approx(0.750077370960026, abs=1e-12)
    assert result.ci_low == pytest.approx(4.24914682037135e-05, abs=1e-12)
    assert result.ci_high == pytest.approx(1.50003906553658, abs=1e-12)


def test_all_zero_changes_follow_r():
    """R: t.test gives estimate 0, stderr 0, t and p NaN; wilcox.test gives V = 0, p NA."""
    r = read("zero_changes_expected.tsv").set_index("analysis")
    t = paired_t(np.zeros(6))
    assert (t.estimate, t.se) == (r.loc["paired_t", "estimate"], r.loc["paired_t", "se"])
    assert np.isnan(t.p) and np.isnan(t.ci_low) and "no variation" in t.note
    w = signed_rank_test(np.zeros(6))
    assert w.statistic == r.loc["wilcoxon_signed_rank", "statistic"] == 0
    assert np.isnan(w.p) and np.isnan(w.estimate)


def test_mixed_model_at_the_boundary_uses_residual_df_as_lmertest():
    """lmerTest: df 28.000 (n - p), p 0.766887; tme gave 17.75 before."""
    d = read("boundary_lmm.tsv")
    r = read("boundary_lmm_expected.tsv").iloc[0]
    result = mixed_model_interaction(
        d["value"],
        (d["timepoint"] == "post").astype(float),
        (d["arm"] == "anakinra").astype(float),
        d["patient_id"].to_numpy(),
    )
    assert r["var_patient"] == 0 and "boundary" in result.note
    assert result.estimate == pytest.approx(r["estimate"], abs=1e-6)
    assert result.se == pytest.approx(r["se"], abs=1e-6)
    assert result.df == pytest.approx(r["df"], abs=1e-6)
    assert result.p == pytest.approx(r["p"], abs=1e-7)


ANCOVA = read("ancova_expected.tsv")


def _paired(dataset: str, covariate: bool):
    p = patients(dataset).dropna(subset=["pre", "post"])
    return p, (p[["z"]].to_numpy() if covariate else None)


@pytest.mark.parametrize("row", ANCOVA.to_dict("records"), ids=list(ANCOVA["dataset"]))
def test_hc3_matches_sandwich_and_coeftest(row):
    p, z = _paired(row["dataset"], row["covariate"])
    result = ancova_hc3(p["pre"], p["post"], p["treated"], z)
    assert result.estimate == pytest.approx(row["estimate"], abs=1e-10)
    assert result.se == pytest.approx(row["hc3_se"], abs=1e-10)
    assert result.statistic == pytest.approx(row["hc3_statistic"], abs=1e-9)
    assert result.p == pytest.approx(row["hc3_p"], abs=1e-10)
    assert (result.ci_low, result.ci_high) == pytest.approx((row["hc3_ci_low"], row["hc3_ci_high"]), abs=1e-10)
    assert result.df == row["df"]


@pytest.mark.parametrize("row", ANCOVA.to_dict("records"), ids=list(ANCOVA["dataset"]))
def test_readable_effects_match_emmeans(row):
    p, z = _paired(row["dataset"], row["covariate"])
    effects = readable_effects(p["pre"], p["post"], p["treated"], z, transform="log2")
    for column in LSMEAN_COLUMNS:
        assert effects[column] == pytest.approx(row[column], abs=1e-8), column
    # emmeans: regrid of a log2 model, ratio anakinra / usual_care
    for ours, theirs in (
        ("ratio", "fold_change"),
        ("ratio_ci_low", "fold_change_ci_low"),
        ("ratio_ci_high", "fold_change_ci_high"),
    ):
        assert effects[ours] == pytest.approx(row[theirs], rel=1e-10), ours
    assert effects["baseline_sd"] == pytest.approx(row["baseline_sd_pooled"], abs=1e-12)
    for column in ("std_effect", "std_effect_ci_low", "std_effect_ci_high"):
        assert effects[column] == pytest.approx(row[column], abs=1e-10), column


def test_ls_means_with_a_factor_are_emmeans_proportional():
    r = read("lsmeans_factor_expected.tsv")
    p, _ = _paired("n120", False)
    stratum = covariate_matrix(p, ["stratum"]).to_numpy()
    effects = ls_means(p["pre"], p["post"], p["treated"], stratum)
    for i, arm in enumerate(("reference", "treatment")):
        assert effects[f"lsmean_{arm}"] == pytest.approx(r["emmean"][i], abs=1e-8)
        assert effects[f"lsmean_{arm}_se"] == pytest.approx(r["se"][i], abs=1e-8)
        assert effects[f"lsmean_{arm}_ci_low"] == pytest.approx(r["ci_low"][i], abs=1e-8)


@pytest.mark.parametrize("row", ANCOVA.to_dict("records"), ids=list(ANCOVA["dataset"]))
def test_residual_diagnostics_match_r(row):
    p, z = _paired(row["dataset"], row["covariate"])
    checks, residuals = residual_diagnostics(row["dataset"], p["pre"], p["post"], p["treated"], z, p.index)
    checks = checks.set_index("check")
    # scipy's and R's swilk agree to ~1e-9 (single-precision coefficients in scipy's Fortran)
    assert checks.loc["shapiro_wilk", "statistic"] == pytest.approx(row["shapiro_w"], abs=1e-8)
    assert checks.loc["shapiro_wilk", "p"] == pytest.approx(row["shapiro_p"], abs=1e-8)
    inter = checks.loc["arm_x_baseline"]
    for ours, theirs in (
        ("estimate", "interaction_estimate"),
        ("se", "interaction_se"),
        ("statistic", "interaction_statistic"),
        ("p", "interaction_p"),
        ("df", "interaction_df"),
    ):
        assert inter[ours] == pytest.approx(row[theirs], abs=1e-10), ours
    cooks = read("cooks_expected.tsv").query("dataset == @row['dataset']").set_index("patient_id")
    ours = residuals.set_index("patient_id").loc[cooks.index]
    np.testing.assert_allclose(ours["cooks_distance"], cooks["cooks_distance"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(ours["leverage"], cooks["leverage"], rtol=0, atol=1e-12)
    influential = cooks.index[cooks["cooks_distance"] > 4 / len(cooks)]
    assert set(ours.index[ours["influential"]]) == set(influential)
    assert checks.loc["cooks_distance", "flagged"] == bool(len(influential))


def _completed_mi_fixture():
    p = patients("n60_ties").dropna(subset=["pre"])
    imputed = read("mi_imputed.tsv")
    m = imputed["imputation"].max()
    post = np.repeat(p["post"].to_numpy()[:, None], m, axis=1)
    rows = p.index.get_indexer(imputed["patient_id"])
    post[rows, imputed["imputation"].to_numpy() - 1] = imputed["post"].to_numpy()
    assert not np.isnan(post).any()
    shifted = p["post"].isna().to_numpy() & (p["treated"].to_numpy() == 1)
    return Imputations(post, ancova_design(p["pre"], p["treated"]), shifted, (0, 0), 0)


def test_rubins_rules_match_mice_pool_on_the_same_imputations():
    """mice 'norm' imputations made in R, analysed and pooled by tme, vs mice::pool ≤ 1e-10."""
    expected = read("pool_expected.tsv").set_index("case").loc["mi_n60_ties"]
    pooled = analyse_imputations(_completed_mi_fixture())
    for field, column in (
        ("qbar", "qbar"),
        ("ubar", "ubar"),
        ("b", "b"),
        ("t", "t"),
        ("riv", "riv"),
        ("lam", "lambda"),
        ("fmi", "fmi"),
        ("df", "df"),
        ("dfcom", "dfcom"),
    ):
        assert getattr(pooled, field) == pytest.approx(expected[column], abs=1e-10), field
    result = pooled.as_estimate(expected["conf_level"], "MI")
    for field in ("statistic", "p", "ci_low", "ci_high"):
        assert getattr(result, field) == pytest.approx(expected[field], abs=1e-10), field


@pytest.mark.parametrize("case", ["no_between", "tiny_dfcom", "two_imputations", "large_dfcom"])
def test_rubins_rules_match_mice_pool_scalar(case):
    data = read(f"pool_input_{case}.tsv")
    expected = read("pool_expected.tsv").set_index("case").loc[case]
    pooled = rubin_pool(data["Q"], data["U"], data["n"].iloc[0] - data["k"].iloc[0])
    for field, column in (
        ("qbar", "qbar"),
        ("t", "t"),
        ("riv", "riv"),
        ("lam", "lambda"),
        ("fmi", "fmi"),
        ("df", "df"),
    ):
        assert getattr(pooled, field) == pytest.approx(expected[column], abs=1e-10), field
    result = pooled.as_estimate(0.95, "MI")
    for field in ("p", "ci_low", "ci_high"):
        assert getattr(result, field) == pytest.approx(expected[field], abs=1e-10), field
