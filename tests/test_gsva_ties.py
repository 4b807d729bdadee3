"""GSVA, ssGSEA, z-score and PLAGE against R GSVA 1.46 on awkward inputs (ties, low counts).

Oracle: tests/fixtures/gsva_ties/, written by make_fixtures.R there with R GSVA 1.46.0 (see
VERSIONS): the issue-13 tie reproducers, 2-5 samples, duplicated and permuted rows, near-constant
genes, 1-gene sets, random low counts (4, 5, 12, 60 samples), counts above tme's 0..100 Poisson
grid and around its edge. Log-scale inputs are R's own log2(count + 1), read from hex.

Bars: GSVA (both kernels) 1e-6 and its kernel statistic bit-identical to R's
``compute.gene.density`` (Poisson genes with a count above 100: 1e-12, as tme documents);
ssGSEA and z-score 1e-9; PLAGE 1e-9 up to the sign of each set. Sets that list a gene twice are
scored by R with the gene counted twice and by tme once: they are compared with R on the
de-duplicated set instead.
"""

from __future__ import annotations

import warnings
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tme.errors import TmeInputWarning
from tme.scoring import coverage, score
from tme.scoring._gsva_kernel import POISSON_GRID_MAX, kernel_cdf_statistic

FIXTURES = Path(__file__).parent / "fixtures" / "gsva_ties"
METHODS = {  # fixture method -> (tme method, options, input scale, tolerance)
    "gsva_gaussian": ("gsva", {"kcdf": "gaussian"}, "log", 1e-6),
    "gsva_poisson": ("gsva", {"kcdf": "poisson"}, "counts", 1e-6),
    "ssgsea": ("ssgsea", {}, "log", 1e-9),
    "zscore": ("zscore", {}, "log", 1e-9),
    "plage": ("plage", {}, "log", 1e-9),
}


def _read(name: str) -> pd.DataFrame:
    return pd.read_csv(FIXTURES / name, sep="\t", dtype=str, keep_default_na=False)


def _matrix(table: pd.DataFrame, case: str, parse, key: str = "gene") -> pd.DataFrame:
    """Rows of ``case`` as a matrix: index from column ``key``, columns s0, s1, ..."""
    rows = table[table["case"] == case]
    values = [[parse(v) for v in text.split(" ")] for text in rows["values"]]
    return pd.DataFrame(values, index=rows[key].tolist(), columns=[f"s{j}" for j in range(len(values[0]))])


def _hex(text: str) -> float:
    return float(text) if text.lstrip("-") == "Inf" else float.fromhex(text)


@cache
def _case(case: str):
    """(counts, log2(count + 1) as R computed it, {set: genes in order, repeats kept})."""
    counts = _matrix(_read("counts.tsv"), case, float)
    logs = _matrix(_read("log_hex.tsv"), case, _hex)
    sets = _read("gene_sets.tsv")
    sets = sets[sets["case"] == case]
    return counts, logs, {name: list(group["gene"]) for name, group in sets.groupby("signature", sort=False)}


CASES = list(dict.fromkeys(_read("counts.tsv")["case"]))


def _score(case: str, method: str, sets) -> pd.DataFrame:
    tme_method, options, scale, _ = METHODS[method]
    counts, logs, _ = _case(case)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TmeInputWarning)  # tiny sets warn for rank methods
        return score(counts if scale == "counts" else logs, sets, tme_method, **options).T


def _present(case: str, genes: list[str]) -> list[str]:
    """Genes of a set that are in the data and not constant (GSVA drops constant genes)."""
    logs = _case(case)[1]
    return [g for g in genes if g in logs.index and logs.loc[g].std() >= 1e-10]


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("case", CASES)
def test_scores_match_r_on_awkward_inputs(case, method):
    _, _, sets = _case(case)
    compared = {
        name: genes
        for name, genes in sets.items()
        if len(set(genes)) == len(genes) and (method != "plage" or len(_present(case, genes)) > 1)
    }
    expected = _matrix(_read("expected.tsv").query("method == @method"), case, float, "signature")
    expected = expected.loc[list(compared)]
    got = _score(case, method, compared).loc[expected.index, expected.columns]
    tol = METHODS[method][3]
    if method == "plage":
        signs = np.sign((got.to_numpy() * expected.to_numpy()).sum(axis=1, keepdims=True))
        expected = expected * np.where(signs == 0, 1.0, signs)
    np.testing.assert_allclose(got.to_numpy(), expected.to_numpy(), rtol=0, atol=tol)


