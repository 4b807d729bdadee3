r"""Blinded sample-size re-estimation from an internal pilot (no arm labels are ever read).

Internal pilot (Wittes & Brittain, Stat Med 1990;9:65): the first patients of the trial, still
blinded, give a variance estimate from the pooled data; the sample size is recomputed with it
and the trial continues to the new size; the final analysis uses every patient. With the
one-sample ("lumped") variance estimator the type I error of the final t test is not inflated
(Kieser & Friede, Stat Med 2003;22:3571; review Friede & Kieser, Biom J 2006;48:537), and the same
holds for baseline-adjusted analyses (Friede & Kieser, Methods Inf Med 2011;50:237).
``benchmarks/planning_calibration.py`` checks both for tme's ANCOVA by simulation.

Estimators, from the :math:`N` pilot patients with both samples, arms pooled (1:1 randomisation):

``"ancova"`` (default; the primary analysis's variance)
    :math:`S^2 = \mathrm{RSS}/(N - 2)` of the pooled regression ``post ~ pre`` ignoring arm.
``"change"``
    :math:`S^2` = the one-sample variance of the changes ``post − pre`` (the variance of a
    change-score analysis; at least the ANCOVA residual variance, so conservative for the ANCOVA).

Both contain the arm difference :math:`\delta`: :math:`E[S^2] = \sigma^2 + \delta^2 N / (4(N-1))`
(for ``"ancova"`` because arm is independent of the randomised baseline; exact for ``"change"``).
``adjust=False`` (default) keeps the lumped :math:`S^2`, as Kieser & Friede (2003) and R
``blindrecalc`` do; ``adjust=True`` subtracts the term at the **assumed** effect :math:`\Delta` of
the plan (their adjusted estimator), floored at 0. The new size per arm is
:func:`tme.planning.analytic.ancova_sample_size` at :math:`\sqrt{S^2}` (``"change"``: the
two-sample t, ``n_covariates = 0``), at least ``n_min`` (by default the pilot's pairs per arm:
patients already in the trial stay in) and at most ``n_max``.

Which estimator: measured by ``benchmarks/planning_calibration.py`` (ANCOVA, ρ = 0.5, 10 %
missing posts, 50 % pilot, α = 0.05, power 0.8, 20 or 40 pairs per arm truly needed, planning
variance wrong by a factor of 2 either way, 10,000 trials per cell): the type I error stays at
0.048–0.053 with either; when the planning variance was too small (the case re-estimation is
for), the lumped estimator reaches the target power (0.80) while the adjusted one falls short
(0.72–0.76 with 7–12 pilot patients per arm: an unbiased but noisy variance gives too few patients
more often than it costs power to give too many); when the planning variance was too large, the
pilot alone already holds the patients needed, so both overshoot (lumped 0.83–0.85, adjusted 0.82)
— re-estimation never removes pilot patients.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from tme.config import Design
from tme.errors import TmeInputError
from tme.planning.analytic import ancova_sample_size, inflate_for_missing
from tme.planning.family import per_endpoint_alpha
from tme.planning.moments import MIN_PILOT_PAIRS, within_arm_sums
from tme.planning.targets import Target, nearest, resolve_targets

ESTIMATORS = ("ancova", "change")
#: The only columns the blinded re-estimation accepts.
BLINDED_COLUMNS = ("patient_id", "timepoint", "value")


def lumped_variance(pre: np.ndarray, post: np.ndarray, estimator: str = "ancova") -> tuple[np.ndarray, np.ndarray]:
    """Pooled (blinded) ``S^2`` and ``N`` over patients with both values; arrays ``(..., n)`` → ``(...)``."""
    if estimator not in ESTIMATORS:
        raise TmeInputError(
            f"unknown blinded variance estimator {estimator!r}", column="estimator", fix=f"use one of {ESTIMATORS}"
        )
    # one group: every patient together, no arm labels
    sums = within_arm_sums(pre, post, np.zeros(np.shape(pre)[-1], dtype=bool))
    n = sums.n[0]
    with np.errstate(invalid="ignore", divide="ignore"):
        if estimator == "change":
            return (sums.syy + sums.sxx - 2 * sums.sxy) / (n - 1), n
        return (sums.syy - sums.sxy**2 / sums.sxx) / (n - 2), n


def adjusted_variance(s2: np.ndarray, n: np.ndarray, assumed_difference: float) -> np.ndarray:
    """``max(0, S^2 - Δ² N / (4 (N - 1)))``: the lumped variance without the assumed arm difference."""
    return np.maximum(0.0, s2 - assumed_difference**2 * n / (4 * (n - 1)))


@dataclass(frozen=True)
class Reestimate:
    """Result of :func:`blinded_reestimate` (one endpoint); ``as_dict()`` gives a table row."""

    endpoint: str
    estimator: str
    adjusted: bool
    n_pairs_pilot: int
    n_patients_pilot: int
    lumped_variance: float
    variance_used: float
    assumed_difference: float
    alpha: float
    power: float
    n_pairs_per_arm: int
    missing_post_pilot: float
    n_per_arm: int

    def as_dict(self) -> dict:
        return asdict(self)


def _refuse_arm(values: pd.DataFrame) -> None:
    if "arm" in values.columns:
        raise TmeInputError(
            "the blinded re-estimation was given an 'arm' column",
            column="arm",
            fix="pass only patient_id, timepoint, (feature) and value: the arm labels must stay hidden",
        )


def _blinded_arrays(values: pd.DataFrame, design: Design) -> tuple[np.ndarray, np.ndarray]:
    _refuse_arm(values)
    absent = [c for c in BLINDED_COLUMNS if c not in values.columns]
    if absent:
        raise TmeInputError(
            f"the pilot table lacks column(s) {absent}",
            column=absent[0],
            fix="give patient_id, timepoint and value (one endpoint)",
        )
    frame = values.loc[:, list(BLINDED_COLUMNS)].dropna(subset=["value"])
    if frame.duplicated(["patient_id", "timepoint"]).any():
        raise TmeInputError(
            "the pilot table has two values for one patient and timepoint",
            column="patient_id",
            fix="give one endpoint, one value per patient and timepoint",
        )
    wide = frame.pivot(index="patient_id", columns="timepoint", values="value").reindex(
        columns=[design.pre, design.post]
    )
    return wide[design.pre].to_numpy(float), wide[design.post].to_numpy(float)


def blinded_reestimate(
    values: pd.DataFrame,
    design: Design,
    target: Target,
    *,
    alpha: float = 0.05,
    power: float = 0.8,
    estimator: str = "ancova",
    adjust: bool = False,
    n_min: int | None = None,
    n_max: int | None = None,
) -> Reestimate:
    """Recompute the patients per arm of one endpoint from blinded pilot data (module docstring).

    Parameters
    ----------
    values
        The pilot's ``patient_id, timepoint, value`` for one endpoint; an ``arm`` column is refused.
    design
        Timepoint labels; must be a blinded design (``blinded: true`` in the config).
    target
        The plan's assumed effect (:class:`tme.planning.Target`).
    alpha
        Per-endpoint two-sided level (already adjusted for the family, e.g. α/m).
    power, estimator, adjust, n_min, n_max
        Target power; ``"ancova"`` or ``"change"``; subtract the assumed effect; bounds on patients
        with both samples per arm (``n_min`` default: the pilot's pairs / 2).

    Returns
    -------
    :class:`Reestimate`: ``n_pairs_per_arm`` (patients with both samples per arm) and ``n_per_arm``
    (randomised, inflated by the pilot's pooled missing-post share).
    """
    if not design.blinded:
        raise TmeInputError(
            "blinded sample-size re-estimation was asked for on an unblinded configuration",
            column="blinded",
            fix="run it in blinded mode (blinded: true), before the arms are revealed",
        )
    pre, post = _blinded_arrays(values, design)
    s2, n = lumped_variance(pre, post, estimator)
    n = int(n)
    if n < MIN_PILOT_PAIRS or not np.isfinite(s2):
        raise TmeInputError(
            f"the pilot has {n} patients with both samples; the blinded variance needs at least {MIN_PILOT_PAIRS}",
            column="value",
            fix="re-estimate later in the pilot, when more pairs are complete",
        )
    used = float(adjusted_variance(s2, n, target.difference)) if adjust else float(s2)
    lower = n // 2 if n_min is None else n_min
    needed = (
        ancova_sample_size(
            target.difference, math.sqrt(used), alpha, power, n_covariates=1 if estimator == "ancova" else 0
        )
        if used > 0
        else lower
    )
    pairs = max(lower, math.ceil(needed - 1e-9))
    pairs = pairs if n_max is None else min(pairs, n_max)
    with_pre = int(np.isfinite(pre).sum())
    missing = 1 - n / with_pre if with_pre else 0.0
    return Reestimate(
        target.endpoint,
        estimator,
        adjust,
        n,
        len(pre),
        float(s2),
        used,
        target.difference,
        alpha,
        power,
        pairs,
        missing,
        inflate_for_missing(pairs, missing),
    )


#: Columns of :func:`blinded_reestimation_table` (``planning_blinded.tsv``).
REESTIMATE_COLUMNS = [
    "endpoint",
    "feature",
    "estimator",
    "adjusted",
    "n_pairs_pilot",
    "n_patients_pilot",
    "lumped_variance",
    "variance_used",
    "assumed_difference",
    "multiplicity",
    "family_size",
    "alpha",
    "power",
    "n_pairs_per_arm",
    "missing_post_pilot",
    "n_per_arm",
]


def blinded_reestimation_table(
    values: pd.DataFrame,
    design: Design,
    endpoints: Sequence[str] | Mapping[str, str],
    targets: Mapping[str, Target | Mapping],
    *,
    alpha: float = 0.05,
    power: float = 0.8,
    multiplicity: str = "holm",
    estimator: str = "ancova",
    adjust: bool = False,
    n_max: int | None = None,
) -> pd.DataFrame:
    """:func:`blinded_reestimate` for every plan endpoint of a blinded long table.

    ``values``: ``patient_id, timepoint, feature, value`` (an ``arm`` column is refused, as by
    :func:`blinded_reestimate`); each endpoint is tested at the conservative per-endpoint level
    (:func:`tme.planning.per_endpoint_alpha`). Columns ``REESTIMATE_COLUMNS``: those of
    :class:`Reestimate` plus the endpoint's ``feature``, ``multiplicity`` and ``family_size``;
    ``alpha`` is the per-endpoint level. Nothing is written.
    """
    _refuse_arm(values)
    features = dict(endpoints) if isinstance(endpoints, Mapping) else {e: e for e in endpoints}
    resolved = resolve_targets(list(features), targets)
    level = per_endpoint_alpha(alpha, multiplicity, len(features))
    present = set(values["feature"]) if "feature" in values.columns else set()
    rows = []
    for endpoint, feature in features.items():
        if feature not in present:
            raise TmeInputError(
                f"endpoint {endpoint!r} names feature {feature!r}, which is not in the pilot table"
                + nearest(feature, sorted(present)),
                column="feature",
                fix="point the endpoint at a feature tme produces",
            )
        pilot = values.loc[values["feature"] == feature, list(BLINDED_COLUMNS)]
        result = blinded_reestimate(
            pilot, design, resolved[endpoint], alpha=level, power=power, estimator=estimator, adjust=adjust, n_max=n_max
        )
        rows.append(result.as_dict() | {"feature": feature, "multiplicity": multiplicity, "family_size": len(features)})
    return pd.DataFrame(rows).reindex(columns=REESTIMATE_COLUMNS)
