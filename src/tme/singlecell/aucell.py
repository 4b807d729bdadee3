"""AUCell rank scores per cell (Aibar et al. 2017, Nat Methods 14:1083), every set in one sparse product.

For a cell, genes are ranked by expression (1 = highest; ties in gene order), and the recovery
curve of a set :math:`S` counts set genes among the top :math:`r` genes. AUCell is the area under
that curve up to ``n_up`` (default 5 % of the genes), divided by its maximum:

.. math::

    \\mathrm{AUC}_S = \\frac{\\sum_{g \\in S,\\, r_g \\le n_{up}} (n_{up} - r_g)}
                          {\\sum_{k=1}^{m} (n_{up} - k)}, \\qquad m = \\min(|S|, n_{up} - 1)

(the step-wise area, summed by parts, as decoupler's ``mt.aucell`` computes it). So the scores are
``R @ M`` with ``R[c, g] = max(n_up - r_g, 0)`` — sparse, ``n_up`` entries per cell — and ``M`` the
set indicators divided by the maximum area: the same chunked product as
:func:`tme.singlecell.score.score_signatures`, and backed AnnData works the same way.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numba
import numpy as np
import pandas as pd
import scipy.sparse as sp
from anndata import AnnData

from tme.geneset import Signature
from tme.singlecell.score import _csr_times_sparse, _gene_sets, _normalise, _obs_rep, _row_chunks

AUCELL_REFERENCE = "Aibar et al. (2017) Nat Methods 14:1083 (AUCell)"


@numba.njit(cache=True)
def _rank_weights(
    data: np.ndarray, indices: np.ndarray, indptr: np.ndarray, n_genes: int, n_up: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """CSR rows of ``max(n_up - rank, 0)`` for non-negative CSR rows (zeros rank after every stored value)."""
    n_rows = indptr.size - 1
    out_data = np.zeros(n_rows * n_up)
    out_idx = np.zeros(n_rows * n_up, dtype=np.int64)
    out_ptr = np.zeros(n_rows + 1, dtype=np.int64)
    seen = np.zeros(n_genes, dtype=np.bool_)
    k = 0
    for i in range(n_rows):
        lo, hi = indptr[i], indptr[i + 1]
        order = np.argsort(-data[lo:hi], kind="mergesort")  # stable: ties in gene order
        rank = 0
        for o in order[:n_up]:
            if data[lo + o] <= 0:  # stored zeros rank with the implicit ones
                break
            rank += 1
            out_idx[k] = indices[lo + o]
            out_data[k] = n_up - rank
            seen[indices[lo + o]] = True
            k += 1
        gene = 0
        while rank < n_up - 1 and gene < n_genes:  # the zeros, in gene order, fill the remaining ranks
            if not seen[gene]:
                rank += 1
                out_idx[k] = gene
                out_data[k] = n_up - rank
                k += 1
            gene += 1
        for p in range(out_ptr[i], k):
            seen[out_idx[p]] = False
        out_ptr[i + 1] = k
    return out_data[:k], out_idx[:k], out_ptr


def aucell(
    adata: AnnData,
    signatures: Mapping[str, Sequence[str]] | Sequence[Signature],
    *,
    n_up: int | None = None,
    min_genes: int = 1,
    use_raw: bool | None = None,
    layer: str | None = None,
    target_sum: float | None = None,
    chunk_size: int = 50_000,
    key_added: str | None = "aucell",
) -> pd.DataFrame:
    """AUCell score of every set per cell (Aibar 2017), chunked over cells.

    Parameters
    ----------
    adata
        Cells × genes, non-negative (log-normalised, or counts with ``target_sum``).
    signatures
        ``{name: genes}`` or :class:`~tme.geneset.Signature` objects (their ``genes``).
    n_up
        Ranks that count (default ``ceil(0.05 × n_genes)``, at least 2, as AUCell and decoupler).
    min_genes
        Sets with fewer genes present are left out.
    use_raw, layer, target_sum, chunk_size
        As in :func:`~tme.singlecell.score.score_signatures`.
    key_added
        Store the scores in ``adata.obsm[key_added]``; ``None`` to only return them.

    Returns
    -------
    Cells × sets DataFrame of AUCs in [0, 1]. Ties are ranked in gene order (decoupler shuffles
    genes first, R AUCell breaks ties at random), so values can differ where a cell has tied
    expression values around rank ``n_up``.
    """
    X, var_names = _obs_rep(adata, use_raw, layer)
    n_genes = len(var_names)
    n_up = int(np.clip(np.ceil(0.05 * n_genes), 2, n_genes)) if n_up is None else int(n_up)
    names, columns = [], []
    for name, genes in _gene_sets(signatures).items():
        idx = var_names.get_indexer(pd.Index(genes).unique())
        idx = idx[idx >= 0]
        if len(idx) >= min_genes:
            m = min(len(idx), n_up - 1)
            column = np.zeros(n_genes)
            column[idx] = 1.0 / (m * n_up - m * (m + 1) / 2)
            names.append(name)
            columns.append(column)
    M = sp.csr_matrix(np.column_stack(columns) if columns else np.zeros((n_genes, 0)))
    out = np.zeros((X.shape[0], len(names)))
    for start, stop, rows in _row_chunks(X, chunk_size):
        rows = sp.csr_matrix(_normalise(rows, target_sum))
        if rows.nnz and rows.data.min() < 0:
            raise ValueError("aucell needs non-negative expression (log-normalised, not scaled data)")
        rows.sort_indices()
        w_data, w_idx, w_ptr = _rank_weights(rows.data, rows.indices, rows.indptr, n_genes, n_up)
        _csr_times_sparse(w_data, w_idx, w_ptr, M.indptr, M.indices, M.data, out[start:stop])
    scores = pd.DataFrame(out, index=adata.obs_names, columns=names)
    if key_added is not None:
        adata.obsm[key_added] = scores
        adata.uns[key_added] = {"params": dict(method="aucell", n_up=n_up, reference=AUCELL_REFERENCE)}
    return scores
