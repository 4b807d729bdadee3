"""Types shared by the scoring methods: gene sets mapped to matrix columns, and method metadata."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass(frozen=True)
class IndexedSet:
    """A gene set after mapping to the columns of a samples x genes matrix.

    ``idx`` holds the column indices of the up (or undirected) genes present in the data, in the
    signature's order, duplicates removed; ``down_idx`` the same for down genes. ``weights``
    (aligned with ``idx``) and ``housekeeping_idx`` are filled for weighted signatures only.
    """

    name: str
    idx: np.ndarray
    down_idx: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.intp))
    weights: np.ndarray | None = None
    housekeeping_idx: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.intp))


@dataclass(frozen=True)
class Method:
    """A registered scoring method.

    Attributes
    ----------
    name
        Name passed as ``score(..., method=name)``.
    func
        ``func(X, sets, *, n_jobs, **options) -> ndarray`` with ``X`` samples x genes and one
        output column per :class:`IndexedSet`.
    reference
        The paper / implementation the numbers follow.
    rank_walk
        Rank-based random-walk or rank-mean statistic: unstable for sets of 5 genes or fewer.
    drops_constant_genes
        Genes constant across samples are removed first (as R GSVA does for its cohort methods).
    directional
        Uses ``Signature.down_genes``; other methods score the up/undirected genes only.
    needs_weights
        Requires ``Signature.weights`` (and uses ``Signature.housekeeping``).
    own_method_only
        Applies only to the signatures built for it (their own method): ``scoring.methods: [...]``
        in the workflow does not apply it to other signatures.
    workflow_options
        Options the workflow passes on tme's analysis scale (log2 expression), e.g. ``log_base=2``.
    """

    name: str
    func: Callable[..., np.ndarray]
    reference: str
    rank_walk: bool = False
    drops_constant_genes: bool = False
    directional: bool = False
    needs_weights: bool = False
    own_method_only: bool = False
    workflow_options: Mapping[str, Any] = field(default_factory=dict)
