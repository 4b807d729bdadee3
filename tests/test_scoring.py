"""tme.scoring: API behaviour and each method against hand-computed references.

References here are explicit formulas written out in the tests (the position-by-position random
walk of Barbie 2009 / GSVA ``.rndWalk``, ESTIMATE's ``estimateScore`` loop, singscore's bounds,
Rooney's CYT, the Ayers/Cristescu GEP sum), never tme's own code. R parity: test_scoring_parity.py.
"""

from __future__ import annotations

import warnings

import anndata as ad
import numpy as np
import pandas as pd
import pytest
from scipy.stats import rankdata

from tme.errors import TmeInputError, TmeInputWarning
from tme.geneset import Signature
from tme.scoring import METHODS, coverage, estimate_score, score, tumour_purity

GENES = [f"G{i:03d}" for i in range(60)]
SAMPLES = [f"S{j:02d}" for j in range(8)]
SETS = {"A": GENES[:12], "B": GENES[20:35], "C": GENES[10:25:2]}


@pytest.fixture()
def expr() -> pd.DataFrame:
    """Genes x samples, log scale, with ties inside some samples."""
    rng = np.random.default_rng(7)
    values = np.round(rng.normal(5, 2, size=(len(GENES), len(SAMPLES))), 1)  # rounding -> ties
    values[:6] += 3.0  # planted: first genes of set A up everywhere
    return pd.DataFrame(values, index=GENES, columns=SAMPLES)


def _walk_sum(x: np.ndarray, members: np.ndarray, rank_values: np.ndarray, alpha: float) -> float:
    """Sum over positions of F_in - F_out, position by position (Barbie 2009 / GSVA .rndWalk)."""
    n = x.size
    order = np.lexsort((np.arange(n), -rank_values))  # decreasing, ties in input order
    inside = np.isin(order, members)
    weight = np.abs(rank_values[order]) ** alpha * inside
    f_in = np.cumsum(weight) / weight.sum()
    f_out = np.cumsum(~inside) / (~inside).sum()
    return float(np.sum(f_in - f_out))


def _quiet_score(*args, **kwargs) -> pd.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TmeInputWarning)
        return score(*args, **kwargs)


# --------------------------------------------------------------------------- API


def test_dataframe_result_shape_order_dtype(expr):
    sets = {"C": SETS["C"], "A": SETS["A"]}
    got = score(expr, sets)
    assert list(got.index) == SAMPLES
    assert list(got.columns) == ["C", "A"]
    assert (got.dtypes == np.float64).all()


def test_anndata_annotated_in_place_and_layer(expr):
    adata = ad.AnnData(expr.T.to_numpy() * 0.0, obs=pd.DataFrame(index=SAMPLES), var=pd.DataFrame(index=GENES))
    adata.layers["log"] = expr.T.to_numpy()
    got = score(adata, SETS, "zscore", layer="log")
    pd.testing.assert_frame_equal(got, score(expr, SETS, "zscore"))
    pd.testing.assert_frame_equal(adata.obsm["tme_zscore"], got)
    params = adata.uns["tme_scoring"]["zscore"]
    assert params["layer"] == "log" and params["method"] == "zscore"
    assert list(params["coverage"]["signature"]) == list(SETS)


def test_signature_objects_accepted(expr):
    sigs = [Signature(name=k, genes=tuple(v)) for k, v in SETS.items()]
    pd.testing.assert_frame_equal(score(expr, sigs), score(expr, SETS))
    pd.testing.assert_frame_equal(score(expr, {s.name: s for s in sigs}), score(expr, SETS))


def test_unknown_method_lists_valid_ones(expr):
    with pytest.raises(TmeInputError, match="ssgsea.*gsva.*zscore"):
        score(expr, SETS, "magic")


def test_unknown_option_is_an_error(expr):
    with pytest.raises(TmeInputError, match="normalise"):
        score(expr, SETS, "ssgsea", normalise=True)


def test_nan_names_gene_and_sample(expr):
    expr.loc["G005", "S03"] = np.nan
    with pytest.raises(TmeInputError, match="G005 in S03"):
        score(expr, SETS)


def test_duplicated_genes_rejected(expr):
    expr.index = GENES[:-1] + ["G000"]
    with pytest.raises(TmeInputError, match="not unique"):
        score(expr, SETS)


