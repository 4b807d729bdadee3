"""Multiplicity of the primary family, vectorised over simulated trials.

Adjusted p-values along the last axis (one row per simulated trial, one column per endpoint in
plan order), as R's ``p.adjust`` for ``holm``, ``hochberg``, ``bonferroni`` and ``BH``
(Holm, Scand J Stat 1979;6:65; Hochberg, Biometrika 1988;75:800; Benjamini & Hochberg, JRSS B
1995;57:289), plus ``hierarchical`` (fixed sequence: endpoint k is rejected when it and every
earlier endpoint have p ≤ α; adjusted ``p_k = max(p_1..p_k)``; Maurer et al. 1995) and
``none``. An endpoint is rejected when its adjusted p ≤ α. A missing p (an analysis that could
not be computed) counts as p = 1: the family size stays the pre-specified m.

For analytic sample sizes, :func:`per_endpoint_alpha` gives the level each endpoint is tested at
**in the worst case**: α/m for Bonferroni, Holm, Hochberg and BH (each rejects every hypothesis
Bonferroni rejects, so planning at α/m is conservative for the last three); α for the first
endpoint of a hierarchical family (later endpoints also need every earlier one rejected: only the
simulation gives their power) and for ``none``.
"""

from __future__ import annotations

import numpy as np

from tme.errors import TmeInputError

MULTIPLICITY = ("holm", "hochberg", "bonferroni", "hierarchical", "bh", "none")


def _check(method: str) -> None:
    if method not in MULTIPLICITY:
        raise TmeInputError(
            f"unknown multiplicity method {method!r}",
            column="multiplicity",
            fix=f"use one of {', '.join(MULTIPLICITY)}",
        )


def _stepwise(p: np.ndarray, factor: np.ndarray, descending: bool) -> np.ndarray:
    """``min(1, cum{max|min}(factor * sorted p))`` back in input order, along the last axis."""
    order = np.argsort(-p if descending else p, axis=-1, kind="stable")
    ranked = np.take_along_axis(p, order, axis=-1) * factor
    cum = np.minimum.accumulate(ranked, axis=-1) if descending else np.maximum.accumulate(ranked, axis=-1)
    out = np.empty_like(cum)
    np.put_along_axis(out, order, np.minimum(cum, 1.0), axis=-1)
    return out


def adjust_p(p: np.ndarray, method: str) -> np.ndarray:
    """Adjusted p-values along the last axis (see module docstring); NaN is read as 1."""
    _check(method)
    p = np.where(np.isnan(np.asarray(p, float)), 1.0, np.asarray(p, float))
    m = p.shape[-1]
    if method == "bonferroni":
        return np.minimum(1.0, m * p)
    if method == "holm":
        return _stepwise(p, np.arange(m, 0, -1.0), descending=False)
    if method == "hochberg":
        return _stepwise(p, np.arange(1, m + 1.0), descending=True)
    if method == "bh":
        return _stepwise(p, m / np.arange(m, 0, -1.0), descending=True)
    if method == "hierarchical":
        return np.maximum.accumulate(p, axis=-1)
    return p


def per_endpoint_alpha(alpha: float, method: str, m: int) -> float:
    """The conservative per-endpoint level for analytic planning (module docstring)."""
    _check(method)
    if m < 1:
        raise TmeInputError("the primary family is empty", column="endpoints", fix="name at least one endpoint")
    return alpha / m if method in ("holm", "hochberg", "bonferroni", "bh") else alpha
