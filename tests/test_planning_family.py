"""Multiplicity of the primary family in simulated trials (tme.planning.family) against R p.adjust.

R reference: tests/fixtures/planning/padjust.tsv (make_fixtures.R, R 4.2.2): 40 rows of 5 p-values
with ties and p = 1; tolerance 1e-12. The fixed-sequence procedure is checked on hand-worked rows.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tme.errors import TmeInputError
from tme.planning import adjust_p, per_endpoint_alpha

FIXTURES = Path(__file__).parent / "fixtures" / "planning"


@pytest.mark.parametrize("method", ["holm", "hochberg", "bonferroni", "bh"])
def test_rows_equal_r_p_adjust(method):
    table = pd.read_csv(FIXTURES / "padjust.tsv", sep="\t").sort_values(["row", "endpoint"])
    p = table["p"].to_numpy().reshape(-1, 5)
    expected = table[method].to_numpy().reshape(-1, 5)
    assert np.abs(adjust_p(p, method) - expected).max() <= 1e-12
    # one row at a time (1-D) gives the same
    assert np.abs(adjust_p(p[0], method) - expected[0]).max() <= 1e-12


def test_hierarchical_stops_at_the_first_non_rejection():
    p = np.array([[0.01, 0.04, 0.001], [0.2, 0.001, 0.001], [0.03, 0.06, 0.01]])
    adjusted = adjust_p(p, "hierarchical")
    assert adjusted.tolist() == [[0.01, 0.04, 0.04], [0.2, 0.2, 0.2], [0.03, 0.06, 0.06]]
    assert (adjusted <= 0.05).tolist() == [[True, True, True], [False, False, False], [True, False, False]]


def test_missing_p_counts_as_not_rejected_and_keeps_m():
    adjusted = adjust_p(np.array([0.01, np.nan, 0.02]), "holm")
    assert adjusted.tolist() == pytest.approx([0.03, 1.0, 0.04])
    assert adjust_p(np.array([0.3, 0.01]), "none").tolist() == [0.3, 0.01]


def test_per_endpoint_alpha():
    assert per_endpoint_alpha(0.05, "holm", 4) == 0.0125
    assert per_endpoint_alpha(0.05, "hochberg", 2) == 0.025
    assert per_endpoint_alpha(0.05, "hierarchical", 4) == 0.05
    assert per_endpoint_alpha(0.05, "none", 4) == 0.05
    with pytest.raises(TmeInputError, match="unknown multiplicity method 'sidak'"):
        per_endpoint_alpha(0.05, "sidak", 2)
    with pytest.raises(TmeInputError, match="empty"):
        per_endpoint_alpha(0.05, "holm", 0)