def test_absent_signature_skipped_with_warning_and_in_coverage(expr):
    sets = {"A": SETS["A"], "GONE": ["NOPE1", "NOPE2"]}
    with pytest.warns(TmeInputWarning, match="GONE"):
        got = score(expr, sets)
    assert list(got.columns) == ["A"]
    cov = coverage(expr.index, sets).set_index("signature")
    assert cov.loc["GONE", "n_genes_used"] == 0
    assert cov.loc["GONE", "missing_genes"] == "NOPE1;NOPE2"
    assert cov.loc["A", "n_genes_in_signature"] == 12 and cov.loc["A", "missing_genes"] == ""


def test_gene_listed_twice_counted_once_with_warning_and_in_coverage(expr):
    """R GSVA counts a repeated gene twice; tme counts it once, warns and lists it."""
    sets = {"A": SETS["A"] + [GENES[3], GENES[3], GENES[5]], "B": SETS["B"]}
    with pytest.warns(TmeInputWarning, match=r"signature 'A' lists 'G003', 'G005' more than once"):
        got = score(expr, sets)
    pd.testing.assert_frame_equal(got, score(expr, {"A": SETS["A"], "B": SETS["B"]}))
    cov = coverage(expr.index, sets).set_index("signature")
    assert cov.loc["A", "duplicated_genes"] == "G003;G005" and cov.loc["B", "duplicated_genes"] == ""
    assert cov.loc["A", "n_genes_in_signature"] == 12
    read = Signature(name="R", genes=tuple(SETS["B"]), meta={"duplicated_genes": "G021"})  # as a reader records it
    assert coverage(expr.index, [read]).loc[0, "duplicated_genes"] == "G021"


def test_min_genes_skips_small_sets(expr):
    with pytest.warns(TmeInputWarning, match="'C' skipped"):
        got = score(expr, SETS, "mean", min_genes=10)
    assert list(got.columns) == ["A", "B"]


@pytest.mark.parametrize("method", ["ssgsea", "gsva", "singscore", "estimate"])
def test_rank_methods_warn_on_small_sets(expr, method):
    with pytest.warns(TmeInputWarning, match="only 3 genes"):
        score(expr, {"tiny": GENES[:3]}, method)


def test_down_genes_ignored_with_warning_outside_singscore(expr):
    sig = Signature(name="UD", genes=tuple(GENES[:10]), down_genes=tuple(GENES[30:40]))
    with pytest.warns(TmeInputWarning, match="down genes"):
        got = score(expr, [sig], "ssgsea")
    pd.testing.assert_frame_equal(got, score(expr, {"UD": GENES[:10]}))


def test_methods_registry():
    assert set(METHODS) == {
        "ssgsea",
        "gsva",
        "zscore",
        "plage",
        "singscore",
        "mean",
        "weighted",
        "cyt",
        "mcpcounter",
        "estimate",
    }


# --------------------------------------------------------------------------- ssGSEA


def test_ssgsea_equals_positionwise_walk_with_truncated_ranks(expr):
    """Reference: the explicit walk over all positions with GSVA 1.46's integer-truncated
    average ranks (ties in input order), alpha = 0.25. Tolerance 1e-10."""
    got = score(expr, SETS)
    for sample in SAMPLES:
        x = expr[sample].to_numpy()
        ranks = np.floor(rankdata(x, method="average"))
        for name, genes in SETS.items():
            members = np.array([GENES.index(g) for g in genes])
            assert got.loc[sample, name] == pytest.approx(_walk_sum(x, members, ranks, 0.25), abs=1e-10)


def test_ssgsea_normalize_divides_by_global_range(expr):
    raw = score(expr, SETS)
    norm = score(expr, SETS, normalize=True)
    span = raw.to_numpy().max() - raw.to_numpy().min()
    np.testing.assert_allclose(norm.to_numpy(), raw.to_numpy() / span, rtol=0, atol=1e-15)


@pytest.mark.parametrize("method", ["ssgsea", "gsva", "singscore", "estimate"])
def test_threads_give_bit_identical_scores(method):
    rng = np.random.default_rng(3)
    values = np.round(rng.normal(5, 2, size=(300, 150)), 1)  # 150 samples > one chunk, ties
    data = pd.DataFrame(values, index=[f"g{i}" for i in range(300)])
    sets = {"x": [f"g{i}" for i in range(0, 60, 2)], "y": [f"g{i}" for i in range(100, 140)]}
    one = score(data, sets, method, n_jobs=1)
    two = score(data, sets, method, n_jobs=2)
    assert np.array_equal(one.to_numpy(), two.to_numpy())


# --------------------------------------------------------------------------- cohort methods


