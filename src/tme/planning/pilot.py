"""Operating characteristics of an internal pilot with blinded sample-size re-estimation, by simulation.

Each simulated trial (Wittes & Brittain 1990; Kieser & Friede 2003):

1. Plan: ``n0`` patients with both samples per arm from the planning residual SD
   (:func:`tme.planning.ancova_sample_size`, exact method), randomised ``inflate_for_missing(n0, r)``
   per arm with the model's missing-post share ``r``.
2. Internal pilot: the first ``pilot_fraction`` of the randomised patients of each arm; from their
   pooled pre/post values, arms unknown, the blinded variance
   (:func:`tme.planning.lumped_variance`, optionally :func:`tme.planning.adjusted_variance` at the
   assumed effect).
3. Re-estimate: the smallest whole number of pairs per arm whose exact ANCOVA power at the
   blinded SD reaches the target, inflated by the pilot's pooled missing share, at least the
   pilot and at most ``n_max`` randomised per arm (a pilot with fewer than ``MIN_PILOT_PAIRS``
   pairs, whose blinded variance cannot be estimated, keeps the planned size).
4. Final analysis: the ANCOVA (or ``analysis``) on every randomised patient, at ``alpha``.

Everything is vectorised over trials: patients are simulated up to ``n_max`` per arm in
recruitment order and those beyond a trial's final size are dropped. The integer sizes come from
a table of the standardised minimum detectable effect ``d_n`` (:func:`minimum_detectable_effect`
with SD 1) for each whole ``n`` in the range the trials need: a trial needs the smallest ``n``
with ``Δ / s ≥ d_n``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from tme.errors import TmeInputError
from tme.planning.analytic import ancova_sample_size, inflate_for_missing, minimum_detectable_effect
from tme.planning.moments import MIN_PILOT_PAIRS
from tme.planning.reestimation import adjusted_variance, lumped_variance
from tme.planning.trials import Analysis, TrialModel, Trials, ancova_analysis, simulate_trials


@dataclass(frozen=True)
class PilotResult:
    """Per simulated trial: planned, pilot and final randomised patients per arm, whether H0 was rejected."""

    n_planned: int
    n_pilot: int
    n_final: np.ndarray
    reject: np.ndarray

    @property
    def rejection_rate(self) -> float:
        return float(self.reject.mean())

    @property
    def mc_se(self) -> float:
        return float(np.sqrt(self.rejection_rate * (1 - self.rejection_rate) / len(self.reject)))


def _pairs_needed(
    sd: np.ndarray, difference: float, alpha: float, power: float, n_covariates: int, n_cap: int
) -> np.ndarray:
    """Smallest whole pairs per arm reaching ``power`` at each SD, at most ``n_cap`` (SD 0: 0 pairs)."""
    ok = np.isfinite(sd) & (sd > 0)
    needed = np.zeros(len(sd), dtype=int)
    if not ok.any():
        return needed
    low, high = (
        min(n_cap, ancova_sample_size(difference, s, alpha, power, n_covariates)) for s in (sd[ok].min(), sd[ok].max())
    )
    ns = np.arange(max(2, math.floor(low)), math.ceil(high) + 1)
    mde = np.array(
        [
            minimum_detectable_effect(n, 1.0, alpha, power, n_covariates) if 2 * n - 2 - n_covariates >= 1 else np.inf
            for n in ns
        ]
    )
    # d_n decreases with n: the first n whose d_n is at most the trial's standardised effect
    index = np.searchsorted(-mde, -abs(difference) / sd[ok], side="left")
    needed[ok] = ns[np.minimum(index, len(ns) - 1)]  # beyond the table: the cap
    return needed


def _enrolled(trials: Trials, n_per_arm: np.ndarray) -> Trials:
    """Trials restricted to each trial's first ``n_per_arm`` patients of each arm."""
    position = np.concatenate([np.arange((~trials.treated).sum()), np.arange(trials.treated.sum())])
    keep = position[None, :] < n_per_arm[:, None]
    return Trials(np.where(keep, trials.pre, np.nan), np.where(keep, trials.post, np.nan), trials.treated)


