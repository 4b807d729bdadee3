"""Per-sample gene ranking shared by the rank-based scorers (ssGSEA, ESTIMATE, singscore, GSVA).

Each sample is sorted exactly once (one ``argsort``); after that only the genes that belong to
at least one gene set (the *union*) are looked at. For every union gene the ranking returns three
integers, all 0-based positions in the ascending order of the sample's values:

``q``
    the gene's position when ties are broken by input (row) order;
``a``, ``b``
    the first and last position of the gene's tie group (``a == b == q`` when it is untied).

Every rank a scorer needs follows from these without another pass over the sample:

* average rank (R ``rank(ties.method = "average")``, 1-based): ``(a + b) / 2 + 1``;
* minimum rank (R ``ties.method = "min"``): ``a + 1``;
* 1-based position in the *decreasing* order with ties kept in input order, which is what
  R's stable ``order(x, decreasing = TRUE)`` gives: ``n - b + (q - a)``.

Numpy's default ``argsort`` is not stable, so tie groups are re-ordered by row index afterwards
(only when the sample has ties at all); the numbers therefore do not depend on the sort
algorithm, the chunking or the number of threads.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np

#: Samples per work unit. Fixed (independent of ``n_jobs``) so that results are bit-identical
#: whatever the number of threads.
CHUNK = 64


def _tie_bounds(sorted_values: np.ndarray, order: np.ndarray, n: int):
    """Return ``(a, b)`` per sorted position and fix ``order`` so ties follow input order.

    Returns ``None`` when the sample has no ties (the common case for continuous data).
    """
    equal_next = sorted_values[1:] == sorted_values[:-1]
    if not equal_next.any():
        return None
    positions = np.arange(n)
    starts = np.ones(n, dtype=bool)
    starts[1:] = ~equal_next
    ends = np.ones(n, dtype=bool)
    ends[:-1] = ~equal_next
    a = np.maximum.accumulate(np.where(starts, positions, 0))
    b = np.minimum.accumulate(np.where(ends, positions, n)[::-1])[::-1]
    tied = np.flatnonzero(a != b)
    within = np.lexsort((order[tied], a[tied]))
    order[tied] = order[tied][within]
    return a, b


def rank_union(x: np.ndarray, union: np.ndarray):
    """Rank one sample ``x`` (1-D, all genes) and return ``(q, a, b)`` for the genes ``union``.

    See the module docstring for the meaning of the three arrays.
    """
    n = x.shape[0]
    order = np.argsort(x)
    bounds = _tie_bounds(x[order], order, n)
    inverse = np.empty(n, dtype=np.intp)
    inverse[order] = np.arange(n)
    q = inverse[union]
    if bounds is None:
        return q, q, q
    a, b = bounds
    return q, a[q], b[q]


def rank_union_block(X: np.ndarray, union: np.ndarray):
    """:func:`rank_union` for every row of ``X`` (samples x genes).

    Returns ``(q, a, b)`` of shape **union genes x rows** (gene-major, so per-set sums are one
    sparse product without transposes). When no sample of the block has ties the three are the
    same object (``a is q``), which callers may use as a shortcut. Rows with ties go through
    :func:`rank_union` again; the others cost one ``argsort``, one gather and one scatter.
    """
    X = np.ascontiguousarray(X)  # a strided row would be copied by every argsort
    rows, n = X.shape
    positions = np.arange(n)
    inverse = np.empty(n, dtype=np.intp)
    q = np.empty((rows, union.shape[0]), dtype=np.intp)
    tied = []
    for i, x in enumerate(X):
        order = np.argsort(x)
        ordered = x.take(order)
        if (ordered[1:] == ordered[:-1]).any():
            tied.append(i)
        inverse[order] = positions
        q[i] = inverse.take(union)
    if not tied:
        q = np.ascontiguousarray(q.T)
        return q, q, q
    a, b = q.copy(), q.copy()
    for i in tied:
        q[i], a[i], b[i] = rank_union(X[i], union)
    return tuple(np.ascontiguousarray(v.T) for v in (q, a, b))


def descending_position(q: np.ndarray, a: np.ndarray, b: np.ndarray, n: int) -> np.ndarray:
    """1-based position in decreasing order, ties in input order (R ``order(decreasing=TRUE)``)."""
    if a is q:
        return n - q
    return n - b + (q - a)


def map_sample_chunks(func: Callable[[slice], None], n_samples: int, n_jobs: int, *, chunk: int = CHUNK) -> None:
    """Call ``func(rows)`` on consecutive blocks of ``chunk`` rows (samples; genes for GSVA's
    kernel step), on ``n_jobs`` threads.

    ``func`` must write its results into rows ``rows`` of a preallocated output. The blocks do
    not depend on ``n_jobs``, so the numbers are bit-identical for any thread count; numpy
    releases the GIL while sorting (and tme's numba kernels release it too), which is where the
    time goes.
    """
    blocks = [slice(start, min(start + chunk, n_samples)) for start in range(0, n_samples, chunk)]
    if n_jobs == 1 or len(blocks) == 1:
        for rows in blocks:
            func(rows)
        return
    with ThreadPoolExecutor(max_workers=n_jobs) as pool:
        for _ in pool.map(func, blocks):
            pass