def test_zscore_by_hand(expr):
    z = expr.sub(expr.mean(axis=1), axis=0).div(expr.std(axis=1, ddof=1), axis=0)
    got = score(expr, SETS, "zscore")
    for name, genes in SETS.items():
        np.testing.assert_allclose(got[name], z.loc[genes].sum() / np.sqrt(len(genes)), rtol=0, atol=1e-12)


def test_gsva_planted_effect_and_range():
    rng = np.random.default_rng(11)
    values = rng.normal(6, 1, size=(200, 20))
    values[:25, 10:] += 2.0  # set genes up in the second half of the samples
    data = pd.DataFrame(values, index=[f"g{i}" for i in range(200)])
    got = score(data, {"up": [f"g{i}" for i in range(25)]}, "gsva")["up"]
    assert got.iloc[10:].min() > got.iloc[:10].max()
    assert got.abs().max() <= 1.0


def test_plage_is_unit_singular_vector_oriented_up(expr):
    got = score(expr, SETS, "plage")
    z = expr.sub(expr.mean(axis=1), axis=0).div(expr.std(axis=1, ddof=1), axis=0)
    for name, genes in SETS.items():
        v = np.linalg.svd(z.loc[genes].to_numpy())[2][0]
        np.testing.assert_allclose(np.abs(got[name].to_numpy()), np.abs(v), atol=1e-12)
        assert np.corrcoef(got[name], z.loc[genes].mean())[0, 1] > 0


# --------------------------------------------------------------------------- averages and sums


def test_mean_and_mcpcounter_by_hand(expr):
    for method in ("mean", "mcpcounter"):
        got = score(expr, SETS, method)
        for name, genes in SETS.items():
            np.testing.assert_allclose(got[name], expr.loc[genes].mean(), rtol=0, atol=1e-12)


def test_cyt_linear_is_rooney_geometric_mean():
    tpm = pd.DataFrame({"s1": [3.0, 12.0, 5.0], "s2": [0.0, 0.5, 9.0]}, index=["GZMA", "PRF1", "CD8A"])
    got = score(tpm, {"CYT": ["GZMA", "PRF1"]}, "cyt")["CYT"]
    assert got["s1"] == pytest.approx(np.sqrt(3.01 * 12.01), rel=1e-14)
    assert got["s2"] == pytest.approx(np.sqrt(0.01 * 0.51), rel=1e-14)


def test_cyt_log2_is_log2_of_rooney_cyt():
    tpm = pd.DataFrame({"s1": [3.0, 12.0], "s2": [0.0, 0.5]}, index=["GZMA", "PRF1"])
    logged = np.log2(tpm + 0.01)
    linear = score(tpm, {"CYT": ["GZMA", "PRF1"]}, "cyt")["CYT"]
    on_log = score(logged, {"CYT": ["GZMA", "PRF1"]}, "cyt", log_base=2)["CYT"]
    np.testing.assert_allclose(on_log, np.log2(linear), rtol=0, atol=1e-12)


def test_cyt_linear_rejects_log_data():
    logged = pd.DataFrame({"s1": [-2.0, 1.0]}, index=["GZMA", "PRF1"])
    with pytest.raises(TmeInputError, match="log_base"):
        score(logged, {"CYT": ["GZMA", "PRF1"]}, "cyt")


def _gep(**kw) -> Signature:
    defaults = dict(
        name="GEP", genes=("CD274", "CXCL9"), weights={"CD274": 0.5, "CXCL9": -0.25}, housekeeping=("HK1", "HK2")
    )
    return Signature(**{**defaults, **kw})


def test_weighted_gep_by_hand():
    data = pd.DataFrame(
        {"s1": [8.0, 6.0, 10.0, 12.0], "s2": [5.0, 9.0, 11.0, 11.0]}, index=["CD274", "CXCL9", "HK1", "HK2"]
    )
    got = score(data, [_gep()], "weighted")["GEP"]
    assert got["s1"] == pytest.approx(0.5 * (8 - 11) - 0.25 * (6 - 11), abs=1e-14)
    assert got["s2"] == pytest.approx(0.5 * (5 - 11) - 0.25 * (9 - 11), abs=1e-14)


def test_weighted_errors():
    data = pd.DataFrame({"s1": [1.0, 2.0, 3.0, 4.0]}, index=["CD274", "CXCL9", "HK1", "HK2"])
    with pytest.raises(TmeInputError, match="needs per-gene weights"):
        score(data, {"GEP": ["CD274", "CXCL9"]}, "weighted")
    with pytest.raises(TmeInputError, match="weights for genes not in the set"):
        score(data, [_gep(weights={"CD274": 0.5, "CXCL9": 1.0, "STAT1": 1.0})], "weighted")


