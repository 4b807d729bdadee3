"""Parity of tme.scoring with R GSVA 1.46.0 (Debian r-bioc-gsva, R 4.2.2).

Oracle: ../shared/reference/fixtures/gsva_r/ — outputs of make_fixtures.R there (sets x samples,
rounded to 1e-12), computed by R, not by tme. Tolerances (absolute): ssGSEA raw and normalised,
z-score and PLAGE (up to sign) 1e-9; GSVA Gaussian and Poisson 1e-6.
The gene sets include deliberate ties (SET_TIES), a 3-gene set and a set with 2 absent genes.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tme.scoring import score

FIXTURES = Path(__file__).resolve().parents[1].parent / "shared" / "reference" / "fixtures" / "gsva_r"

pytestmark = pytest.mark.skipif(
    not FIXTURES.is_dir(), reason=f"R GSVA fixtures not available at {FIXTURES} (../shared absent)"
)


def _read(name: str) -> pd.DataFrame:
    return pd.read_csv(FIXTURES / name, sep="\t", index_col=0)


@pytest.fixture(scope="module")
def gene_sets() -> dict[str, list[str]]:
    sets = {}
    for line in (FIXTURES / "gene_sets.gmt").read_text().splitlines():
        fields = line.split("\t")
        sets[fields[0]] = fields[2:]
    return sets


def _tme(data_file: str, gene_sets, method: str, **options) -> pd.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the 3-gene set warns for rank methods, by design
        return score(_read(data_file), gene_sets, method, **options).T


@pytest.mark.parametrize(
    ("method", "options", "data_file", "expected_file", "tol"),
    [
        ("ssgsea", {}, "expression_log.tsv", "ssgsea_raw.tsv", 1e-9),
        ("ssgsea", {"normalize": True}, "expression_log.tsv", "ssgsea_norm.tsv", 1e-9),
        ("zscore", {}, "expression_log.tsv", "zscore.tsv", 1e-9),
        ("gsva", {"kcdf": "gaussian"}, "expression_log.tsv", "gsva_gaussian.tsv", 1e-6),
        ("gsva", {"kcdf": "poisson"}, "expression_counts.tsv", "gsva_poisson_counts.tsv", 1e-6),
    ],
)
def test_matches_r_gsva(gene_sets, method, options, data_file, expected_file, tol):
    expected = _read(expected_file)
    got = _tme(data_file, gene_sets, method, **options)
    assert list(got.index) == list(expected.index)
    assert list(got.columns) == list(expected.columns)
    np.testing.assert_allclose(got.to_numpy(), expected.to_numpy(), rtol=0, atol=tol)


def test_plage_matches_r_gsva_up_to_sign(gene_sets):
    expected = _read("plage.tsv")
    got = _tme("expression_log.tsv", gene_sets, "plage")
    signs = np.sign((got.to_numpy() * expected.to_numpy()).sum(axis=1, keepdims=True))
    np.testing.assert_allclose(got.to_numpy(), signs * expected.to_numpy(), rtol=0, atol=1e-9)


def test_plage_oriented_so_higher_means_more_expressed(gene_sets):
    """R's SET_A_UP comes out negative; tme orients it with the mean of the set genes."""
    data = _read("expression_log.tsv")
    got = _tme("expression_log.tsv", gene_sets, "plage")
    present = [g for g in gene_sets["SET_A_UP"] if g in data.index]
    assert np.corrcoef(got.loc["SET_A_UP"], data.loc[present].mean())[0, 1] > 0


def test_missing_genes_are_dropped_like_gsva(gene_sets):
    """SET_MISSING has 2 genes absent from the data; scoring with only the present ones gives
    the same numbers (and R's, checked above)."""
    data = _read("expression_log.tsv")
    present = [g for g in gene_sets["SET_MISSING"] if g in data.index]
    assert len(present) == len(gene_sets["SET_MISSING"]) - 2
    full = score(data, {"S": gene_sets["SET_MISSING"]})
    trimmed = score(data, {"S": present})
    np.testing.assert_array_equal(full.to_numpy(), trimmed.to_numpy())
