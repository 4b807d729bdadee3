"""Pre-ranked gene-set enrichment analysis (GSEA; Subramanian et al., PNAS 2005;102:15545).

Genes are ranked by a statistic ``r`` (e.g. the DESeq2 Wald statistic of the between-arm
interaction, :mod:`tme.stats.de`), decreasing. For a gene set ``S`` of ``k`` genes among ``N``
ranked genes, the running sum walks down the ranking, rising by ``|r_j|^w / N_R`` at members
(``N_R = sum_{j in S} |r_j|^w``, weight ``w = 1`` by default) and falling by ``1 / (N - k)`` at
non-members; the enrichment score ES is its maximum deviation from 0 (signed).

Significance by gene-set permutation (pre-ranked GSEA cannot permute samples): in each of
``n_permutations`` permutations (``numpy.random.default_rng(seed)``) the gene labels are shuffled
against the ranking and every set's ES recomputed, giving a null ``ES*`` per set.

* ``nes = ES / mean(ES* of the same sign)``;
* ``p = (1 + #{ES* same sign, |ES*| >= |ES|}) / (1 + #{ES* same sign})`` (Phipson & Smyth 2010
  add-one, so p is never 0);
* ``q`` is **Benjamini–Hochberg** over the tested sets (not the GSEA NES-based FDR);
* the leading edge is the members ranked at or before the ES peak (ES > 0), or at or after it
  (ES < 0).

Only members present in the ranking count; sets with fewer than ``min_size`` or more than
``max_size`` such members are reported with NaN and a note. Output columns: ``gene_set, set_size,
es, nes, p, q, leading_edge`` (``;``-separated, in rank order), ``leading_edge_size, note``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd

from tme.errors import TmeInputError
from tme.stats.multiplicity import benjamini_hochberg

GSEA_COLUMNS = ["gene_set", "set_size", "es", "nes", "p", "q", "leading_edge", "leading_edge_size", "note"]


def enrichment_scores(positions: np.ndarray, weights: np.ndarray, n_genes: int) -> tuple:
    """ES of sets given their members' ranking positions, vectorised over rows.

    Parameters
    ----------
    positions
        (B, k) 0-based ranking positions of each set's members (any order).
    weights
        (n_genes,) ``|r|^w`` in ranking order.
    n_genes
        Length of the ranking.

    Returns
    -------
    ``(es, peak_position)``, each of shape (B,). The running sum peaks at a member (maximum) or
    just before one (minimum), so only those 2k points are evaluated.
    """
    positions = np.sort(positions, axis=1)
    k = positions.shape[1]
    w = weights[positions]
    total = w.sum(axis=1, keepdims=True)
    total[total == 0] = 1.0
    cum_hits = np.cumsum(w, axis=1) / total
    misses_before = (positions - np.arange(k)) / (n_genes - k)
    at_hit = cum_hits - misses_before
    before_hit = cum_hits - w / total - misses_before
    top = at_hit.argmax(axis=1)
    bottom = before_hit.argmin(axis=1)
    rows = np.arange(len(positions))
    high, low = at_hit[rows, top], before_hit[rows, bottom]
    positive = high >= -low
    es = np.where(positive, high, low)
    peak = np.where(positive, positions[rows, top], positions[rows, bottom] - 1)
    return es, peak


def prerank_gsea(
    statistic: pd.Series,
    gene_sets: Mapping[str, Iterable[str]],
    n_permutations: int = 1000,
    seed: int = 0,
    min_size: int = 15,
    max_size: int = 500,
    weight: float = 1.0,
) -> pd.DataFrame:
    """Pre-ranked GSEA of ``statistic`` (gene → value; NaN dropped) over ``gene_sets``.

    Returns one row per gene set with columns ``GSEA_COLUMNS``, ordered as ``gene_sets``.

    Examples
    --------
    >>> stat = de["de_interaction"].set_index("gene")["stat"]  # doctest: +SKIP
    >>> prerank_gsea(stat, {"IL1_PATHWAY": ["IL1B", "IL1R1", ...]}, seed=1)  # doctest: +SKIP
    """
    statistic = statistic.dropna()
    if statistic.index.duplicated().any():
        dup = statistic.index[statistic.index.duplicated()].unique()[:5]
        raise TmeInputError(
            f"genes ranked more than once: {', '.join(map(str, dup))}",
            fix="collapse duplicated gene identifiers before GSEA",
        )
    order = np.argsort(-statistic.to_numpy(float), kind="stable")
    ranked = statistic.iloc[order]
    genes = ranked.index.to_numpy()
    n_genes = len(genes)
    weights = np.abs(ranked.to_numpy(float)) ** weight
    position = pd.Series(np.arange(n_genes), index=genes)

    members = {name: np.unique(position.reindex(list(set(s))).dropna().to_numpy(int)) for name, s in gene_sets.items()}
    tested = {name: idx for name, idx in members.items() if min_size <= len(idx) <= max_size}
    rng = np.random.default_rng(seed)
    union = np.unique(np.concatenate([np.zeros(0, int), *tested.values()]))
    # one shuffle of gene labels per permutation, shared by all sets (as in GSEA)
    shuffled = np.empty((n_permutations, len(union)), dtype=int)
    for b in range(n_permutations):
        shuffled[b] = rng.choice(n_genes, len(union), replace=False)
    column_of = pd.Series(np.arange(len(union)), index=union)

    rows = []
    for name, idx in members.items():
        row = {"gene_set": name, "set_size": len(idx)}
        if name not in tested:
            rows.append(row | {"note": f"{len(idx)} genes in the ranking, outside [{min_size}, {max_size}]"})
            continue
        (es,), (peak,) = enrichment_scores(idx[None, :], weights, n_genes)
        null, _ = enrichment_scores(shuffled[:, column_of.loc[idx].to_numpy()], weights, n_genes)
        same = null[null >= 0] if es >= 0 else null[null < 0]
        extreme = np.sum(np.abs(same) >= abs(es))
        edge = idx[idx <= peak] if es >= 0 else idx[idx > peak]
        rows.append(
            row
            | {
                "es": es,
                "nes": es / abs(same.mean()) if len(same) else np.nan,
                "p": (1 + extreme) / (1 + len(same)),
                "leading_edge": ";".join(map(str, genes[np.sort(edge)])),
                "leading_edge_size": len(edge),
                "note": "",
            }
        )
    table = pd.DataFrame(rows).reindex(columns=GSEA_COLUMNS)
    table["q"] = benjamini_hochberg(table["p"])
    return table
