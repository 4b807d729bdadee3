"""Simulation-based power of the plan's primary analysis with the family's multiplicity adjustment.

A *design point* is (endpoint, patients randomised per arm, effect). For each, ``n_trials``
trials of the whole primary family are simulated (:func:`tme.planning.trials.simulate_trials`,
each endpoint from its own nuisance parameters; endpoints independent of one another), every
endpoint is analysed with ``analysis`` (default: the ANCOVA, :func:`tme.planning.trials.ancova_analysis`;
any :data:`tme.planning.trials.Analysis` can be plugged in, e.g. a cLDA or MI analysis), the
p-values of the family are adjusted (:func:`tme.planning.family.adjust_p`) and the endpoint's
power is the share of trials in which it is rejected at ``alpha``; the other endpoints sit at
their target effects. Monte Carlo SE: :math:`\\sqrt{\\hat p(1-\\hat p)/T}`.

Independence between endpoints: Bonferroni's per-endpoint power does not depend on it; Holm and
Hochberg gain power when the other endpoints are also rejected, so with positively correlated
endpoints (e.g. overlapping signatures) the simulated power is, if anything, conservative.

Each design point draws from ``numpy.random.default_rng([seed, endpoint index, n, effect
index])``: its result does not depend on which other points are in the grid.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from tme.errors import TmeInputError
from tme.planning.analytic import ancova_power
from tme.planning.family import adjust_p, per_endpoint_alpha
from tme.planning.targets import Target
from tme.planning.trials import Analysis, TrialModel, ancova_analysis, simulate_trials

#: Largest trial simulated (patients randomised per arm); larger design points get NaN (memory: trials × patients).
MAX_SIMULATED_PER_ARM = 2000

GRID_COLUMNS = [
    "endpoint",
    "n_per_arm",
    "effect_multiplier",
    "difference",
    "effect",
    "scale",
    "multiplicity",
    "alpha_per_endpoint",
    "n_trials",
    "power_simulated",
    "power_mc_se",
    "power_analytic",
]


def family_rejections(
    models: Mapping[str, TrialModel],
    differences: Mapping[str, float],
    n_per_arm: int,
    n_trials: int,
    alpha: float,
    multiplicity: str,
    rng: np.random.Generator,
    analysis: Analysis = ancova_analysis,
) -> np.ndarray:
    """Boolean ``(n_trials, m)``: which family endpoints each simulated trial rejects after adjustment."""
    p = np.column_stack(
        [
            np.asarray(analysis(simulate_trials(model, n_per_arm, differences[name], n_trials, rng)), float)
            for name, model in models.items()
        ]
    )
    return adjust_p(p, multiplicity) <= alpha


def _power(reject: np.ndarray) -> tuple[float, float]:
    p = float(reject.mean())
    return p, float(np.sqrt(p * (1 - p) / len(reject)))


def simulated_power(
    models: Mapping[str, TrialModel],
    differences: Mapping[str, float],
    endpoint: str,
    n_per_arm: int,
    *,
    n_trials: int = 1000,
    alpha: float = 0.05,
    multiplicity: str = "holm",
    seed: int = 0,
    key: Sequence[int] = (),
    analysis: Analysis = ancova_analysis,
) -> tuple[float, float]:
    """(power, Monte Carlo SE) of ``endpoint`` in the adjusted family at ``n_per_arm`` randomised per arm.

    ``(nan, nan)`` above ``MAX_SIMULATED_PER_ARM`` patients per arm (a target far too small for a window trial).
    """
    if n_trials < 1:
        raise TmeInputError(
            f"n_trials = {n_trials}", column="n_trials", fix="simulate at least 1 trial (1,000+ for a plan)"
        )
    if n_per_arm > MAX_SIMULATED_PER_ARM:
        return float("nan"), float("nan")
    names = list(models)
    rng = np.random.default_rng([seed, names.index(endpoint), int(n_per_arm), *key])
    reject = family_rejections(models, differences, n_per_arm, n_trials, alpha, multiplicity, rng, analysis)
    return _power(reject[:, names.index(endpoint)])


def power_grid(
    models: Mapping[str, TrialModel],
    targets: Mapping[str, Target],
    n_grid: Sequence[int],
    effect_multipliers: Sequence[float] = (0.5, 0.75, 1.0, 1.25, 1.5),
    *,
    n_trials: int = 1000,
    alpha: float = 0.05,
    multiplicity: str = "holm",
    seed: int = 0,
    analysis: Analysis = ancova_analysis,
) -> pd.DataFrame:
    """Simulated and analytic power per endpoint × n randomised per arm × effect.

    Columns (``GRID_COLUMNS``; ``planning_power_grid.tsv``): ``endpoint``; ``n_per_arm`` (randomised);
    ``effect_multiplier``; ``difference`` (the target's difference × multiplier, analysis scale);
    ``effect`` and ``scale`` (that difference as the target is given: a fold change for ``log2`` /
    ``ln``); ``multiplicity``; ``alpha_per_endpoint`` (:func:`tme.planning.family.per_endpoint_alpha`);
    ``n_trials``; ``power_simulated`` and ``power_mc_se`` (module docstring); ``power_analytic``
    (:func:`tme.planning.analytic.ancova_power`, exact, at the expected pairs per arm
    ``n (1 - missing_post)`` and ``alpha_per_endpoint``; equal to the simulated power within Monte Carlo
    error when nothing goes missing and the family is Bonferroni-adjusted or has one endpoint).
    """
    targets_diff = {name: targets[name].difference for name in models}
    level = per_endpoint_alpha(alpha, multiplicity, len(models))
    rows = []
    for name, model in models.items():
        for n in n_grid:
            for k, multiplier in enumerate(effect_multipliers):
                difference = targets_diff[name] * multiplier
                power, se = simulated_power(
                    models,
                    targets_diff | {name: difference},
                    name,
                    n,
                    n_trials=n_trials,
                    alpha=alpha,
                    multiplicity=multiplicity,
                    seed=seed,
                    key=(k,),
                    analysis=analysis,
                )
                analytic = (
                    ancova_power(n * (1 - model.missing_post), difference, model.residual_sd, level)
                    if difference != 0
                    else level
                )
                rows.append(
                    {
                        "endpoint": name,
                        "n_per_arm": int(n),
                        "effect_multiplier": float(multiplier),
                        "difference": difference,
                        "effect": targets[name].readable(difference),
                        "scale": targets[name].scale,
                        "multiplicity": multiplicity,
                        "alpha_per_endpoint": level,
                        "n_trials": n_trials,
                        "power_simulated": power,
                        "power_mc_se": se,
                        "power_analytic": analytic,
                    }
                )
    return pd.DataFrame(rows, columns=GRID_COLUMNS)
