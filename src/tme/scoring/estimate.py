r"""ESTIMATE stromal and immune scores, the ESTIMATE score and tumour purity.

Reference: Yoshihara K et al. (2013) Inferring tumour purity and stromal and immune cell
admixture from expression data. *Nat Commun* 4:2612. Implementation followed: the ``estimate``
R package (R-Forge), ``estimateScore``.

Definition (per sample, :math:`n` genes)
---------------------------------------
Expression is rank-normalised, :math:`m_g = 10000 \cdot r_g / n` with :math:`r_g` the average
rank (not truncated), genes are ordered by decreasing :math:`m_g` (ties in input order) and the
score of a set is the ssGSEA-like sum of the walk :math:`F_{in} - F_{out}` with weights
:math:`m_g^{0.25}` — the same closed form as :mod:`tme.scoring.ssgsea`. The package's sets are
the 141-gene *StromalSignature* and *ImmuneSignature*; pass them as the signatures.

The ranks are taken within the genes of the data given. The package first restricts the data
to its 10,412 "common genes" (``filterCommonGenes``); to reproduce its numbers, subset the data
to those genes before scoring (scores from different gene universes are not comparable).

:func:`estimate_score` adds the two, and :func:`tumour_purity` converts the sum with the
package's fit :math:`\cos(0.6049872018 + 0.0001467884 \cdot \mathrm{ESTIMATE})`. That purity fit
was calibrated on **Affymetrix** arrays only; on RNA-seq the score is on another scale and the
purity is not calibrated — report the stromal/immune scores instead.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from tme.errors import TmeInputError
from tme.scoring._base import IndexedSet
from tme.scoring.ssgsea import walk_sum_scores


def _estimate_weights(q, a, b, n):
    """``(10000 * average_rank / n) ** 0.25`` (ESTIMATE's rank normalisation)."""
    return (10000.0 * ((a + b) / 2.0 + 1.0) / n) ** 0.25


def estimate(X: np.ndarray, sets: Sequence[IndexedSet], *, n_jobs: int = 1) -> np.ndarray:
    """ESTIMATE enrichment score of each set (samples x sets), see module doc."""
    return walk_sum_scores(X, sets, _estimate_weights, n_jobs=n_jobs)


def estimate_score(
    scores: pd.DataFrame, stromal: str = "StromalSignature", immune: str = "ImmuneSignature"
) -> pd.Series:
    """ESTIMATE score = stromal score + immune score (columns of ``score(..., method="estimate")``)."""
    missing = [name for name in (stromal, immune) if name not in scores.columns]
    if missing:
        raise TmeInputError(
            f"ESTIMATE score needs the columns {missing}, which the scores do not have",
            fix="score the ESTIMATE stromal and immune signatures with method='estimate', "
            "or pass their column names as stromal=/immune=",
        )
    return (scores[stromal] + scores[immune]).rename("ESTIMATEScore")


def tumour_purity(estimate: pd.Series | np.ndarray | float):
    """Tumour purity from the ESTIMATE score: ``cos(0.6049872018 + 0.0001467884 * estimate)``.

    Calibrated by Yoshihara 2013 on Affymetrix data only (see module doc).
    """
    purity = np.cos(0.6049872018 + 0.0001467884 * estimate)
    if isinstance(purity, pd.Series):
        return purity.rename("TumorPurity")
    return purity
