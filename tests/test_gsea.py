"""tme.stats.gsea pre-ranked GSEA against gseapy 1.3.1 ``prerank`` (gene-set permutation).

Same ranking and sets: ES and leading edges identical (1e-10); NES sign and order identical and
values within 0.1 (null distributions differ by random stream); nominal p within 0.03.
"""

import numpy as np
import pandas as pd
import pytest

from tme.errors import TmeInputError
from tme.stats.gsea import GSEA_COLUMNS, prerank_gsea

gseapy = pytest.importorskip("gseapy", reason="gseapy (bench extra) is needed for the comparison")


@pytest.fixture(scope="module")
def ranking():
    rng = np.random.default_rng(5)
    genes = [f"G{i:04d}" for i in range(3000)]
    stat = pd.Series(rng.normal(size=3000), index=genes)
    sets = {}
    for s, shift in enumerate([1.0, -0.8, 0.5, -0.3, 0.0, 0.0, 0.2]):
        members = rng.choice(3000, 40 + 10 * s, replace=False)
        stat.iloc[members] += shift
        sets[f"SET{s}"] = [genes[i] for i in members]
    sets["TOO_SMALL"] = genes[:5]
    sets["PARTLY_ABSENT"] = genes[100:130] + ["NOT_A_GENE"]
    return stat, sets


def test_matches_gseapy_prerank(ranking):
    stat, sets = ranking
    ours = prerank_gsea(stat, sets, n_permutations=2000, seed=1).set_index("gene_set")
    assert list(ours.reset_index().columns) == GSEA_COLUMNS
    ref = gseapy.prerank(
        rnk=stat.sort_values(ascending=False).reset_index(),
        gene_sets=sets,
        permutation_num=2000,
        seed=1,
        threads=1,
        outdir=None,
        verbose=False,
        min_size=15,
        max_size=500,
    ).res2d.set_index("Term")
    tested = ours[ours["note"] == ""]
    ref = ref.loc[tested.index]
    np.testing.assert_allclose(tested["es"], ref["ES"].astype(float), atol=1e-10)
    assert (np.sign(tested["nes"]) == np.sign(ref["NES"].astype(float))).all()
    ref_nes = ref["NES"].astype(float)
    assert list(tested["nes"].sort_values().index) == list(ref_nes.sort_values().index)
    np.testing.assert_allclose(tested["nes"], ref["NES"].astype(float), atol=0.1)
    np.testing.assert_allclose(tested["p"], ref["NOM p-val"].astype(float), atol=0.03)
    for name in tested.index:
        ours_edge = set(tested.loc[name, "leading_edge"].split(";"))
        assert ours_edge == set(ref.loc[name, "Lead_genes"].split(";"))
    assert ours.loc["PARTLY_ABSENT", "set_size"] == 30
    assert np.isnan(ours.loc["TOO_SMALL", "nes"])
    assert "outside [15, 500]" in ours.loc["TOO_SMALL", "note"]


def test_seeded_and_deterministic(ranking):
    stat, sets = ranking
    a = prerank_gsea(stat, sets, n_permutations=500, seed=3)
    b = prerank_gsea(stat, sets, n_permutations=500, seed=3)
    pd.testing.assert_frame_equal(a, b)


def test_duplicate_genes_are_an_error():
    stat = pd.Series([1.0, 2.0, 3.0], index=["A", "A", "B"])
    with pytest.raises(TmeInputError, match="ranked more than once: A"):
        prerank_gsea(stat, {"S": ["A", "B"]})
