"""The one result record every tme.stats estimator returns (one row of an output table)."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np


@dataclass(frozen=True)
class Estimate:
    """Estimate with SE, CI, test statistic, degrees of freedom, two-sided p, method and note.

    Fields that an analysis does not produce are NaN (e.g. ``se`` of a rank test); ``note`` says
    why the whole estimate is NaN when it is.
    """

    estimate: float = np.nan
    se: float = np.nan
    ci_low: float = np.nan
    ci_high: float = np.nan
    statistic: float = np.nan
    df: float = np.nan
    p: float = np.nan
    method: str = ""
    note: str = ""

    def as_dict(self) -> dict:
        return asdict(self)


def not_estimable(note: str, method: str = "") -> Estimate:
    """An all-NaN result carrying the reason."""
    return Estimate(method=method, note=note)
