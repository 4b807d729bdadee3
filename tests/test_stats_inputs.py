"""Bad or awkward input to tme.stats: clear errors, or NA rows with the reason in ``note``."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from tme.errors import TmeInputError
from tme.stats import (
    BETWEEN_COLUMNS,
    WITHIN_COLUMNS,
    Design,
    benjamini_hochberg,
    bootstrap_mean_change_difference,
    changes_within_arm,
    effects_between_arms,
    rank_sum_test,
    signed_rank_test,
)
from tme.stats.analyses import BETWEEN_ARM


def make_values(n_per_arm=8, seed=1, features=("A", "B"), effect=0.0):
    rng = np.random.default_rng(seed)
    rows = []
    for arm in ("usual_care", "anakinra"):
        for i in range(n_per_arm):
            pid = f"{arm[:2]}{i:02d}"
            base = rng.normal()
            for feature in features:
                pre = base + rng.normal(scale=0.5)
                post = pre + 0.3 + (effect if arm == "anakinra" else 0) + rng.normal(scale=0.5)
                for timepoint, value in (("pre", pre), ("post", post)):
                    rows.append(
                        {
                            "patient_id": pid,
                            "arm": arm,
                            "timepoint": timepoint,
                            "feature": feature,
                            "value": value,
                        }
                    )
    return pd.DataFrame(rows)


def baseline(values, **columns):
    """A baseline covariate table (one row per patient) from functions of (patient index, arm)."""
    patients = values.drop_duplicates("patient_id").set_index("patient_id")["arm"]
    index = [int(p[2:]) for p in patients.index]
    return pd.DataFrame(
        {name: [f(i, a) for i, a in zip(index, patients)] for name, f in columns.items()}, index=patients.index
    )


BATCH_DAYS = {"batch": lambda i, arm: f"b{i % 2}", "days": lambda i, arm: 10 + i}


def test_tables_have_documented_columns():
    values = make_values()
    within = changes_within_arm(values, Design())
    between = effects_between_arms(values, Design(), n_bootstrap=100, covariates=baseline(values, **BATCH_DAYS))
    assert list(within.columns) == WITHIN_COLUMNS
    assert list(between.columns) == BETWEEN_COLUMNS
    assert set(between["analysis"]) == set(BETWEEN_ARM) - {"ancova_post_covariates"}
    ancova = between[between["analysis"] == "ancova"].iloc[0]
    assert ancova["covariates"] == "batch;days"
    assert ancova["model"] == "post ~ pre + arm + batch + days"
    assert ancova["df"] == 16 - 5
    assert (between["family"] == "all_features").all()


def test_arm_with_fewer_than_three_pairs_gives_na_with_reason():
    values = make_values()
    drop = values["arm"].eq("anakinra") & values["timepoint"].eq("post") & ~values["patient_id"].isin(["an00", "an01"])
    values = values[~drop]
    within = changes_within_arm(values, Design())
    ana = within[within["arm"] == "anakinra"]
    assert ana["p"].isna().all() and ana["note"].str.contains("fewer than 3 pairs").all()
    assert within.loc[within["arm"] == "usual_care", "p"].notna().all()
    between = effects_between_arms(values, Design(), n_bootstrap=100)
    assert between["estimate"].isna().all()
    assert between["note"].str.contains(r"treatment 2\)").all()


def test_constant_feature_is_na_with_reason():
    values = make_values()
    values.loc[values["feature"] == "B", "value"] = 1.0
    between = effects_between_arms(values, Design(), n_bootstrap=100)
    b = between[between["feature"] == "B"]
    assert b["estimate"].isna().all() and (b["note"] == "feature is constant in all samples").all()
    assert between.loc[between["feature"] == "A", "p"].notna().sum() == 7  # every analysis with a p-value


def test_missing_covariate_is_an_error_naming_it():
    values = make_values()
    covariates = baseline(values, **BATCH_DAYS)
    covariates.loc["us03", "batch"] = None
    with pytest.raises(TmeInputError, match=r"covariate\(s\) \['batch'\] have missing values"):
        effects_between_arms(values, Design(), covariates=covariates)
    with pytest.raises(TmeInputError, match="no baseline covariates for patient"):
        effects_between_arms(values, Design(), covariates=covariates.drop(index="an01"))


@pytest.mark.parametrize(("column", "confounded_with"), [("arm_batch", "arm"), ("site", "the intercept")])
def test_confounded_covariate_is_an_error_naming_it(column, confounded_with):
    values = make_values()
    covariates = baseline(
        values, arm_batch=lambda i, arm: "run1" if arm == "anakinra" else "run2", site=lambda i, arm: 1.0
    )
    with pytest.raises(TmeInputError, match=f"'{column}' is confounded with {confounded_with}"):
        effects_between_arms(values, Design(), covariates=covariates[[column]])


def test_family_checks():
    values = make_values()
    info = {"A": ("signature", "primary"), "B": ("immune_measure", "exploratory")}
    table = effects_between_arms(values, Design(), info, families=["primary", "exploratory"], n_bootstrap=0)
    assert set(zip(table["feature"], table["family"])) == {("A", "primary"), ("B", "exploratory")}
    # one p per family × analysis: q equals p
    np.testing.assert_allclose(table["p_adjusted"], table["p"])
    with pytest.raises(TmeInputError, match="match no feature"):
        effects_between_arms(values, Design(), info, families=["primary", "exploratory", "prmary"])
    with pytest.raises(TmeInputError, match="not declared"):
        effects_between_arms(values, Design(), info, families=["primary"])
    with pytest.raises(TmeInputError, match="no feature type/family: B"):
        effects_between_arms(values, Design(), {"A": ("signature", "primary")})


def test_unknown_arm_label_is_an_error():
    values = make_values()
    values.loc[values["arm"] == "anakinra", "arm"] = "Anakinra"
    with pytest.raises(TmeInputError, match="unexpected arm label"):
        changes_within_arm(values, Design())


def test_mixed_model_keeps_unpaired_patients():
    values = make_values(n_per_arm=10)
    values = values[~((values["patient_id"] == "an09") & (values["timepoint"] == "post"))]
    between = effects_between_arms(values[values["feature"] == "A"], Design(), n_bootstrap=0).set_index("analysis")
    assert between.loc["ancova", "n_treatment_arm"] == 9
    assert between.loc["mixed_model", "n_treatment_arm"] == 10


def test_bootstrap_is_seeded_and_brackets_estimate():
    rng = np.random.default_rng(3)
    x, y = rng.normal(-0.5, 1, 20), rng.normal(0, 1, 22)
    a = bootstrap_mean_change_difference(x, y, 2000, seed=7)
    b = bootstrap_mean_change_difference(x, y, 2000, seed=7)
    assert a == b
    assert a.ci_low < a.estimate < a.ci_high
    assert a.estimate == pytest.approx(x.mean() - y.mean())


def test_rank_tests_with_ties_or_zeros_use_rs_normal_approximation():
    """R falls back to the tie-corrected normal approximation with continuity correction;
    scipy implements the same formula, an independent check of the p-values."""
    x, y = np.array([1, 2, 2, 3, 4.0]), np.array([2, 3, 5, 5, 6, 7.0])
    res = rank_sum_test(x, y)
    assert res.statistic == 4.5 and res.method.startswith("normal approximation")
    # R 4.2.2 wilcox.test(x, y, conf.int = TRUE): uniroot's point in the interval where the
    # uncorrected statistic is 0 — not the median of the 30 differences (-2.5)
    assert res.estimate == pytest.approx(-2.56788748571140, abs=1e-12)
    assert (res.ci_low, res.ci_high) == pytest.approx((-4.99994372010658, 2.69404450927946e-05), abs=1e-12)
    ref = stats.mannwhitneyu(x, y, method="asymptotic", use_continuity=True)
    assert res.p == pytest.approx(ref.pvalue, abs=1e-12)
    assert res.ci_low <= res.estimate <= res.ci_high
    # zeros are dropped (R's and scipy's zero_method="wilcox") and force the approximation
    d = np.array([0.0, 1.5, -0.5, 2.0, 3.0, 2.5, -1.0, 4.0])
    res = signed_rank_test(d)
    assert res.statistic == 25 and res.method.startswith("normal approximation")
    ref = stats.wilcoxon(d, zero_method="wilcox", correction=True, method="approx")
    assert res.p == pytest.approx(ref.pvalue, abs=1e-12)


def test_exact_rank_tests_agree_with_scipy():
    rng = np.random.default_rng(11)
    x, y = rng.normal(size=9), rng.normal(0.5, size=12)
    assert rank_sum_test(x, y).p == pytest.approx(stats.mannwhitneyu(x, y, method="exact").pvalue, abs=1e-12)
    assert signed_rank_test(x).p == pytest.approx(stats.wilcoxon(x, method="exact").pvalue, abs=1e-12)


def test_benjamini_hochberg_ignores_missing():
    q = benjamini_hochberg(np.array([0.01, np.nan, 0.04, 0.03]))
    np.testing.assert_allclose(q, [0.03, np.nan, 0.04, 0.04])


def test_covariate_constant_or_confounded_within_one_feature():
    values = make_values(n_per_arm=10)
    covariates = baseline(values, batch=BATCH_DAYS["batch"])
    b0 = set(covariates.index[covariates["batch"] == "b0"])
    # feature B measured only in batch b0 patients: batch is constant among its patients
    values = values[(values["feature"] == "A") | values["patient_id"].isin(b0)]
    between = effects_between_arms(values, Design(), n_bootstrap=0, covariates=covariates)
    b = between[between["feature"] == "B"].set_index("analysis")
    for analysis in ("ancova", "mixed_model"):
        assert np.isfinite(b.loc[analysis, "estimate"])
        assert "batch constant among this feature's patients" in b.loc[analysis, "note"]
    assert between.loc[between["feature"] == "A", "p"].notna().all()
    # feature B measured in batch b0 for the reference arm, b1 for the treatment arm
    values = make_values(n_per_arm=10)
    keep = (values["feature"] == "A") | (values["patient_id"].isin(b0) == (values["arm"] == "usual_care"))
    between = effects_between_arms(values[keep], Design(), n_bootstrap=0, covariates=covariates)
    b = between[between["feature"] == "B"].set_index("analysis")
    assert "ANCOVA design rank-deficient: 'batch' is confounded with arm" in b.loc["ancova", "note"]
    assert "'batch' is confounded with arm" in b.loc["mixed_model", "note"]
    assert np.isfinite(b.loc["welch_t_change", "p"])


def test_categorical_labels_are_accepted():
    values = make_values()
    cat = values.astype({"patient_id": "category", "arm": "category", "timepoint": "category", "feature": "category"})
    cat["patient_id"] = cat["patient_id"].cat.add_categories(["unused"])
    pd.testing.assert_frame_equal(
        effects_between_arms(cat, Design(), n_bootstrap=100), effects_between_arms(values, Design(), n_bootstrap=100)
    )


def test_no_values_give_empty_tables_with_every_column():
    """Every value missing (e.g. an assay that failed for all samples): empty tables, not a traceback."""
    values = make_values().assign(value=np.nan)
    assert list(changes_within_arm(values, Design()).columns) == WITHIN_COLUMNS
    between = effects_between_arms(values, Design(), n_bootstrap=0)
    assert between.empty and list(between.columns) == BETWEEN_COLUMNS


def test_features_measured_on_different_patients_keep_their_own_patients():
    """A feature missing for some patients gets its own patient set (and covariate rows) in every analysis."""
    values = make_values(n_per_arm=10, features=("A", "B"))
    dropped = values["patient_id"].isin(["us00", "an01"]) & (values["feature"] == "B")
    covariates = pd.DataFrame(
        {"age": np.linspace(40, 70, 20)}, index=sorted(values["patient_id"].unique())
    ).rename_axis("patient_id")
    both = effects_between_arms(values[~dropped], Design(), n_bootstrap=0, covariates=covariates)
    alone = effects_between_arms(values[~dropped & (values["feature"] == "B")], Design(), n_bootstrap=0,
                                 covariates=covariates)  # fmt: skip
    b = both[both["feature"] == "B"].reset_index(drop=True)
    unadjusted = [c for c in BETWEEN_COLUMNS if c != "p_adjusted"]  # the family differs: A and B, or B alone
    pd.testing.assert_frame_equal(b[unadjusted], alone.reset_index(drop=True)[unadjusted])
    assert (b.loc[b["analysis"] == "ancova", ["n_reference_arm", "n_treatment_arm"]].to_numpy() == [9, 9]).all()
