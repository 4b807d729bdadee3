r"""Gene Set Variation Analysis (GSVA), reproducing R GSVA 1.46 ``gsva(method="gsva")``.

Reference: Hänzelmann S, Castelo R, Guinney J (2013) GSVA: gene set variation analysis for
microarray and RNA-seq data. *BMC Bioinformatics* 14:7. Implementation followed: R/Bioconductor
GSVA 1.46.0 (``compute.geneset.es``, C ``matrix_density_R`` and ``ks_matrix_R``), with its
defaults ``mx.diff=TRUE``, ``tau=1``, ``abs.ranking=FALSE``.

Definition (:math:`m` samples, :math:`n` genes)
----------------------------------------------
1. Per gene :math:`g`, a kernel estimate of its CDF across the samples, evaluated at each sample:
   :math:`F_{gj} = \frac1m \sum_i K(x_{gj}, x_{gi})` with

   * ``kcdf="gaussian"`` (log-scale data): :math:`K = \Phi((x_{gj} - x_{gi}) / h_g)`,
     :math:`h_g = \mathrm{sd}(x_g)/4`; like GSVA, :math:`\Phi` is read from a 10,001-point table on
     [0, 10] (index truncated, :math:`\Phi = 0/1` beyond :math:`\pm 10`);
   * ``kcdf="poisson"`` (integer counts): :math:`K = P(\mathrm{Pois}(x_{gi} + 0.5) \le x_{gj})`.

   The statistic is :math:`z_{gj} = -\log((1 - F_{gj}) / F_{gj})`, computed with R's own
   arithmetic so that genes tied in exact arithmetic are ordered as R orders them (see
   :mod:`tme.scoring._gsva_kernel`).
2. Per sample, genes are ordered by decreasing :math:`z` (ties in input order); the gene at
   1-based position :math:`p` gets the symmetric rank score :math:`|n - p + 1 - n/2|`.
3. Random walk over that order: a set gene adds its rank score / (sum of the set's rank scores),
   any other gene subtracts :math:`1/(n-k)`. The score is the maximum positive plus the maximum
   negative deviation of the walk from zero (``mx.diff=TRUE``).

Scores are cohort-dependent: step 1 uses all samples scored together. Genes constant across
samples are removed beforehand, as GSVA does. The kernel step costs :math:`O(n m^2)`.
A gene listed twice in a set counts once here (R GSVA counts it twice; ``tme.scoring.score``
warns).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from tme.errors import TmeInputError
from tme.scoring._base import IndexedSet
from tme.scoring._ranks import descending_position, map_sample_chunks, rank_union_block


def gsva(
    X: np.ndarray,
    sets: Sequence[IndexedSet],
    *,
    n_jobs: int = 1,
    kcdf: str = "gaussian",
) -> np.ndarray:
    """GSVA scores (samples x sets), matching R GSVA 1.46 ``method="gsva"`` (see module doc).

    Parameters
    ----------
    X
        Expression, samples x genes: log scale for ``kcdf="gaussian"``, integer counts for
        ``kcdf="poisson"``.
    kcdf
        ``"gaussian"`` or ``"poisson"`` (GSVA ``kcdf="Gaussian"`` / ``"Poisson"``).
    n_jobs
        Threads, for the kernel step (blocks of genes) and the walks (blocks of samples); the
        scores are bit-identical for any value.
    """
    kcdf = kcdf.lower()
    if kcdf not in ("gaussian", "poisson"):
        raise TmeInputError(
            f"unknown GSVA kernel kcdf={kcdf!r}",
            fix="use kcdf='gaussian' for log-scale data or kcdf='poisson' for integer counts",
        )
    if kcdf == "poisson" and (np.any(X < 0) or np.any(np.round(X) != X)):
        raise TmeInputError(
            "kcdf='poisson' needs non-negative integer counts, but the matrix has other values",
            fix="pass raw counts, or use kcdf='gaussian' on log-scale data",
        )
    from tme.scoring._gsva_kernel import kernel_cdf_statistic  # numba loads only when GSVA runs

    Z = kernel_cdf_statistic(X, kcdf, n_jobs=n_jobs)
    n_samples, n = Z.shape
    union = np.unique(np.concatenate([s.idx for s in sets]))
    members = [np.searchsorted(union, s.idx) for s in sets]
    out = np.empty((n_samples, len(sets)))

    def block(rows: slice) -> None:
        q, a, b = rank_union_block(Z[rows], union)
        position = descending_position(q, a, b, n).T  # samples x union genes
        rank_score = np.abs(n - position + 1 - n / 2.0)
        for j, cols in enumerate(members):
            out[rows, j] = _max_deviation(position[:, cols], rank_score[:, cols], n)

    map_sample_chunks(block, n_samples, n_jobs)
    return out


def _max_deviation(position: np.ndarray, step: np.ndarray, n: int) -> np.ndarray:
    """Max positive + max negative deviation of the KS-like walk (rows = samples).

    The walk only rises at set members; its maxima sit right after a member's step and its
    minima right before one (or at the end, where it returns to 0), so only the ``k`` member
    positions are visited: after the ``m``-th member (position :math:`p_m`) the walk is
    :math:`S_m/S_k - (p_m - m)/(n-k)`, just before it :math:`S_{m-1}/S_k - (p_m - m)/(n-k)`.

    A one-gene set at position :math:`n/2 + 1` has rank score 0, so :math:`S_k = 0`: GSVA's C
    walk then becomes NaN (0/0) at that gene, its maxima ignore NaN, and the score is the fall
    before it, :math:`-(p_1 - 1)/(n - k)`; tme returns the same.
    """
    order = np.argsort(position, axis=1)
    position = np.take_along_axis(position, order, axis=1)
    step = np.take_along_axis(step, order, axis=1)
    cumulative = np.cumsum(step, axis=1)
    total = cumulative[:, -1:]
    k = position.shape[1]
    misses = (position - np.arange(1, k + 1)) / (n - k)
    with np.errstate(invalid="ignore"):
        after = cumulative / total - misses
        before = (cumulative - step) / total - misses
    score = np.maximum(after.max(axis=1), 0.0) + np.minimum(before.min(axis=1), 0.0)
    zero = total[:, 0] == 0
    score[zero] = -misses[zero, 0]
    return score
