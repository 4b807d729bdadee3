r"""Single-sample GSEA (ssGSEA), reproducing R GSVA 1.46 ``gsva(method="ssgsea")`` exactly.

Reference: Barbie DA et al. (2009) Systematic RNA interference reveals that oncogenic KRAS-driven
cancers require TBK1. *Nature* 462:108-112 (online methods); implementation followed: R/Bioconductor
GSVA 1.46.0 (Hänzelmann, Castelo & Guinney 2013, *BMC Bioinformatics* 14:7), functions ``ssgsea`` and
``.fastRndWalk``.

Definition (per sample, :math:`n` genes, gene set :math:`G` of :math:`k` genes present)
------------------------------------------------------------------------------------------
1. Rank the genes by expression, ties averaged, and — as GSVA 1.46 does (``mode(R) <- "integer"``)
   — truncate the average ranks to integers: :math:`r_g \in \{1..n\}`, highest expression = n.
2. Order genes by decreasing :math:`r_g`, ties in input order; :math:`p_g` is the 1-based position.
3. Weights :math:`w_g = |r_g|^{\alpha}` (:math:`\alpha = 0.25`).
4. The enrichment score is the **sum** over positions :math:`i = 1..n` of the walk
   :math:`F_{in}(i) - F_{out}(i)` with :math:`F_{in}(i) = \sum_{g \in G, p_g \le i} w_g / \sum_{g \in G} w_g`
   and :math:`F_{out}(i) = \#\{g \notin G: p_g \le i\} / (n - k)`.

Summing the two step functions position by position gives a closed form that only needs the
set members (Sergushichev's observation, used by GSVA's ``.fastRndWalk``):

.. math::

   ES = \frac{\sum_{g\in G} w_g (n - p_g + 1)}{\sum_{g\in G} w_g}
        - \frac{n(n+1)/2 - \sum_{g\in G} (n - p_g + 1)}{n - k}

so after one ``argsort`` per sample the cost per set and sample is O(k).

Normalisation
-------------
``normalize=True`` divides the whole score matrix by its global range (max - min over all sets
and samples), as GSVA ``ssgsea.norm=TRUE`` and Barbie 2009 do. The normaliser depends on every
sample and set scored together, so **normalised scores change when samples or sets are added or
removed**; for pre/post comparisons keep the raw ES (the default) or freeze one normaliser.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from scipy.sparse import csr_array

from tme.scoring._base import IndexedSet
from tme.scoring._ranks import descending_position, map_sample_chunks, rank_union_block

#: ``weight_fn(q, a, b, n) -> weights`` for the union genes of a block of samples.
WeightFn = Callable[[np.ndarray, np.ndarray, np.ndarray, int], np.ndarray]


def walk_sum_scores(X: np.ndarray, sets: Sequence[IndexedSet], weight_fn: WeightFn, *, n_jobs: int = 1) -> np.ndarray:
    """Sum-of-walk enrichment score (closed form above) for every sample (row of ``X``) and set.

    ``weight_fn`` turns the per-sample ranking of the set genes into the walk weights
    :math:`w_g`; ssGSEA and ESTIMATE differ only there.
    """
    n_samples, n = X.shape
    union = np.unique(np.concatenate([s.idx for s in sets]))
    members = [np.searchsorted(union, s.idx) for s in sets]
    # sets x union-genes 0/1 matrix: all per-set sums of a block are one sparse product
    membership = csr_array(
        (
            np.ones(sum(m.size for m in members)),
            (np.repeat(np.arange(len(sets)), [m.size for m in members]), np.concatenate(members)),
        ),
        shape=(len(sets), union.size),
    )
    sizes = np.array([m.size for m in members])[:, None]
    out = np.empty((n_samples, len(sets)))
    half_total = n * (n + 1) / 2.0

    def block(rows: slice) -> None:
        q, a, b = rank_union_block(X[rows], union)  # union genes x samples
        c = q.shape[1]
        terms = np.empty((union.size, 3 * c))
        w, steps, weighted_steps = terms[:, :c], terms[:, c : 2 * c], terms[:, 2 * c :]
        w[:] = weight_fn(q, a, b, n)
        np.subtract(n + 1, descending_position(q, a, b, n), out=steps)  # n - p + 1
        np.multiply(w, steps, out=weighted_steps)
        sums = membership @ terms  # sets x 3c
        sum_w, sum_steps, sum_weighted = sums[:, :c], sums[:, c : 2 * c], sums[:, 2 * c :]
        out[rows] = (sum_weighted / sum_w - (half_total - sum_steps) / (n - sizes)).T

    map_sample_chunks(block, n_samples, n_jobs)
    return out


def _gsva146_weights(alpha: float) -> WeightFn:
    """``|r|^alpha`` with ``r`` the average rank truncated to an integer (GSVA 1.46)."""
    tables: dict[int, np.ndarray] = {}

    def weights(q, a, b, n):
        if n not in tables:
            tables[n] = np.arange(1, n + 1, dtype=np.float64) ** alpha
        # 0-based index of the truncated average rank (a + b) / 2 + 1; just q without ties
        return tables[n][q if a is q else (a + b) // 2]

    return weights


def ssgsea(
    X: np.ndarray,
    sets: Sequence[IndexedSet],
    *,
    n_jobs: int = 1,
    alpha: float = 0.25,
    normalize: bool = False,
) -> np.ndarray:
    """ssGSEA enrichment scores (samples x sets), identical to R GSVA 1.46 ``method="ssgsea"``.

    Parameters
    ----------
    X
        Expression, samples x genes (any monotone scale; only within-sample ranks are used).
    sets
        Gene sets mapped to the columns of ``X``.
    alpha
        Rank weight exponent (GSVA ``tau``; Barbie 2009 uses 0.25).
    normalize
        Divide by the global range of the score matrix (GSVA ``ssgsea.norm=TRUE``); the result
        then depends on which samples and sets were scored together.

    Example
    -------
    >>> import tme.scoring
    >>> tme.scoring.score(expr_genes_x_samples, {"IFNG": ["IFNG", "STAT1", ...]})  # doctest: +SKIP
    """
    es = walk_sum_scores(X, sets, _gsva146_weights(alpha), n_jobs=n_jobs)
    if normalize:
        es = es / (es.max() - es.min())
    return es
