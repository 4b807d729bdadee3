r"""singscore: rank-based single-sample scores, up/down aware.

Reference: Foroutan M et al. (2018) Single sample scoring of molecular phenotypes.
*BMC Bioinformatics* 19:404. Implementation followed: Bioconductor ``singscore``
(``rankGenes`` with ``tiesMethod="min"``, ``simpleScore`` with ``centerScore=TRUE``).

Definition (per sample, :math:`n` genes)
---------------------------------------
Genes are ranked by increasing expression, ties given the minimum rank (:math:`r_g \in 1..n`,
highest expression = n). For a set of :math:`k` genes present, the mean rank is scaled by its
theoretical extremes, :math:`\bar r_{min} = (k+1)/2` (the set holds the lowest genes) and
:math:`\bar r_{max} = (2n - k + 1)/2` (the highest):

.. math:: S = \frac{\bar r - (k+1)/2}{(2n-k+1)/2 - (k+1)/2} - \tfrac12 \in [-\tfrac12, \tfrac12].

With down genes (``Signature.down_genes``) the down score uses reversed ranks,
:math:`S_{down} = 1 - S^{uncentred}_{down} - \tfrac12`, and the total is
:math:`S_{up} + S_{down} \in [-1, 1]`. Signatures without down genes give :math:`S_{up}`.

One difference from the R package: its bounds use the signature's full length even when some
genes are missing from the data; here they use the :math:`k` genes actually present, so the
bounds stay the true extremes (identical when all genes are present).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from tme.scoring._base import IndexedSet
from tme.scoring._ranks import map_sample_chunks, rank_union_block


def _scaled_mean_rank(min_rank: np.ndarray, n: int) -> np.ndarray:
    """Uncentred singscore in [0, 1] from the min-ranks (k genes x samples) of one set."""
    k = min_rank.shape[0]
    low, high = (k + 1) / 2.0, (2 * n - k + 1) / 2.0
    return (min_rank.mean(axis=0) - low) / (high - low)


def singscore(X: np.ndarray, sets: Sequence[IndexedSet], *, n_jobs: int = 1) -> np.ndarray:
    """singscore total scores (samples x sets), see module doc."""
    n_samples, n = X.shape
    union = np.unique(np.concatenate([np.concatenate([s.idx, s.down_idx]) for s in sets]))
    up = [np.searchsorted(union, s.idx) for s in sets]
    down = [np.searchsorted(union, s.down_idx) for s in sets]
    out = np.zeros((n_samples, len(sets)))

    def block(rows: slice) -> None:
        _, a, _ = rank_union_block(X[rows], union)
        min_rank = a + 1  # union genes x samples
        for j in range(len(sets)):
            if up[j].size:
                out[rows, j] += _scaled_mean_rank(min_rank[up[j]], n) - 0.5
            if down[j].size:
                out[rows, j] += 0.5 - _scaled_mean_rank(min_rank[down[j]], n)

    map_sample_chunks(block, n_samples, n_jobs)
    return out
