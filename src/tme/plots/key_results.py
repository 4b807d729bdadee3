"""The compact forest plot of the key results: primary and key secondary endpoints, one axis.

Endpoints on different scales (a singscore difference of −0.09, an ssGSEA one of −190, a log
density ratio) share one axis through the standardised effect: the difference in change divided
by the pooled baseline SD of the endpoint (``std_effect`` of :mod:`tme.stats.effects`). Rows in
plan order, primary first; filled diamonds where the adjusted p is below the significance level.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from tme.plots.style import NEUTRAL, OKABE_ITO, arm_label, ci_label, empty_figure, label, theme, tight_layout
from tme.report.key_results import ROLES, Trial, confirmatory_rows


def plot_key_forest(effects: pd.DataFrame, trial: Trial):
    """Standardised effect with CI of each confirmatory endpoint (module docstring)."""
    rows = confirmatory_rows(effects)
    if rows.empty:
        return empty_figure("The analysis plan names no primary or key secondary endpoint.", "Key results")
    n = len(rows)
    y = np.arange(n)[::-1].astype(float)
    est = pd.to_numeric(rows["std_effect"], errors="coerce").to_numpy()
    low = pd.to_numeric(rows["std_effect_ci_low"], errors="coerce").to_numpy()
    high = pd.to_numeric(rows["std_effect_ci_high"], errors="coerce").to_numpy()
    ok = np.isfinite(est)
    sig = ok & (pd.to_numeric(rows["p_adjusted"], errors="coerce").to_numpy() < trial.alpha)
    names = [label(d if isinstance(d, str) and d else f, 44) for d, f in zip(rows["display_name"], rows["feature"])]
    with theme():
        fig, ax = plt.subplots(figsize=(7.2, 0.32 * n + 1.3))
        ax.hlines(y[ok], low[ok], high[ok], color=NEUTRAL, lw=1.4)
        ax.scatter(
            est[ok & ~sig],
            y[ok & ~sig],
            marker="s",
            s=30,
            color=OKABE_ITO["blue"],
            zorder=3,
            label=f"adjusted p ≥ {trial.alpha:.3g}",
        )
        ax.scatter(
            est[sig],
            y[sig],
            marker="D",
            s=36,
            color=OKABE_ITO["vermillion"],
            zorder=3,
            label=f"adjusted p < {trial.alpha:.3g}",
        )
        for yi in y[~ok]:
            ax.text(
                0.01,
                yi,
                "not estimable",
                transform=ax.get_yaxis_transform(),
                va="center",
                fontsize=7,
                color=NEUTRAL,
                style="italic",
            )
        ax.axvline(0, color="black", lw=0.8, ls="--")
        roles = rows["role"].to_numpy()
        for i in range(1, n):  # a rule between the primary and the key secondary endpoints
            if roles[i] != roles[i - 1]:
                ax.axhline(y[i] + 0.5, color="#BBBBBB", lw=0.8)
        ax.set_yticks(y, [f"{name}  ({ROLES[r]})" for name, r in zip(names, roles)], fontsize=8)
        ax.set_ylim(-0.7, n - 0.3)
        contrast = f"{arm_label(trial.treatment_arm)} − {arm_label(trial.reference_arm)}"
        ax.set_xlabel(f"Standardised difference in change, {contrast} (baseline SDs; {ci_label(trial.conf_level)})")
        ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=2, fontsize=7.5)
        tight_layout(fig)
    return fig