def internal_pilot(
    model: TrialModel,
    assumed_difference: float,
    true_difference: float,
    *,
    planning_residual_sd: float,
    alpha: float = 0.05,
    power: float = 0.8,
    pilot_fraction: float = 0.5,
    n_trials: int = 2000,
    seed: int = 0,
    estimator: str = "ancova",
    adjust: bool = False,
    n_max: int | None = None,
    analysis: Analysis = ancova_analysis,
) -> PilotResult:
    """Simulate ``n_trials`` internal-pilot trials (module docstring); ``n_max`` defaults to 4 x planned."""
    if not 0 < pilot_fraction <= 1:
        raise TmeInputError(
            f"pilot fraction {pilot_fraction} is not in (0, 1]",
            column="pilot_fraction",
            fix="give the share of the planned patients in the internal pilot, e.g. 0.5",
        )
    k = 1 if estimator == "ancova" else 0
    pairs0 = math.ceil(ancova_sample_size(assumed_difference, planning_residual_sd, alpha, power, k) - 1e-9)
    planned = inflate_for_missing(pairs0, model.missing_post)
    n_pilot = max(2, math.ceil(pilot_fraction * planned))
    n_max = n_max or 4 * planned
    trials = simulate_trials(model, max(n_max, n_pilot), true_difference, n_trials, np.random.default_rng(seed))
    pilot = _enrolled(trials, np.full(n_trials, n_pilot))
    s2, n_pairs = lumped_variance(pilot.pre, pilot.post, estimator)
    estimable = n_pairs >= MIN_PILOT_PAIRS  # otherwise the trial keeps its planned size
    with np.errstate(divide="ignore", invalid="ignore"):
        variance = np.where(estimable, adjusted_variance(s2, n_pairs, assumed_difference) if adjust else s2, np.nan)
    needed = _pairs_needed(np.sqrt(variance), assumed_difference, alpha, power, k, n_max)
    missing = 1 - n_pairs / np.isfinite(pilot.pre).sum(axis=1)  # every pilot patient has a baseline
    resized = np.clip(inflate_for_missing(needed, np.minimum(missing, 0.9)), n_pilot, n_max)
    final = np.where(estimable, resized, max(planned, n_pilot))
    p = np.asarray(analysis(_enrolled(trials, final)), float)
    return PilotResult(planned, n_pilot, final, np.nan_to_num(p, nan=1.0) <= alpha)


#: Columns of :func:`internal_pilot_table` (``planning_internal_pilot.tsv``).
PILOT_COLUMNS = [
    "endpoint",
    "true_variance_factor",
    "pilot_fraction",
    "estimator",
    "adjusted",
    "alpha_per_endpoint",
    "power_target",
    "n_planned",
    "n_pilot",
    "n_final_mean",
    "n_final_p90",
    "type1",
    "type1_mc_se",
    "power",
    "power_mc_se",
    "n_trials",
]


def internal_pilot_table(
    table: pd.DataFrame,
    *,
    pilot_fraction: float = 0.5,
    true_variance_factors: Sequence[float] = (0.5, 1.0, 2.0),
    n_trials: int = 1000,
    seed: int = 0,
    estimator: str = "ancova",
    adjust: bool = False,
) -> pd.DataFrame:
    """Operating characteristics of re-estimating each planned endpoint's size in an internal pilot.

    Per row of the planning table (:func:`tme.planning.planning_table`): the next trial is planned
    with the estimated residual SD at the endpoint's per-endpoint level; the truth has a residual
    variance ``factor`` times that (SDs scaled by ``sqrt(factor)``, same ρ and missing share);
    :func:`internal_pilot` gives the type I error (effect 0) and the power (the target effect), the
    mean and 90th percentile of the final randomised patients per arm (``PILOT_COLUMNS``).
    """
    rows = []
    for i, row in enumerate(table.itertuples()):
        for j, factor in enumerate(true_variance_factors):
            scale = float(np.sqrt(factor))
            model = TrialModel(
                row.baseline_sd * scale, row.post_sd * scale, row.rho, row.drift_reference, row.missing_post
            )
            common = dict(
                planning_residual_sd=row.residual_sd,
                alpha=row.alpha_per_endpoint,
                power=row.power,
                pilot_fraction=pilot_fraction,
                n_trials=n_trials,
                estimator=estimator,
                adjust=adjust,
            )
            null = internal_pilot(model, row.target_difference, 0.0, seed=seed + 2 * (100 * i + j), **common)
            alt = internal_pilot(
                model, row.target_difference, row.target_difference, seed=seed + 2 * (100 * i + j) + 1, **common
            )
            rows.append(
                {
                    "endpoint": row.endpoint,
                    "true_variance_factor": factor,
                    "pilot_fraction": pilot_fraction,
                    "estimator": estimator,
                    "adjusted": adjust,
                    "alpha_per_endpoint": row.alpha_per_endpoint,
                    "power_target": row.power,
                    "n_planned": alt.n_planned,
                    "n_pilot": alt.n_pilot,
                    "n_final_mean": float(alt.n_final.mean()),
                    "n_final_p90": float(np.quantile(alt.n_final, 0.9)),
                    "type1": null.rejection_rate,
                    "type1_mc_se": null.mc_se,
                    "power": alt.rejection_rate,
                    "power_mc_se": alt.mc_se,
                    "n_trials": n_trials,
                }
            )
    return pd.DataFrame(rows, columns=PILOT_COLUMNS)
