"""Parity of tme.stats with R 4.2.2 stats, lme4 1.1-31 and lmerTest 3.1-3.

Reference: ../shared/reference/fixtures/r_stats/ (expected.tsv made by make_fixtures.R from
paired_features.tsv: 32 patients, 3 without a post sample). Tolerances: rank-test HL estimates,
CIs, statistics and exact p, paired/Welch t and ANCOVA ≤ 1e-8; mixed-model fixed-effect estimate,
SE and p ≤ 1e-7 (measured 5e-9), Satterthwaite df ≤ 1e-5 (measured 1.1e-6: lmerTest differentiates
numerically, tme analytically); BH ≤ 1e-12.
"""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tme.stats import Design, benjamini_hochberg, changes_within_arm, effects_between_arms

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
FIXTURES = SHARED / "reference" / "fixtures" / "r_stats"
pytestmark = pytest.mark.skipif(
    not (FIXTURES / "expected.tsv").exists(),
    reason=f"R reference fixtures not found at {FIXTURES} (shared folder absent)",
)

WITHIN = {"within_arm_wilcoxon_signed_rank": "wilcoxon_signed_rank", "within_arm_paired_t": "paired_t"}
BETWEEN = {
    "between_arm_mann_whitney_on_change": "mann_whitney_change",
    "between_arm_welch_t_on_change": "welch_t_change",
    "between_arm_ancova": "ancova",
    "between_arm_lmm_reml": "mixed_model",
}


@pytest.fixture(scope="module")
def expected():
    return pd.read_csv(FIXTURES / "expected.tsv", sep="\t")


@pytest.fixture(scope="module")
def values():
    return pd.read_csv(FIXTURES / "paired_features.tsv", sep="\t")


@pytest.fixture(scope="module")
def within(values):
    return changes_within_arm(values, Design()).set_index(["feature", "analysis", "arm"])


@pytest.fixture(scope="module")
def between(values):
    return effects_between_arms(values, Design(), n_bootstrap=200).set_index(["feature", "analysis"])


def _pairs(expected, table, mapping, key):
    rows = expected[expected["analysis"].isin(mapping)]
    ours = table.loc[[key(r) for r in rows.itertuples()]]
    return rows.reset_index(drop=True), ours.reset_index()


def test_within_arm_matches_r(expected, within):
    r, ours = _pairs(expected, within, WITHIN, lambda r: (r.feature, WITHIN[r.analysis], r.term))
    for column in ("estimate", "ci_low", "ci_high", "statistic", "p"):
        np.testing.assert_allclose(ours[column], r[column], rtol=0, atol=1e-8, err_msg=column)
    assert (ours["n_pairs"] == r["extra"].str.removeprefix("n_pairs=").astype(int)).all()
    np.testing.assert_allclose(ours["p_adjusted"], r["p_bh_within_analysis"], rtol=0, atol=1e-8)


@pytest.mark.parametrize(
    "analysis", ["between_arm_mann_whitney_on_change", "between_arm_welch_t_on_change", "between_arm_ancova"]
)
def test_between_arm_matches_r(expected, between, analysis):
    r, ours = _pairs(expected, between, {analysis: BETWEEN[analysis]}, lambda r: (r.feature, BETWEEN[r.analysis]))
    for column in ("estimate", "ci_low", "ci_high", "statistic", "p"):
        np.testing.assert_allclose(ours[column], r[column], rtol=0, atol=1e-8, err_msg=column)
    np.testing.assert_allclose(ours["p_adjusted"], r["p_bh_within_analysis"], rtol=0, atol=1e-8)
    if analysis == "between_arm_ancova":
        assert (ours["df"] == r["extra"].str.removeprefix("df=").astype(float)).all()


def test_mixed_model_matches_lmertest(expected, between):
    r, ours = _pairs(expected, between, {"between_arm_lmm_reml": "mixed_model"}, lambda r: (r.feature, "mixed_model"))
    extra = r["extra"].str.split(";").apply(lambda kv: dict(x.split("=") for x in kv))
    np.testing.assert_allclose(ours["estimate"], r["estimate"], rtol=0, atol=1e-7)
    np.testing.assert_allclose(ours["se"], extra.str["se"].astype(float), rtol=0, atol=1e-7)
    np.testing.assert_allclose(ours["statistic"], r["statistic"], rtol=0, atol=1e-6)
    np.testing.assert_allclose(ours["df"], extra.str["df_satterthwaite"].astype(float), rtol=0, atol=1e-5)
    np.testing.assert_allclose(ours["p"], r["p"], rtol=0, atol=1e-7)
    assert (ours["note"] == "").all()
    # patients with one sample are kept: 16 per arm, versus 15/14 pairs
    assert (ours["n_reference_arm"] == 16).all() and (ours["n_treatment_arm"] == 16).all()


def test_benjamini_hochberg_matches_p_adjust(expected):
    for _, rows in expected.groupby("analysis"):
        np.testing.assert_allclose(benjamini_hochberg(rows["p"]), rows["p_bh_within_analysis"], rtol=0, atol=1e-12)
