r"""Scores on genes standardised across samples: combined z-score and PLAGE.

Both match R GSVA 1.46 ``gsva(method="zscore")`` / ``gsva(method="plage")``: each gene is
standardised across the samples scored together, :math:`z_{gj} = (x_{gj} - \bar x_g) / s_g`
(:math:`s_g` the sample standard deviation, ``ddof=1``; R ``scale``), so both are
cohort-dependent. Genes constant across samples are removed first, as GSVA does.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from tme.scoring._base import IndexedSet


def _standardise(X: np.ndarray, columns: np.ndarray) -> np.ndarray:
    """z-scores across samples (rows) of the given gene columns; samples x len(columns)."""
    sub = np.asarray(X[:, columns], dtype=np.float64)
    return (sub - sub.mean(axis=0)) / sub.std(axis=0, ddof=1)


def zscore(X: np.ndarray, sets: Sequence[IndexedSet], *, n_jobs: int = 1) -> np.ndarray:
    r"""Combined z-score (Lee E et al. 2008, Inferring pathway activity toward precise disease
    classification, *PLoS Comput Biol* 4:e1000217): :math:`\sum_{g \in G} z_{gj} / \sqrt{k}`.

    Matches R GSVA 1.46 ``method="zscore"``. ``n_jobs`` is accepted for a uniform interface;
    the computation is a single matrix pass.
    """
    return np.column_stack([_standardise(X, s.idx).sum(axis=1) / np.sqrt(s.idx.size) for s in sets])


def plage(X: np.ndarray, sets: Sequence[IndexedSet], *, n_jobs: int = 1) -> np.ndarray:
    r"""PLAGE (Tomfohr J, Lu J, Kepler TB 2005, Pathway level analysis of gene expression using
    singular value decomposition, *BMC Bioinformatics* 6:225).

    The score of sample :math:`j` is the :math:`j`-th entry of the first right singular vector
    :math:`v_1` of the :math:`k \times m` matrix of the set's standardised genes (unit norm,
    as R GSVA 1.46 ``method="plage"`` returns it). The sign of a singular vector is arbitrary;
    here it is oriented so that the score correlates positively with the mean z-score of the
    set genes, i.e. higher = more expressed (GSVA leaves it to LAPACK).

    A set with one gene in the data scores that gene's z-scores divided by their norm; R GSVA
    1.46 returns 1 for every sample there (its one-row matrix drops to a vector before the SVD).
    """
    scores = []
    for s in sets:
        Z = _standardise(X, s.idx)  # samples x k
        v1 = np.linalg.svd(Z.T, full_matrices=False)[2][0]
        if np.dot(v1 - v1.mean(), Z.mean(axis=1)) < 0:
            v1 = -v1
        scores.append(v1)
    return np.column_stack(scores)
