"""Power curves for planning the next trial, one panel per primary endpoint.

Input: the grid of :func:`tme.planning.power_grid` (``planning_power_grid.tsv``) and, optionally,
the planning table (``planning.tsv``). Per endpoint, power against patients randomised per arm,
one colour per effect (labelled in the target's units: a fold change for log-scale endpoints);
lines: analytic power (exact ANCOVA at the conservative per-endpoint level, expected pairs);
points with bars: simulated power ± 2 Monte Carlo SE (the family's actual procedure, so with Holm
or Hochberg the points sit above the lines once other endpoints are rejected too). The target
effect's curve is black and thicker; with the table, the target power (dashed) and the
recommended randomised size (dotted) are marked.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from tme.plots.style import NEUTRAL, OKABE_ITO, empty_figure, label, theme, tight_layout

#: Colours of the other effects (yellow is too pale for thin lines); the target's curve is black.
EFFECT_COLOURS = tuple(
    OKABE_ITO[c] for c in ("sky_blue", "bluish_green", "orange", "reddish_purple", "blue", "vermillion")
)


def _effect_label(row: pd.Series) -> str:
    marker = " (target)" if np.isclose(row["effect_multiplier"], 1.0) else ""
    if str(row["scale"]) == "difference":
        return f"difference {row['effect']:.3g}{marker}".replace("-", "−")
    return f"{row['effect']:.3g}-fold{marker}"


def _panel(ax, sub: pd.DataFrame, plan: pd.Series | None) -> None:
    others = 0
    for multiplier, curve in sub.groupby("effect_multiplier", sort=True):
        curve = curve.sort_values("n_per_arm")
        target = np.isclose(multiplier, 1.0)
        colour = OKABE_ITO["black"] if target else EFFECT_COLOURS[others % len(EFFECT_COLOURS)]
        others += 0 if target else 1
        ax.plot(
            curve["n_per_arm"],
            curve["power_analytic"],
            color=colour,
            lw=2.2 if target else 1.1,
            label=label(_effect_label(curve.iloc[0]), 30),
        )
        ax.errorbar(
            curve["n_per_arm"],
            curve["power_simulated"],
            yerr=2 * curve["power_mc_se"],
            fmt="o",
            ms=3,
            color=colour,
            elinewidth=0.8,
            capsize=1.5,
        )
    if plan is not None:
        ax.axhline(plan["power"], color=NEUTRAL, ls="--", lw=0.8)
        ax.axvline(plan["n_per_arm"], color=NEUTRAL, ls=":", lw=0.9)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("patients randomised per arm", fontsize=7.5)
    ax.set_ylabel("power", fontsize=7.5)
    ax.legend(fontsize=6.5, loc="lower right", title="effect", title_fontsize=6.5)


def plot_power_curves(grid: pd.DataFrame, table: pd.DataFrame | None = None, ncols: int = 3):
    """Power curves per endpoint (module docstring); returns a matplotlib Figure."""
    if grid is None or grid.empty:
        return empty_figure(
            "No planning grid: set planning targets for the primary endpoints.", "Planning the next trial"
        )
    endpoints = list(dict.fromkeys(grid["endpoint"].astype(str)))
    plans = {} if table is None else {str(r["endpoint"]): r for _, r in table.iterrows()}
    ncols = min(ncols, len(endpoints))
    nrows = int(np.ceil(len(endpoints) / ncols))
    with theme():
        fig, axes = plt.subplots(nrows, ncols, figsize=(3.6 * ncols, 3.2 * nrows + 0.6), squeeze=False)
        for ax in axes.flat[len(endpoints) :]:
            ax.axis("off")
        for ax, endpoint in zip(axes.flat, endpoints):
            sub = grid[grid["endpoint"].astype(str) == endpoint]
            plan = plans.get(endpoint)
            _panel(ax, sub, plan)
            size = "" if plan is None else f"\nrandomise {int(plan['n_per_arm'])} per arm (dotted)"
            ax.set_title(label(endpoint, 40) + size, fontsize=9)
        first = grid.iloc[0]
        fig.suptitle(
            label(
                f"Power of the primary ANCOVA ({first['multiplicity']} over {len(endpoints)} endpoint(s)); "
                f"lines: analytic at per-endpoint α = {first['alpha_per_endpoint']:.3g}; points: "
                f"{int(first['n_trials'])} simulated trials ± 2 MC SE with the family's procedure",
                150,
                lines=2,
            ),
            fontsize=8.5,
        )
        tight_layout(fig)
    return fig
