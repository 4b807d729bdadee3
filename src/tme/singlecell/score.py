"""Per-cell gene-set scores: scanpy's ``score_genes`` (Tirosh 2016), exact and as one fast product.

The score of a cell for a gene set :math:`S` is

.. math::

    s = \\frac{1}{|S|} \\sum_{g \\in S} x_g - \\frac{1}{|C|} \\sum_{g \\in C} x_g

with :math:`x` the cell's (log-normalised) expression and :math:`C` the control genes: all genes are
ranked by their mean over the cells (ties share the lowest rank), cut into bins of
``round(n_genes / (n_bins - 1))`` consecutive ranks, and from every bin holding a set gene
``ctrl_size`` genes are drawn at random (all of them when the bin is smaller); set genes drawn are
dropped. This is Tirosh et al. (2016) *Science* 352:189, "MITF and AXL expression programs and cell
scores", as implemented by :func:`scanpy.tl.score_genes` (scanpy 1.11 and 1.12 draw alike: the
generator is the legacy ``np.random.RandomState(random_state)``, reseeded for each gene set, and a
bin is sampled with ``RandomState.choice(n, ctrl_size, replace=False)`` as ``pandas.Series.sample``
does; how sparse means are summed differs between scanpy versions and :func:`score_genes` follows
the installed one, see :func:`_scanpy_sums_sparse_in_float64`).

* :func:`control_genes` — the control set, drawn exactly as scanpy draws it;
* :func:`score_genes` — one set, numerically the same as :func:`scanpy.tl.score_genes`;
* :func:`score_signatures` — every set at once: the set and control means are folded into one
  genes × sets weight matrix (:math:`+1/|S|` on set genes, :math:`-1/|C|` on control genes), so all
  scores are one sparse product per chunk of cells. Works on backed AnnData (``backed="r"``) in
  row chunks: a first pass computes the gene means for the bins, a second the scores, so memory
  is bounded by one chunk whatever the number of cells.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping, Sequence
from functools import cache
from importlib import metadata
from typing import Any

import numba
import numpy as np
import pandas as pd
import scipy.sparse as sp
from anndata import AnnData

from tme.errors import TmeInputError
from tme.geneset import Signature

SCORE_GENES_REFERENCE = "Tirosh et al. (2016) Science 352:189; scanpy.tl.score_genes"


def _obs_rep(adata: AnnData, use_raw: bool | None, layer: str | None) -> tuple[Any, pd.Index]:
    """The matrix to score and its gene names, chosen as scanpy chooses (``raw`` when present)."""
    if use_raw is None:
        use_raw = layer is None and adata.raw is not None
    if use_raw and layer is not None:
        raise ValueError("use_raw=True and a layer were both given; choose one")
    if use_raw:
        if adata.raw is None:
            raise ValueError("use_raw=True but adata.raw is None")
        X, var_names = adata.raw.X, adata.raw.var_names
    else:
        X, var_names = (adata.layers[layer] if layer is not None else adata.X), adata.var_names
    if not var_names.is_unique:
        raise TmeInputError(
            f"gene {var_names[var_names.duplicated()][0]!r} appears more than once in var_names",
            column="var",
            fix="make gene names unique (sum or drop duplicated genes) before scoring",
        )
    return X, var_names


def _row_chunks(X: Any, chunk_size: int) -> Iterator[tuple[int, int, np.ndarray | sp.csr_matrix]]:
    """``(start, stop, rows)`` over a dense, sparse or backed (h5py-backed) matrix, one chunk in memory."""
    n = X.shape[0]
    for start in range(0, n, chunk_size):
        stop = min(start + chunk_size, n)
        if isinstance(X, (sp.csr_matrix, sp.csr_array)):
            # in memory: a view of the rows. Assigned, not passed to the constructor, which copies
            # slices of a much larger array (scipy's _prune_array) — a whole chunk per chunk.
            lo, hi = X.indptr[start], X.indptr[stop]
            rows = sp.csr_matrix((stop - start, X.shape[1]), dtype=X.dtype)
            rows.data, rows.indices, rows.indptr = X.data[lo:hi], X.indices[lo:hi], X.indptr[start : stop + 1] - lo
        else:
            rows = X[start:stop]
            rows = sp.csr_matrix(rows) if sp.issparse(rows) else np.asarray(rows)
        yield start, stop, rows


def _normalise(rows: np.ndarray | sp.csr_matrix, target_sum: float | None) -> np.ndarray | sp.csr_matrix:
    """Counts → ``log1p(x / cell total × target_sum)`` (``sc.pp.normalize_total`` + ``sc.pp.log1p``)."""
    if target_sum is None:
        return rows
    total = np.asarray(rows.sum(axis=1, dtype=np.float64)).ravel()
    scale = np.divide(target_sum, total, out=np.zeros_like(total), where=total > 0)
    if sp.issparse(rows):
        out = sp.csr_matrix(sp.diags(scale.astype(np.float32)) @ rows, dtype=np.float32)
        np.log1p(out.data, out=out.data)
        return out
    return np.log1p(rows * scale[:, None]).astype(np.float32)


def _add_column_sums(rows: np.ndarray | sp.csr_matrix, total: np.ndarray) -> None:
    """Add a chunk's values to the per-gene ``total`` cell after cell, in ``total``'s dtype.

    Sequential addition in the accumulator's dtype is what scipy's ``csr.sum(axis=0)`` does
    (float32 data: float32 sums; ``np.add.at`` adds in index order) and what numpy's axis-0 sum
    of a C-ordered array does (row after row), chunk after chunk. Non-finite values are an error.
    """
    values = rows.data if sp.issparse(rows) else np.ascontiguousarray(rows)
    if not np.isfinite(values).all():
        raise TmeInputError(
            "the expression matrix holds NaN or infinite values",
            fix="remove or impute them before scoring (scanpy's score_genes skips genes with NaN means)",
        )
    if sp.issparse(rows):
        np.add.at(total, rows.indices, values.astype(total.dtype, copy=False))
    else:
        total[:] = np.add.reduce(np.concatenate([total[None], values.astype(total.dtype, copy=False)]), axis=0)


@numba.njit(cache=True)
def _csr_times_sparse(
    data: np.ndarray,
    indices: np.ndarray,
    indptr: np.ndarray,
    w_ptr: np.ndarray,
    w_col: np.ndarray,
    w_val: np.ndarray,
    out: np.ndarray,
) -> None:
    """``out += X @ W`` for CSR ``X`` and CSR ``W`` (genes × sets), accumulated in float64.

    The work is ``nnz(X)`` × (sets per gene, ~3 for 50 Hallmark sets), not ``nnz(X)`` × sets.
    """
    for i in range(indptr.size - 1):
        for p in range(indptr[i], indptr[i + 1]):
            value = np.float64(data[p])
            gene = indices[p]
            for q in range(w_ptr[gene], w_ptr[gene + 1]):
                out[i, w_col[q]] += value * w_val[q]


def _expression_bins(means: np.ndarray, n_bins: int) -> np.ndarray:
    """Bin of every gene by its mean (``rank(method='min') // round(n / (n_bins - 1))``); -1 if not finite."""
    finite = np.isfinite(means)
    n_items = int(np.round(finite.sum() / (n_bins - 1)))
    bins = np.full(means.shape, -1, dtype=np.int64)
    ordered = np.sort(means[finite])
    bins[finite] = (np.searchsorted(ordered, means[finite], side="left") + 1) // n_items  # rank, ties: lowest
    return bins


def _controls(
    bins: np.ndarray, set_idx: np.ndarray, ctrl_size: int, random_state: int | np.random.RandomState
) -> np.ndarray:
    """Control gene positions for one set, drawing from ``RandomState`` in scanpy's order."""
    rs = random_state if isinstance(random_state, np.random.RandomState) else np.random.RandomState(random_state)
    chosen = []
    for cut in np.unique(bins[set_idx]):
        members = np.flatnonzero(bins == cut)
        if ctrl_size < len(members):
            members = members[rs.choice(len(members), ctrl_size, replace=False)]
        chosen.append(members)
    ctrl = np.unique(np.concatenate(chosen)) if chosen else np.empty(0, dtype=np.intp)
    return np.setdiff1d(ctrl, set_idx)


def control_genes(
    gene_means: pd.Series,
    gene_list: Sequence[str],
    *,
    ctrl_size: int = 50,
    n_bins: int = 25,
    random_state: int | np.random.RandomState = 0,
) -> pd.Index:
    """The control genes :func:`scanpy.tl.score_genes` uses for ``gene_list``.

    Parameters
    ----------
    gene_means
        Mean expression of every candidate control gene over the cells (index: gene names, in the
        matrix's order; this is scanpy's ``gene_pool``). Non-finite means are left out of the bins.
    gene_list
        The gene set; genes absent from ``gene_means`` are ignored.
    ctrl_size, n_bins, random_state
        As in :func:`scanpy.tl.score_genes` (50, 25, 0).

    Returns
    -------
    The control genes, in the order of ``gene_means``.
    """
    bins = _expression_bins(gene_means.to_numpy(dtype=float), n_bins)
    set_idx = gene_means.index.get_indexer(pd.Index(gene_list).unique())
    set_idx = set_idx[(set_idx >= 0)]
    set_idx = set_idx[bins[set_idx] >= 0]
    return gene_means.index[_controls(bins, set_idx, ctrl_size, random_state)]


@cache
def _scanpy_sums_sparse_in_float64() -> bool:
    """Whether the installed scanpy accumulates sparse gene means in float64.

    scanpy up to 1.12.1 sums a sparse matrix with scipy, which accumulates in the data's dtype
    (float32) and casts the sum to float64; from 1.12.2 a numba ``_sparse_nanmean``
    (scverse/scanpy#4141) accumulates in float64. The control-gene draws are the same in both;
    only the rounding of the means differs (< 1e-6 on log data), which can move a gene across a
    bin edge. Read from the installed version (no scanpy import); tests/test_singlecell.py checks
    the choice against scanpy's public ``score_genes`` on data where the two roundings differ.
    """
    try:
        version = metadata.version("scanpy")
    except metadata.PackageNotFoundError:
        return True
    return tuple(int(part) for part in re.findall(r"\d+", version)[:3]) >= (1, 12, 2)


def _nan_means(X: np.ndarray | sp.spmatrix, axis: int) -> np.ndarray:
    """``np.nanmean`` as the installed scanpy computes it in ``score_genes``."""
    if not sp.issparse(X):
        return np.nanmean(X, axis=axis, dtype=np.float64 if axis == 1 else None)
    X = sp.csr_matrix(X, dtype=np.float64 if _scanpy_sums_sparse_in_float64() else None, copy=True)
    nan = np.isnan(X.data)
    n = X.shape[axis] - np.asarray(sp.csr_matrix((nan, X.indices, X.indptr), shape=X.shape).sum(axis)).ravel()
    X.data[nan] = 0
    return np.asarray(X.sum(axis, dtype=np.float64)).ravel() / n


def score_genes(
    adata: AnnData,
    gene_list: Sequence[str],
    *,
    ctrl_size: int = 50,
    n_bins: int = 25,
    random_state: int | np.random.RandomState = 0,
    score_name: str = "score",
    use_raw: bool | None = None,
    layer: str | None = None,
    copy: bool = False,
) -> AnnData | None:
    """Score one gene set per cell exactly as :func:`scanpy.tl.score_genes` does (Tirosh 2016).

    ``score = mean(x[gene_list]) - mean(x[controls])`` per cell, the controls drawn by
    :func:`control_genes` from 25 expression bins of the gene means (NaN-aware means, float64).
    Agrees with scanpy 1.11/1.12 to floating-point rounding (tests/test_singlecell.py) for the
    same ``random_state``; unlike scanpy, the global NumPy random state is left untouched.

    Parameters
    ----------
    adata
        Cells × genes, log-normalised (scanpy's convention: ``adata.raw`` when present).
    gene_list
        Genes of the set; absent genes are ignored (an error if none is present).
    ctrl_size, n_bins, random_state
        Controls drawn per bin, number of bins, seed (scanpy's defaults: 50, 25, 0).
    score_name
        Column written to ``adata.obs``.
    use_raw, layer
        Which matrix to score (``use_raw=None``: ``adata.raw`` if present and no layer is given).
    copy
        Return an annotated copy instead of annotating ``adata``.

    Example
    -------
    >>> import scanpy as sc
    >>> adata = sc.datasets.pbmc68k_reduced()
    >>> score_genes(adata, ["CD3D", "CD3E", "IL7R"], score_name="t_cell")
    """
    adata = adata.copy() if copy else adata
    X, var_names = _obs_rep(adata, use_raw, layer)
    genes = pd.Index(gene_list).unique().intersection(var_names)
    if len(genes) == 0:
        raise ValueError("none of the genes of gene_list is in the data")
    means = pd.Series(_nan_means(X, axis=0), index=var_names)
    controls = control_genes(means, genes, ctrl_size=ctrl_size, n_bins=n_bins, random_state=random_state)
    if len(controls) == 0:
        raise ValueError("no control genes found in any bin: the data hold too few genes")
    score = _nan_means(X[:, var_names.get_indexer(genes)], axis=1) - _nan_means(
        X[:, var_names.get_indexer(controls)], axis=1
    )
    adata.obs[score_name] = pd.Series(np.asarray(score, dtype=np.float64).ravel(), index=adata.obs_names)
    return adata if copy else None


def _gene_sets(signatures: Mapping[str, Sequence[str]] | Sequence[Signature]) -> dict[str, tuple[str, ...]]:
    if isinstance(signatures, Mapping):
        return {name: tuple(genes) for name, genes in signatures.items()}
    return {sig.name: sig.genes for sig in signatures}


def gene_means(
    adata: AnnData,
    *,
    use_raw: bool | None = None,
    layer: str | None = None,
    target_sum: float | None = None,
    chunk_size: int = 50_000,
) -> pd.Series:
    """Mean expression of every gene over all cells, in row chunks, rounded as scanpy rounds it.

    The means decide the expression bins, so they are summed the way the installed
    :func:`scanpy.tl.score_genes` sums them — cell after cell in the data's dtype (float32 data:
    float32 sums, as scipy and numpy do; float64 under scanpy's numba sparse means) — and the
    bins, hence the controls, are the ones scanpy draws, whatever the chunking. (Float32 sums of
    200,000 cells differ from float64 sums by ~1e-4 relative, enough to move genes across bins.)

    ``target_sum`` (counts in the matrix): each cell is first normalised to this total and
    log1p-transformed, as ``sc.pp.normalize_total(target_sum=...)`` then ``sc.pp.log1p``.
    """
    X, var_names = _obs_rep(adata, use_raw, layer)
    return pd.Series(_matrix_means(X, target_sum, chunk_size), index=var_names)


def _matrix_means(X: Any, target_sum: float | None, chunk_size: int) -> np.ndarray:
    total, dense = None, False
    for _, _, rows in _row_chunks(X, chunk_size):
        rows = _normalise(rows, target_sum)
        dense = not sp.issparse(rows)
        if total is None:
            float64 = rows.dtype == np.float64 or (not dense and _scanpy_sums_sparse_in_float64())
            total = np.zeros(X.shape[1], dtype=np.float64 if float64 else np.float32)
        _add_column_sums(rows, total)
    means = total.astype(np.float64) / X.shape[0]
    return means.astype(total.dtype) if dense else means  # numpy's nanmean keeps float32


def signature_weights(
    means: pd.Series,
    signatures: Mapping[str, Sequence[str]] | Sequence[Signature],
    *,
    ctrl_size: int = 50,
    n_bins: int = 25,
    random_state: int = 0,
    min_genes: int = 1,
) -> tuple[np.ndarray, pd.DataFrame]:
    """Genes × sets weights folding each set's mean and its control mean into one column.

    ``W[g, s] = 1/|S|`` for set genes, ``-1/|C|`` for the controls :func:`control_genes` draws
    (reseeded with ``random_state`` for every set, as a loop over :func:`scanpy.tl.score_genes`
    does), 0 elsewhere; so ``X @ W`` is the matrix of scores.

    Returns
    -------
    ``(W, coverage)``: ``W`` float64 genes × kept sets; ``coverage`` one row per set with
    ``n_genes`` (in the set), ``n_present``, ``n_controls`` and ``scored`` (``n_present >= min_genes``).
    """
    sets = _gene_sets(signatures)
    bins = _expression_bins(means.to_numpy(dtype=float), n_bins)
    columns, rows = [], []
    for name, genes in sets.items():
        unique = pd.Index(genes).unique()
        idx = means.index.get_indexer(unique)
        idx = np.sort(idx[idx >= 0])
        ctrl = _controls(bins, idx, ctrl_size, random_state) if len(idx) >= min_genes else np.empty(0, dtype=np.intp)
        scored = len(idx) >= min_genes and len(ctrl) > 0
        rows.append(dict(signature=name, n_genes=len(unique), n_present=len(idx), n_controls=len(ctrl), scored=scored))
        if scored:
            w = np.zeros(len(means))
            w[idx] = 1.0 / len(idx)
            w[ctrl] = -1.0 / len(ctrl)
            columns.append(w)
    W = np.column_stack(columns) if columns else np.zeros((len(means), 0))
    return W, pd.DataFrame(rows).set_index("signature")


def score_signatures(
    adata: AnnData,
    signatures: Mapping[str, Sequence[str]] | Sequence[Signature],
    *,
    ctrl_size: int = 50,
    n_bins: int = 25,
    random_state: int = 0,
    use_raw: bool | None = None,
    layer: str | None = None,
    target_sum: float | None = None,
    chunk_size: int = 50_000,
    min_genes: int = 1,
    key_added: str | None = "signature_scores",
) -> pd.DataFrame:
    """Score every gene set per cell in one sparse product per chunk (scanpy ``score_genes`` values).

    For each set the score is Tirosh's (2016) set mean minus control mean with the controls of
    :func:`control_genes` — the values a loop of :func:`scanpy.tl.score_genes` over the sets gives
    with the same ``random_state`` — but computed as ``X_chunk @ W`` with ``W`` from
    :func:`signature_weights`, over chunks of ``chunk_size`` cells (two passes: gene means, then
    scores), accumulated in float64. For a sparse matrix the product visits, for each stored value,
    only the sets that use its gene (``W`` is sparse: a gene is a member or control of ~3 of 50
    Hallmark sets), so the cost is about ``nnz(X) × 3`` rather than ``nnz(X) × n_sets``.
    Works on backed AnnData (``anndata.read_h5ad(path, backed="r")``); peak memory is one chunk
    of the matrix plus the cells × sets result.

    Parameters
    ----------
    adata
        Cells × genes, log-normalised, or counts with ``target_sum`` set.
    signatures
        ``{name: genes}`` or :class:`~tme.geneset.Signature` objects (their ``genes``; down genes
        and weights are not part of ``score_genes``).
    ctrl_size, n_bins, random_state
        As in :func:`scanpy.tl.score_genes` (50, 25, 0).
    use_raw, layer
        Which matrix (``None``: ``adata.raw`` when present, as scanpy).
    target_sum
        Counts in the matrix: normalise each cell to this total and log1p first (e.g. ``1e4``).
    chunk_size
        Cells per chunk.
    min_genes
        Sets with fewer genes present are left out (listed in ``adata.uns[key_added]['coverage']``).
    key_added
        Store the scores in ``adata.obsm[key_added]`` and the coverage and parameters in
        ``adata.uns[key_added]``; ``None`` to only return them.

    Returns
    -------
    Cells × sets DataFrame of scores (index ``obs_names``; sets left out are in the coverage table
    of :func:`signature_weights`, stored in ``adata.uns[key_added]['coverage']``).
    """
    X, var_names = _obs_rep(adata, use_raw, layer)
    values, coverage = _score(
        X,
        var_names,
        signatures,
        target_sum,
        chunk_size,
        ctrl_size=ctrl_size,
        n_bins=n_bins,
        random_state=random_state,
        min_genes=min_genes,
    )
    scores = pd.DataFrame(values, index=adata.obs_names, columns=coverage.index[coverage["scored"]])
    if key_added is not None:
        adata.obsm[key_added] = scores
        adata.uns[key_added] = {
            "coverage": coverage.reset_index(),
            "params": dict(
                method="score_genes",
                ctrl_size=ctrl_size,
                n_bins=n_bins,
                random_state=random_state,
                reference=SCORE_GENES_REFERENCE,
            ),
        }
    return scores


def _score(
    X: Any, var_names: pd.Index, signatures, target_sum: float | None, chunk_size: int, **weight_kwargs
) -> tuple[np.ndarray, pd.DataFrame]:
    """Scores (cells × scored sets) and coverage: gene means, weights, then ``X @ W``.

    A backed matrix of at most ``chunk_size`` cells is read once and used by both passes.
    """
    if X.shape[0] <= chunk_size and not isinstance(X, (np.ndarray, sp.spmatrix, sp.sparray)):
        X = X[:]
    means = pd.Series(_matrix_means(X, target_sum, chunk_size), index=var_names)
    W, coverage = signature_weights(means, signatures, **weight_kwargs)
    return _weighted_sums(X, W, target_sum, chunk_size), coverage


def _weighted_sums(X: Any, W: np.ndarray, target_sum: float | None, chunk_size: int) -> np.ndarray:
    """``X @ W`` chunk by chunk (normalised first when ``target_sum``), accumulated in float64."""
    W_csr = sp.csr_matrix(W)
    out = np.zeros((X.shape[0], W.shape[1]))
    for start, stop, rows in _row_chunks(X, chunk_size):
        rows = _normalise(rows, target_sum)
        if sp.issparse(rows):
            _csr_times_sparse(
                rows.data, rows.indices, rows.indptr, W_csr.indptr, W_csr.indices, W_csr.data, out[start:stop]
            )
        else:
            out[start:stop] = rows @ W
    return out


def score_h5ad(
    path: str | os.PathLike,
    signatures: Mapping[str, Sequence[str]] | Sequence[Signature],
    *,
    ctrl_size: int = 50,
    n_bins: int = 25,
    random_state: int = 0,
    use_raw: bool | None = None,
    layer: str | None = None,
    target_sum: float | None = None,
    chunk_size: int = 50_000,
    min_genes: int = 1,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """:func:`score_signatures` on an ``.h5ad`` file, reading only what the scores need.

    Reads the cell barcodes, the gene names and one matrix (``raw/X`` when the file has ``raw``
    and no ``layer`` is given, as scanpy chooses; else ``layers/<layer>`` or ``X``), in chunks of
    ``chunk_size`` cells — not the other ``obs`` columns, ``obsm``, ``uns`` or other layers. Every
    gene is read: the expression bins that pick the controls rank all genes by their mean. A file
    of at most ``chunk_size`` cells is read once; a larger one twice (means, then scores), holding
    one chunk in memory at a time. Parameters as in :func:`score_signatures`.

    Returns
    -------
    ``(scores, coverage)``: cells × scored sets, and the coverage table of :func:`signature_weights`.
    """
    import h5py
    from anndata.io import read_elem, sparse_dataset

    with h5py.File(path, "r") as handle:
        if use_raw is None:
            use_raw = layer is None and "raw" in handle
        group = handle["raw"] if use_raw else handle
        key = f"layers/{layer}" if layer is not None else "X"
        X = group[key] if isinstance(group[key], h5py.Dataset) else sparse_dataset(group[key])
        var_names = pd.Index(read_elem(group["var"][group["var"].attrs["_index"]]))
        obs_names = pd.Index(read_elem(handle["obs"][handle["obs"].attrs["_index"]]))
        if not var_names.is_unique:
            raise TmeInputError(
                f"gene {var_names[var_names.duplicated()][0]!r} appears more than once",
                file=path,
                column="var",
                fix="make gene names unique before scoring",
            )
        scores, coverage = _score(
            X,
            var_names,
            signatures,
            target_sum,
            chunk_size,
            ctrl_size=ctrl_size,
            n_bins=n_bins,
            random_state=random_state,
            min_genes=min_genes,
        )
    return pd.DataFrame(scores, index=obs_names, columns=coverage.index[coverage["scored"]]), coverage
