"""Benjamini–Hochberg false discovery rate (JRSS B 1995;57:289), as R's ``p.adjust(p, "BH")``.

For the m non-missing p-values sorted increasingly, ``q_(i) = min_{j >= i} min(1, m p_(j) / j)``.
Missing p-values stay missing and do not count in m.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def benjamini_hochberg(p: np.ndarray | pd.Series) -> np.ndarray:
    """BH-adjusted p-values (q-values) in the input order."""
    p = np.asarray(p, dtype=float)
    q = np.full_like(p, np.nan)
    ok = ~np.isnan(p)
    m = int(ok.sum())
    if m == 0:
        return q
    order = np.argsort(p[ok])[::-1]
    ranked = p[ok][order] * m / np.arange(m, 0, -1)
    adjusted = np.empty(m)
    adjusted[order] = np.minimum(1.0, np.minimum.accumulate(ranked))
    q[ok] = adjusted
    return q


def add_q_values(table: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Fill column ``q`` with BH over ``p`` within each group of ``by`` (e.g. family × analysis)."""
    table = table.copy()
    table["q"] = np.nan
    for _, index in table.groupby(by, sort=False).groups.items():
        table.loc[index, "q"] = benjamini_hochberg(table.loc[index, "p"])
    return table
