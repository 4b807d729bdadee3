"""Plan the next trial from this one: every input checked first, then computed, then written.

:func:`plan_next_trial` runs the whole chain for the plan's primary family — nuisance parameters
(:func:`tme.planning.estimate_nuisance`), analytic sizes and detectable effects with simulated
power (:func:`tme.planning.planning_table`), the power-curve grid (:func:`tme.planning.power_grid`)
and the assumptions text (:func:`tme.planning.assumptions_text`) — and returns them without
writing anything; :func:`write_planning` writes them. A bad input therefore stops before any file
exists.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from tme.config import Design
from tme.errors import TmeInputError
from tme.io import atomic_path, write_tsv
from tme.planning.analytic import check_levels
from tme.planning.family import MULTIPLICITY
from tme.planning.nuisance import estimate_nuisance
from tme.planning.simulation import MAX_SIMULATED_PER_ARM, power_grid
from tme.planning.table import planning_table
from tme.planning.targets import Target, resolve_targets
from tme.planning.text import assumptions_text
from tme.planning.trials import Analysis, TrialModel, ancova_analysis


@dataclass(frozen=True)
class Planning:
    """The planning outputs: ``table`` (``planning.tsv``), ``grid`` (``planning_power_grid.tsv``),
    ``assumptions`` (Markdown)."""

    table: pd.DataFrame
    grid: pd.DataFrame
    assumptions: str


def default_n_grid(table: pd.DataFrame, points: int = 8) -> list[int]:
    """Randomised patients per arm from half the smallest to 1.5 × the largest requirement (geometric)."""
    low = max(3, math.floor(0.5 * table["n_per_arm"].min()))
    high = max(low + points, math.ceil(1.5 * max(table["n_per_arm"].max(), table["n_per_arm_design"].max())))
    high = min(high, MAX_SIMULATED_PER_ARM)
    low = min(low, high // 2)
    return sorted({int(round(x)) for x in np.geomspace(low, high, points)})


def _check_settings(
    alpha: float,
    power: float,
    multiplicity: str,
    n_trials: int,
    n_bootstrap: int,
    conf_level: float,
    sizes: Sequence[int],
) -> None:
    check_levels(alpha, power)
    if not 0.5 < conf_level < 1:
        raise TmeInputError(
            f"confidence level {conf_level} is not between 0.5 and 1", column="conf_level", fix="give e.g. 0.95"
        )
    small = [n for n in sizes if int(n) != n or n < 2]
    if small:
        raise TmeInputError(
            f"design size(s) {small} per arm are not whole numbers >= 2",
            column="n_per_arm",
            fix="give patients randomised per arm, at least 2",
        )
    if multiplicity not in MULTIPLICITY:
        raise TmeInputError(
            f"unknown multiplicity method {multiplicity!r}",
            column="multiplicity",
            fix=f"use one of {', '.join(MULTIPLICITY)}",
        )
    for name, value, least in (("n_trials", n_trials, 100), ("n_bootstrap", n_bootstrap, 100)):
        if int(value) != value or value < least:
            raise TmeInputError(f"{name} = {value} is too small", column=name, fix=f"use at least {least} (1,000+)")


def plan_next_trial(
    values: pd.DataFrame,
    design: Design,
    endpoints: Sequence[str] | Mapping[str, str],
    targets: Mapping[str, Target | Mapping],
    *,
    alpha: float = 0.05,
    power: float = 0.8,
    multiplicity: str = "holm",
    n_per_arm: int | None = None,
    n_grid: Sequence[int] | None = None,
    effect_multipliers: Sequence[float] = (0.5, 0.75, 1.0, 1.25, 1.5),
    n_trials: int = 1000,
    n_bootstrap: int = 2000,
    seed: int = 0,
    conf_level: float = 0.95,
    priors: Mapping[str, Mapping[str, float]] | None = None,
    missing_slope: float = 0.0,
    n_covariates: int = 1,
    analysis: Analysis = ancova_analysis,
) -> Planning:
    """Planning outputs for the primary family ``endpoints`` (plan order) of a finished trial.

    ``values``: tme's long table (``patient_id, arm, timepoint, feature, value``); ``endpoints``:
    the primary family, names of features or endpoint → feature; ``targets``: endpoint → target
    effect (:class:`Target` or ``{effect, scale}``). The other arguments are described in
    :func:`estimate_nuisance`, :func:`planning_table` and :func:`power_grid`. Nothing is written.
    """
    if design.blinded:
        raise TmeInputError(
            "planning from the trial's effects needs arm labels, but the configuration is blinded",
            column="blinded",
            fix="run the planning after unblinding, or use blinded_reestimate for a blinded sample-size re-estimation",
        )
    _check_settings(
        alpha,
        power,
        multiplicity,
        n_trials,
        n_bootstrap,
        conf_level,
        [*(n_grid or []), *([] if n_per_arm is None else [n_per_arm])],
    )
    names = list(endpoints)
    resolved = resolve_targets(names, targets)
    nuisance = estimate_nuisance(values, design, endpoints, n_bootstrap, seed, conf_level, priors)
    table = planning_table(
        nuisance,
        resolved,
        alpha=alpha,
        power=power,
        multiplicity=multiplicity,
        n_per_arm=n_per_arm,
        n_trials=n_trials,
        seed=seed,
        analysis=analysis,
        missing_slope=missing_slope,
        n_covariates=n_covariates,
    )
    models = {r["endpoint"]: TrialModel.from_row(r, missing_slope) for _, r in nuisance.iterrows()}
    grid = power_grid(
        models,
        resolved,
        n_grid or default_n_grid(table),
        effect_multipliers,
        n_trials=n_trials,
        alpha=alpha,
        multiplicity=multiplicity,
        seed=seed,
        analysis=analysis,
    )
    return Planning(table, grid, assumptions_text(table, conf_level))


def write_planning(
    planning: Planning, table_path: str | os.PathLike, grid_path: str | os.PathLike, assumptions_path: str | os.PathLike
) -> list[Path]:
    """Write the table and grid (:func:`tme.io.write_tsv`) and the assumptions (UTF-8 Markdown), atomically."""
    write_tsv(planning.table, table_path)
    write_tsv(planning.grid, grid_path)
    with atomic_path(assumptions_path) as tmp:
        tmp.write_text(planning.assumptions, encoding="utf-8")
    return [Path(table_path), Path(grid_path), Path(assumptions_path)]
