"""Power curves for planning the next trial, one panel per primary endpoint.

Input: the grid of :func:`tme.planning.power_grid` (``planning_power_grid.tsv``) and, optionally,
the planning table (``planning.tsv``). Per endpoint, power against patients randomised per arm,
one colour per effect (labelled in the target's units: a fold change for log-scale endpoints);
lines: analytic power (exact ANCOVA at the conservative per-endpoint level, expected pairs);
points with bars: simulated power ± 2 Monte Carlo SE (the family's actual procedure). The target
effect's curve is drawn thicker; with the table, the target power (dashed) and the recommended
randomised size (dotted) are marked.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from tme.plots.style import CATEGORY_COLOURS, NEUTRAL, empty_figure, label, theme


def _effect_label(row: pd.Series) -> str:
    marker = " (target)" if np.isclose(row["effect_multiplier"], 1.0) else ""
    if str(row["unit"]) == "difference":
        return f"difference {row['effect']:.3g}{marker}".replace("-", "−")
    return f"{row['effect']:.3g}-fold{marker}"


def _panel(ax, sub: pd.DataFrame, plan: pd.Series | None) -> None:
    for i, (multiplier, curve) in enumerate(sub.groupby("effect_multiplier", sort=True)):
        curve = curve.sort_values("n_per_arm")
        colour = CATEGORY_COLOURS[i % len(CATEGORY_COLOURS)]
        target = np.isclose(multiplier, 1.0)
        ax.plot(curve["n_per_arm"], curve["power_analytic"], color=colour, lw=2.2 if target else 1.1,
                label=label(_effect_label(curve.iloc[0]), 30))
        ax.errorbar(curve["n_per_arm"], curve["power_simulated"], yerr=2 * curve["power_mc_se"], fmt="o", ms=3,
                    color=colour, elinewidth=0.8, capsize=1.5)
    if plan is not None:
        ax.axhline(plan["power"], color=NEUTRAL, ls="--", lw=0.8)
        ax.axvline(plan["n_per_arm"], color=NEUTRAL, ls=":", lw=0.9)
        ax.text(plan["n_per_arm"], 0.02, f" n = {int(plan['n_per_arm'])}", fontsize=6.5, color=NEUTRAL)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("patients randomised per arm", fontsize=7.5)
    ax.set_ylabel("power", fontsize=7.5)
    ax.legend(fontsize=6.5, loc="lower right", title="effect", title_fontsize=6.5)


def plot_power_curves(grid: pd.DataFrame, table: pd.DataFrame | None = None, ncols: int = 3):
    """Power curves per endpoint (module docstring); returns a matplotlib Figure."""
    if grid is None or grid.empty:
        return empty_figure("No planning grid: set planning targets for the primary endpoints.",
                            "Planning the next trial")
    endpoints = list(dict.fromkeys(grid["endpoint"].astype(str)))
    plans = {} if table is None else {str(r["endpoint"]): r for _, r in table.iterrows()}
    ncols = min(ncols, len(endpoints))
    nrows = int(np.ceil(len(endpoints) / ncols))
    with theme():
        fig, axes = plt.subplots(nrows, ncols, figsize=(3.6 * ncols, 3.2 * nrows + 0.6), squeeze=False)
        for ax in axes.flat[len(endpoints):]:
            ax.axis("off")
        for ax, endpoint in zip(axes.flat, endpoints):
            sub = grid[grid["endpoint"].astype(str) == endpoint]
            _panel(ax, sub, plans.get(endpoint))
            ax.set_title(label(endpoint, 40), fontsize=9)
        first = grid.iloc[0]
        fig.suptitle(label(f"Power of the primary ANCOVA ({first['multiplicity']} over {len(endpoints)} endpoint(s)); "
                           f"lines: analytic at per-endpoint α = {first['alpha_per_endpoint']:.3g}; points: "
                           f"{int(first['n_trials'])} simulated trials ± 2 MC SE", 150, lines=2), fontsize=8.5)
        fig.tight_layout()
    return fig
