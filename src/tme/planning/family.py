"""Multiplicity of the primary family, vectorised over simulated trials.

Adjusted p-values along the last axis (one row per simulated trial, one column per endpoint in
plan order) come from :func:`tme.stats.multiplicity.adjust` (Holm, Hochberg, Bonferroni, BH,
hierarchical, none); an endpoint is rejected when its adjusted p ≤ α. A missing p (an analysis that
could not be computed) counts as p = 1: the family size stays the pre-specified m.

For analytic sample sizes, :func:`per_endpoint_alpha` gives the level each endpoint is tested at
**in the worst case**: α/m for Bonferroni, Holm, Hochberg and BH (each rejects every hypothesis
Bonferroni rejects, so planning at α/m is conservative for the last three); α for the first
endpoint of a hierarchical family (later endpoints also need every earlier one rejected: only the
simulation gives their power) and for ``none``.
"""

from __future__ import annotations

import numpy as np

from tme.errors import TmeInputError
from tme.stats.multiplicity import METHODS, adjust

MULTIPLICITY = METHODS


def _check(method: str) -> None:
    if method not in MULTIPLICITY:
        raise TmeInputError(
            f"unknown multiplicity method {method!r}",
            column="multiplicity",
            fix=f"use one of {', '.join(MULTIPLICITY)}",
        )


def adjust_p(p: np.ndarray, method: str) -> np.ndarray:
    """Adjusted p-values along the last axis (:func:`tme.stats.multiplicity.adjust`); NaN is read as 1."""
    return adjust(p, method, missing="as_one")


def per_endpoint_alpha(alpha: float, method: str, m: int) -> float:
    """The conservative per-endpoint level for analytic planning (module docstring)."""
    _check(method)
    if m < 1:
        raise TmeInputError("the primary family is empty", column="endpoints", fix="name at least one endpoint")
    return alpha / m if method in ("holm", "hochberg", "bonferroni", "bh") else alpha
