"""The one result record every tme.stats estimator returns (one row of an output table)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special


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
        return dict(vars(self))  # the fields in order (dataclasses.asdict deep-copies every value)


def not_estimable(note: str, method: str = "") -> Estimate:
    """An all-NaN result carrying the reason."""
    return Estimate(method=method, note=note)


def t_quantile(conf_level: float, df: float) -> float:
    """The ``(1 + conf_level) / 2`` quantile of Student's t on ``df`` degrees of freedom.

    ``scipy.special.stdtrit`` is the Boost code behind ``scipy.stats.t.ppf`` without the
    distribution framework's per-call argument handling (~60 µs a call; tme makes thousands).
    """
    return float(special.stdtrit(df, 0.5 + conf_level / 2))


def t_two_sided_p(statistic: float, df: float) -> float:
    """``2 P(T_df > |statistic|)`` (``scipy.special.stdtr``, as ``2 * scipy.stats.t.sf(|t|, df)``)."""
    return float(2 * special.stdtr(df, -abs(statistic)))


def t_estimate(estimate: float, se: float, df: float, conf_level: float, method: str, note: str = "") -> Estimate:
    """``estimate ± t_{df} se`` and the two-sided t test of 0 on ``df`` degrees of freedom."""
    statistic, half = estimate / se, t_quantile(conf_level, df) * se
    return Estimate(estimate, se, estimate - half, estimate + half, statistic, df, t_two_sided_p(statistic, df),
                    method, note)  # fmt: skip
