"""Shapiro-Wilk (tme.stats.normality) against R's shapiro.test.

Fixtures: tests/fixtures/normality/make_fixtures.R (R 4.2.2): normal, exponential and rounded
(tied) samples of 3 to 1000 values and one normal sample of 5000.
"""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tme.stats.normality import shapiro_wilk

FIXTURES = Path(__file__).parent / "fixtures" / "normality"
EXPECTED = pd.read_csv(FIXTURES / "expected.tsv", sep="\t")
SAMPLES = pd.read_csv(FIXTURES / "samples.tsv", sep="\t").groupby("case")["x"]


@pytest.mark.parametrize("row", EXPECTED.to_dict("records"), ids=list(EXPECTED["case"]))
def test_shapiro_wilk_matches_r(row):
    x = SAMPLES.get_group(row["case"]).to_numpy()
    assert len(x) == row["n"]
    w, p = shapiro_wilk(x)
    assert w == pytest.approx(row["w"], abs=1e-13)
    assert p == pytest.approx(row["p"], abs=1e-11, rel=1e-9)


def test_shapiro_wilk_ignores_order_location_and_scale():
    x = SAMPLES.get_group("exponential_50").to_numpy()
    w, p = shapiro_wilk(x)
    moved = shapiro_wilk(np.random.default_rng(1).permutation(x) * 1e-3 + 1e4)
    assert moved == pytest.approx((w, p), abs=1e-9)


@pytest.mark.parametrize("x", [[1.0, 2.0], [3.0] * 10, list(range(5001))], ids=["two", "constant", "5001"])
def test_shapiro_wilk_refuses_what_as_r94_does_not_cover(x):
    with pytest.raises(ValueError, match="3 to 5000"):
        shapiro_wilk(x)
