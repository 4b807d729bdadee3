r"""geNorm: rank reference (housekeeping) genes by expression stability and choose how many to use.

Reference: Vandesompele J, De Preter K, Pattyn F, et al. Accurate normalization of real-time
quantitative RT-PCR data by geometric averaging of multiple internal control genes. *Genome Biol*
2002;3:research0034.

Definitions, on :math:`\log_2` expression :math:`a_{js}` of candidate genes :math:`j` over samples
:math:`s`:

* pairwise variation of genes :math:`j, k`: :math:`V_{jk} = \mathrm{sd}_s(a_{js} - a_{ks})`
  (sample SD, :math:`n - 1` denominator);
* stability of gene :math:`j` among the :math:`n` candidates left: :math:`M_j = \frac{1}{n-1}
  \sum_{k \ne j} V_{jk}`; the gene with the largest :math:`M` is removed and :math:`M` recomputed,
  until two genes remain (they share the last :math:`M`). The removal order ranks the genes.
* normalisation factor from the :math:`n` most stable genes, :math:`\mathrm{NF}_{n,s}` = their
  geometric mean; pairwise variation :math:`V_{n/n+1} = \mathrm{sd}_s(\log_2 \mathrm{NF}_{n,s} -
  \log_2 \mathrm{NF}_{n+1,s})`. The number used is the smallest :math:`n \ge` ``min_genes`` with
  :math:`V_{n/n+1} <` ``cutoff`` (0.15, the paper's proposal); all candidates when none is.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

CUTOFF = 0.15


def _stability(values: np.ndarray) -> np.ndarray:
    """geNorm M of each row of ``values`` (genes × samples, log2) against the others."""
    cov = np.cov(values, ddof=1)
    var = np.diag(cov)
    pairwise = np.sqrt(np.maximum(var[:, None] + var[None, :] - 2 * cov, 0.0))
    return pairwise.sum(axis=1) / (len(values) - 1)


def genorm(
    log2_values: np.ndarray, genes: Sequence[str], *, min_genes: int = 3, cutoff: float = CUTOFF
) -> pd.DataFrame:
    """Rank candidate reference genes by geNorm stability and mark the ones to use.

    Parameters
    ----------
    log2_values
        Candidates × samples, log2 expression (at least two candidates and two samples).
    genes
        Candidate names, in row order.
    min_genes, cutoff
        Use at least ``min_genes`` genes; stop adding genes when :math:`V_{n/n+1} <` ``cutoff``.

    Returns
    -------
    DataFrame, one row per gene, most stable first: ``gene, rank`` (1 = most stable), ``m_value``
    (M when the gene was removed; the last two share theirs), ``pairwise_variation`` (for the row
    at rank ``n``: :math:`V_{n/n+1}`, NaN for rank 1 and the last), ``selected`` (bool).
    """
    values = np.asarray(log2_values, dtype=np.float64)
    left = list(range(len(values)))
    removed: list[tuple[int, float]] = []
    while len(left) > 2:
        m = _stability(values[left])
        worst = int(np.argmax(m))
        removed.append((left.pop(worst), float(m[worst])))
    last = float(_stability(values[left])[0])
    order = left + [g for g, _ in reversed(removed)]  # most stable first
    m_values = [last, last] + [m for _, m in reversed(removed)]
    cumulative = np.cumsum(values[order], axis=0) / np.arange(1, len(order) + 1)[:, None]  # log2 NF_n per row n
    variation = np.full(len(order), np.nan)
    variation[1:-1] = np.std(cumulative[1:-1] - cumulative[2:], axis=1, ddof=1)
    n_use = len(order)
    for n in range(max(min_genes, 2), len(order)):
        if variation[n - 1] < cutoff:
            n_use = n
            break
    return pd.DataFrame(
        {
            "gene": [genes[g] for g in order],
            "rank": np.arange(1, len(order) + 1),
            "m_value": m_values,
            "pairwise_variation": variation,
            "selected": np.arange(len(order)) < n_use,
        }
    )