# --------------------------------------------------------------------------- singscore


def test_singscore_bounds_and_hand_value():
    x = np.arange(1.0, 21.0)  # ranks 1..20 in one sample
    data = pd.DataFrame({"s": x}, index=[f"g{i}" for i in range(20)])
    top, bottom = [f"g{i}" for i in range(15, 20)], [f"g{i}" for i in range(5)]
    got = _quiet_score(data, {"top": top, "bottom": bottom, "mid": ["g2", "g9", "g12"]}, "singscore")
    assert got.loc["s", "top"] == pytest.approx(0.5)
    assert got.loc["s", "bottom"] == pytest.approx(-0.5)
    # mean rank (3 + 10 + 13) / 3; bounds (k+1)/2 = 2 and (2n-k+1)/2 = 19
    assert got.loc["s", "mid"] == pytest.approx((26 / 3 - 2) / (19 - 2) - 0.5, abs=1e-14)
    updown = Signature(name="ud", genes=tuple(top), down_genes=tuple(bottom))
    assert _quiet_score(data, [updown], "singscore").loc["s", "ud"] == pytest.approx(1.0)


def test_singscore_ties_take_min_rank():
    data = pd.DataFrame({"s": [1.0, 2.0, 2.0, 2.0, 5.0, 6.0]}, index=list("abcdef"))
    got = _quiet_score(data, {"t": ["d"]}, "singscore").loc["s", "t"]
    # min rank of the tie group {2,3,4} is 2; k=1 bounds 1 and 6
    assert got == pytest.approx((2 - 1) / (6 - 1) - 0.5)


# --------------------------------------------------------------------------- ESTIMATE


def test_estimate_equals_estimatescore_loop(expr):
    """Reference: ESTIMATE's estimateScore loop written out — average ranks (not truncated)
    scaled 10000/N, weights ^0.25, ES = sum of the walk. Tolerance 1e-10."""
    got = score(expr, SETS, "estimate")
    for sample in SAMPLES:
        x = expr[sample].to_numpy()
        m = 10000 * rankdata(x, method="average") / x.size
        for name, genes in SETS.items():
            members = np.array([GENES.index(g) for g in genes])
            assert got.loc[sample, name] == pytest.approx(_walk_sum(x, members, m, 0.25), abs=1e-10)


def test_estimate_score_and_purity():
    scores = pd.DataFrame({"StromalSignature": [100.0, -50.0], "ImmuneSignature": [200.0, 25.0]})
    total = estimate_score(scores)
    np.testing.assert_allclose(total, [300.0, -25.0])
    np.testing.assert_allclose(tumour_purity(total), np.cos(0.6049872018 + 0.0001467884 * np.array([300.0, -25.0])))
    with pytest.raises(TmeInputError, match="ImmuneSignature"):
        estimate_score(scores.drop(columns="ImmuneSignature"))


@pytest.mark.parametrize("method", ["gsva", "zscore", "plage"])
def test_cohort_methods_need_two_samples(expr, method):
    with pytest.raises(TmeInputError, match="at least 2 samples"):
        score(expr[["S00"]], SETS, method)


def test_cohort_methods_drop_constant_genes_like_gsva(expr):
    """A gene constant across samples is removed (R GSVA .filterFeatures); a set made only of
    constant genes is skipped with a warning."""
    expr.loc["G000"] = 4.0
    with pytest.warns(TmeInputWarning, match="'flat' skipped"):
        got = score(expr, {"A": SETS["A"], "flat": ["G000"]}, "zscore")
    z = expr.loc[SETS["A"][1:]]
    z = z.sub(z.mean(axis=1), axis=0).div(z.std(axis=1, ddof=1), axis=0)
    np.testing.assert_allclose(got["A"], z.sum() / np.sqrt(11), rtol=0, atol=1e-12)


def test_sparse_anndata_and_bad_n_jobs(expr):
    from scipy.sparse import csr_matrix

    adata = ad.AnnData(csr_matrix(expr.T.to_numpy()), obs=pd.DataFrame(index=SAMPLES), var=pd.DataFrame(index=GENES))
    pd.testing.assert_frame_equal(score(adata, SETS), score(expr, SETS))
    with pytest.raises(TmeInputError, match="n_jobs"):
        score(expr, SETS, n_jobs=0)
