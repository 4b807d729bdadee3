"""Multiplicity adjustment of a family of p-values: Holm, Hochberg, Bonferroni, Benjamini–Hochberg,
fixed-sequence (hierarchical) testing, or none.

Adjusted p-values along the last axis (so that many simulated trials adjust at once), equal to R's
``p.adjust`` for ``holm``, ``hochberg``, ``bonferroni`` and ``BH``; with the m p-values sorted
increasingly, ``p_(1) ≤ … ≤ p_(m)``:

* Bonferroni: ``min(1, m p_i)``;
* Holm (Scand J Stat 1979;6:65), step-down: ``p̃_(i) = max_{j ≤ i} min(1, (m − j + 1) p_(j))``;
* Hochberg (Biometrika 1988;75:800), step-up: ``p̃_(i) = min_{j ≥ i} min(1, (m − j + 1) p_(j))``;
* Benjamini–Hochberg (JRSS B 1995;57:289), false discovery rate: ``min_{j ≥ i} min(1, m p_(j) / j)``;
* hierarchical, the fixed-sequence procedure (Maurer, Hothorn & Lehmacher 1995; Westfall & Krishen
  2001): endpoints are tested in the pre-specified order, each at the full α, and testing stops at
  the first non-rejection; the adjusted p-value is ``p̃_k = max(p_1, …, p_k)`` in that order, so
  endpoint k is rejected at α exactly when it and every earlier endpoint have p ≤ α;
* none: the p-values as they are.

Missing p-values (an analysis that could not be computed): with ``missing="drop"`` they stay
missing and do not count in m, as R does — right for exploratory families, whose size is whatever
was measured; with ``missing="as_one"`` they count as p = 1, so that a pre-specified family keeps
its size m (and a fixed sequence stops at them) — right for confirmatory families.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from tme.errors import TmeInputError

#: The procedures :func:`adjust` knows (the analysis plan's ``multiplicity`` values).
METHODS = ("holm", "hochberg", "bonferroni", "hierarchical", "bh", "none")


def _stepwise(p: np.ndarray, factor: np.ndarray, descending: bool) -> np.ndarray:
    """``min(1, cum{min|max}(factor * sorted p))`` back in input order, along the last axis."""
    order = np.argsort(-p if descending else p, axis=-1, kind="stable")
    ranked = np.take_along_axis(p, order, axis=-1) * factor
    cum = np.minimum.accumulate(ranked, axis=-1) if descending else np.maximum.accumulate(ranked, axis=-1)
    out = np.empty_like(cum)
    np.put_along_axis(out, order, np.minimum(cum, 1.0), axis=-1)
    return out


def _adjust_complete(p: np.ndarray, method: str) -> np.ndarray:
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
    return p.copy()


def adjust(p: np.ndarray | Sequence[float], method: str, *, missing: str = "drop") -> np.ndarray:
    """Adjusted p-values of one family (or of many along the last axis), in the input order.

    For ``hierarchical`` the input order is the testing order. ``missing``: ``drop`` (NaN stays NaN
    and does not count) or ``as_one`` (NaN counts as p = 1); see the module docstring.
    """
    if method not in METHODS:
        raise TmeInputError(
            f"unknown multiplicity method {method!r}", column="multiplicity", fix=f"use one of {', '.join(METHODS)}"
        )
    p = np.asarray(p, dtype=float)
    if missing == "as_one" or not np.isnan(p).any():
        return _adjust_complete(np.where(np.isnan(p), 1.0, p), method)
    if p.ndim != 1:
        raise ValueError("missing='drop' adjusts one family at a time")
    out = np.full_like(p, np.nan)
    ok = ~np.isnan(p)
    if ok.any():
        out[ok] = _adjust_complete(p[ok], method)
    return out


def benjamini_hochberg(p: np.ndarray | pd.Series) -> np.ndarray:
    """BH-adjusted p-values (q-values) in the input order; missing p-values do not count."""
    return adjust(p, "bh")


def add_adjusted_p(
    table: pd.DataFrame, by: list[str], methods: dict[str, str] | None = None, confirmatory: Sequence[str] = ()
) -> pd.DataFrame:
    """Fill ``p_adjusted`` (and ``multiplicity``, the method) within each group of ``by``.

    ``by`` starts with ``family``; ``methods`` maps a family to its procedure (default ``bh``).
    Rows are adjusted in table order (the plan's order for a hierarchical family); families listed in
    ``confirmatory`` keep their pre-specified size (``missing="as_one"``).
    """
    methods = methods or {}
    table = table.copy()
    table["p_adjusted"] = np.nan
    table["multiplicity"] = table["family"].map(lambda f: methods.get(f, "bh"))
    for key, index in table.groupby(by, sort=False).groups.items():
        family = key[0] if isinstance(key, tuple) else key
        missing = "as_one" if family in confirmatory else "drop"
        table.loc[index, "p_adjusted"] = adjust(table.loc[index, "p"], methods.get(family, "bh"), missing=missing)
    return table
