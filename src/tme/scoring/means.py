r"""Averages of set genes: mean expression, MCP-counter and cytolytic activity (CYT).

These are single-sample scores with no cohort dependence; they suit small sets (2-10 genes)
where rank walks are unstable.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from tme.errors import TmeInputError
from tme.scoring._base import IndexedSet


def _set_means(X: np.ndarray, sets: Sequence[IndexedSet]) -> np.ndarray:
    return np.column_stack([np.asarray(X[:, s.idx], dtype=np.float64).mean(axis=1) for s in sets])


def mean(X: np.ndarray, sets: Sequence[IndexedSet], *, n_jobs: int = 1) -> np.ndarray:
    r"""Mean expression of the set genes, :math:`\frac1k \sum_{g\in G} x_{gj}`, on the scale given
    (pass log-scale data for a log-mean, e.g. Danaher 2017 cell-type scores)."""
    return _set_means(X, sets)


def mcpcounter(X: np.ndarray, sets: Sequence[IndexedSet], *, n_jobs: int = 1) -> np.ndarray:
    r"""MCP-counter population abundance (Becht E et al. 2016, Estimating the population
    abundance of tissue-infiltrating immune and stromal cell populations using gene expression,
    *Genome Biol* 17:218): the arithmetic mean of the **log2** expression of each population's
    transcriptomic markers, :math:`\frac1k \sum_{g\in G} \log_2 x_{gj}`.

    ``X`` must already be log2-transformed (e.g. log2(TPM + 1)); the score is then the same
    arithmetic as :func:`mean`. Scores compare samples within one population, not populations
    with each other.
    """
    return _set_means(X, sets)


def cyt(
    X: np.ndarray,
    sets: Sequence[IndexedSet],
    *,
    n_jobs: int = 1,
    log_base: float | None = None,
    offset: float = 0.01,
) -> np.ndarray:
    r"""Cytolytic activity (Rooney MS et al. 2015, Molecular and genetic properties of tumors
    associated with local immune cytolytic activity, *Cell* 160:48-61): the geometric mean of
    *GZMA* and *PRF1* expression in TPM with a 0.01 offset,
    :math:`\mathrm{CYT} = \sqrt{(\mathrm{GZMA} + 0.01)(\mathrm{PRF1} + 0.01)}`.

    Any set is accepted (normally ``CYT = [GZMA, PRF1]``); the geometric mean is over its genes.

    Parameters
    ----------
    log_base
        ``None`` (default): ``X`` is on the **linear** scale (TPM); the result is
        :math:`(\prod_g (x_g + \mathrm{offset}))^{1/k}`, Rooney's definition. A negative value is
        an error (the data are then not linear).

        A number ``b`` (e.g. ``2``): ``X`` is already :math:`\log_b(\mathrm{TPM} + c)` with the
        pseudocount ``c`` the user chose when logging; ``offset`` is ignored. The result is the
        mean of the log values, which **equals** :math:`\log_b` of the geometric mean of
        :math:`\mathrm{TPM} + c` because :math:`\frac1k\sum_g \log_b y_g = \log_b (\prod_g y_g)^{1/k}`.
        It is therefore Rooney's CYT on the log scale (exactly so when ``c = 0.01``), and it has
        the same ordering of samples and the same paired differences as ``log_b(CYT)``.
    offset
        Linear-scale offset added before the geometric mean (Rooney: 0.01).
    """
    if log_base is not None:
        return _set_means(X, sets)
    scores = []
    for s in sets:
        values = np.asarray(X[:, s.idx], dtype=np.float64)
        if np.any(values < 0):
            raise TmeInputError(
                f"CYT on the linear scale found negative expression in signature '{s.name}'",
                fix="pass linear TPM, or log-scale data with method option log_base=2 (or the base used)",
            )
        scores.append(np.exp(np.log(values + offset).mean(axis=1)))
    return np.column_stack(scores)
