r"""Weighted sums of housekeeping-normalised genes: the T-cell-inflamed gene expression profile.

Reference: Ayers M et al. (2017) IFN-γ-related mRNA profile predicts clinical response to PD-1
blockade. *J Clin Invest* 127:2930-2940; Cristescu R et al. (2018) Pan-tumor genomic biomarkers
for PD-1 checkpoint blockade-based immunotherapy. *Science* 362:eaar3593 (18-gene weights and 11
housekeeping genes).

Definition, on the log scale (log2 or log10 normalised counts as in the papers):

.. math::

   \mathrm{GEP}_j = \sum_{g \in G} w_g \left(x_{gj} - \frac{1}{|H|}\sum_{h \in H} x_{hj}\right)

with the published weights :math:`w_g` (``Signature.weights``) and housekeeping genes :math:`H`
(``Signature.housekeeping``). A signature without housekeeping genes is scored as
:math:`\sum_g w_g x_{gj}` (data assumed already normalised).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from tme.scoring._base import IndexedSet


def weighted(X: np.ndarray, sets: Sequence[IndexedSet], *, n_jobs: int = 1) -> np.ndarray:
    """Weighted sum of housekeeping-centred log expression (see module doc), samples x sets."""
    scores = []
    for s in sets:
        values = np.asarray(X[:, s.idx], dtype=np.float64)
        if s.housekeeping_idx.size:
            values = values - np.asarray(X[:, s.housekeeping_idx], dtype=np.float64).mean(axis=1)[:, None]
        scores.append(values @ s.weights)
    return np.column_stack(scores)
