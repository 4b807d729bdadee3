"""Parity of tme's sign-off statistics with R on awkward data (issue 13).

Fixtures: tests/fixtures/stats_signoff/ made by make_fixtures.R (R 4.2.2, nlme, emmeans, sandwich,
lmtest, mice, lme4, lmerTest, numDeriv; versions in VERSIONS). Datasets have missing posts, a
post-only patient, ties, tiny n (8 patients), n = 120 and a high-leverage patient.
Tolerances: cLDA estimate and SE ≤ 1e-6 (R's gls optimum itself is good to ~1e-7); Satterthwaite
df ≤ 1e-4 against the numDeriv reference, ≤ 0.1 against emmeans' own (numerically differentiated)
df; Wilcoxon estimates/CIs ≤ 1e-9; lmerTest boundary df ≤ 1e-6.
"""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tme.stats import paired_t, rank_sum_test, signed_rank_test
from tme.stats.clda import clda
from tme.stats.mixed import mixed_model_interaction

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
    result = clda(p["pre"], p["post"], p["treated"], covariates)
    assert result.estimate == pytest.approx(row["estimate"], abs=1e-6)
    assert result.se == pytest.approx(row["se"], abs=1e-6)
    assert result.df == pytest.approx(row["df_satterthwaite_numderiv"], abs=1e-4)
    assert result.df == pytest.approx(row["df_emmeans"], abs=0.1)
    assert result.p == pytest.approx(row["p_numderiv"], abs=1e-6)
    assert result.note == ""


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
    result = mixed_model_interaction(d["value"], (d["timepoint"] == "post").astype(float),
                                     (d["arm"] == "anakinra").astype(float), d["patient_id"].to_numpy())
    assert r["var_patient"] == 0 and "boundary" in result.note
    assert result.estimate == pytest.approx(r["estimate"], abs=1e-6)
    assert result.se == pytest.approx(r["se"], abs=1e-6)
    assert result.df == pytest.approx(r["df"], abs=1e-6)
    assert result.p == pytest.approx(r["p"], abs=1e-7)