def test_plage_of_one_gene_is_its_standardised_profile_where_r_returns_ones():
    """R GSVA 1.46 drops a one-gene matrix to a vector and returns 1 for every sample; tme
    returns that gene's first right singular vector, its z-scores over their norm."""
    case = "tiny_sets"
    _, logs, sets = _case(case)
    expected = _matrix(_read("expected.tsv").query("method == 'plage'"), case, float, "signature")
    one = [name for name, genes in sets.items() if len(_present(case, genes)) == 1]
    assert one and (expected.loc[one].abs() == 1).all().all()
    got = _score(case, "plage", {name: sets[name] for name in one})
    for name in one:
        x = logs.loc[_present(case, sets[name])[0]]
        z = (x - x.mean()) / x.std()
        np.testing.assert_allclose(got.loc[name].abs(), (z / np.linalg.norm(z)).abs(), rtol=0, atol=1e-12)


@pytest.mark.parametrize("kcdf", ["gaussian", "poisson"])
@pytest.mark.parametrize("case", CASES)
def test_kernel_statistic_is_r_bit_for_bit(case, kcdf):
    """z before ranking: the same doubles as R, so tied genes are ranked as R ranks them."""
    counts, logs, _ = _case(case)
    table = _read("density.tsv.gz").query("kcdf == @kcdf")
    expected = _matrix(table, case, _hex)
    data = (logs if kcdf == "gaussian" else counts).loc[expected.index]
    got = pd.DataFrame(kernel_cdf_statistic(data.to_numpy().T, kcdf).T, index=expected.index, columns=expected.columns)
    exact = counts.loc[expected.index].max(axis=1) <= POISSON_GRID_MAX if kcdf == "poisson" else True
    exact = pd.Series(exact, index=expected.index)
    np.testing.assert_array_equal(got[exact].to_numpy(), expected[exact].to_numpy())
    np.testing.assert_allclose(got[~exact].to_numpy(), expected[~exact].to_numpy(), rtol=0, atol=1e-12)


def test_issue13_reproducers():
    """The tie cases of issue 13: R 0.3333 where tme's earlier kernel gave -0.5 / 0.0833."""
    poisson = _score("issue13_poisson", "gsva_poisson", {"A": ["g0", "g1"]})
    assert poisson.loc["A", "s2"] == pytest.approx(1 / 3, abs=1e-12)
    gaussian = _score("issue13_gaussian", "gsva_gaussian", {"A": ["g0", "g1"]})
    assert gaussian.loc["A", "s3"] == pytest.approx(1 / 3, abs=1e-12)


def test_gene_listed_twice_counts_once_with_warning_and_coverage():
    """R counts a repeated gene twice; tme counts it once, says so, and lists it."""
    counts, logs, sets = _case("dup_in_set")
    assert sets["A"] == ["g0", "g1", "g1", "g2"]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        got = score(logs, sets, "ssgsea").T
    repeats = [str(w.message) for w in caught if "more than once" in str(w.message)]
    assert len(repeats) == 2 and "signature 'A' lists 'g1' more than once" in repeats[0]
    assert "signature 'B' lists 'g3' more than once" in repeats[1]
    table = _read("expected.tsv")
    dedup = _matrix(table.query("method == 'ssgsea_dedup'"), "dup_in_set", float, "signature")
    r_twice = _matrix(table.query("method == 'ssgsea'"), "dup_in_set", float, "signature")
    np.testing.assert_allclose(got.loc[dedup.index].to_numpy(), dedup.to_numpy(), rtol=0, atol=1e-9)
    assert (np.abs(r_twice - dedup).loc[["A", "B"]].to_numpy().max(axis=1) > 1e-3).all()  # R differs
    cover = coverage(logs.index, sets).set_index("signature")["duplicated_genes"]
    assert cover.to_dict() == {"A": "g1", "B": "g3", "C": ""}


def test_kernel_statistic_independent_of_threads():
    """More genes than one work unit (256): 1 and 2 threads give the same bits."""
    rng = np.random.default_rng(3)
    X = rng.poisson(rng.uniform(0.2, 300, size=700), size=(9, 700)).astype(float)
    X = X[:, X.std(axis=0) > 0]
    for kcdf, data in (("poisson", X), ("gaussian", np.log2(X + 1))):
        np.testing.assert_array_equal(
            kernel_cdf_statistic(data, kcdf, n_jobs=1), kernel_cdf_statistic(data, kcdf, n_jobs=2)
        )
