"""Figures of the sensitivity analyses: the tipping point per endpoint, residual diagnostics.

* :func:`plot_tipping_point`: the delta-adjusted MI estimate with its CI (band) against the shift
  ``delta`` of the imputed treatment-arm post values (bottom axis in the endpoint's units, top axis
  in baseline SDs), the line of no effect, the tipping point and the ``delta`` range where the
  conclusion differs from the one under MAR (shaded).
* :func:`plot_residual_diagnostics`: one row per endpoint — residuals against fitted values by
  arm, a normal Q–Q plot of the residuals (Shapiro–Wilk p), and Cook's distance per patient with
  the 4/n line and the influential patients named.

Inputs are the tidy tables of :mod:`tme.stats.sensitivity` and :mod:`tme.stats.diagnostics`;
:func:`tipping_point_figures` and :func:`residual_figures` turn the workflow's tables
(``tipping_point_grid.tsv`` + ``sensitivity.tsv``; ``residuals.tsv`` + ``residual_diagnostics.tsv``)
into the report's series of figures, titled with the endpoints' display names.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from statistics import NormalDist

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from tme.plots.style import (
    MISSING,
    NEUTRAL,
    OKABE_ITO,
    arm_colours,
    arm_label,
    ci_label,
    empty_figure,
    format_p,
    label,
    theme,
    tight_layout,
)


def plot_tipping_point(
    grid: pd.DataFrame,
    tipping_delta: float = np.nan,
    feature: str = "",
    unit: str = "",
    conf_level: float = 0.95,
    arms: Sequence[str] = ("reference", "treatment"),
):
    """Tipping-point figure of one endpoint from its ``tipping_grid`` rows.

    ``tipping_delta``: the ``tipping_point`` row's ``tipping_delta`` (NaN: none on the grid);
    ``feature``: the name in the title (the endpoint's display name); ``unit``: the endpoint's
    analysis scale, for the axis labels; ``arms``: reference and treatment, for the contrast.
    """
    grid = grid.sort_values("delta") if grid is not None else grid
    if grid is None or grid.empty or grid["estimate"].isna().all():
        return empty_figure("No tipping-point analysis (no imputation possible).", f"Tipping point: {feature}")
    scale = f" ({label(unit, 30)})" if unit else ""
    delta, est = grid["delta"].to_numpy(float), grid["estimate"].to_numpy(float)
    with theme():
        fig, ax = plt.subplots(figsize=(6.2, 3.6))
        at_zero = bool(grid.loc[grid["delta"] == 0, "significant"].iloc[0])
        differs = grid["significant"].to_numpy(bool) != at_zero
        ax.fill_between(
            delta,
            0,
            1,
            where=differs,
            transform=ax.get_xaxis_transform(),
            color=MISSING,
            step="mid",
            label="conclusion differs from MAR",
        )
        ax.fill_between(
            delta, grid["ci_low"], grid["ci_high"], color=OKABE_ITO["sky_blue"], alpha=0.35, label=ci_label(conf_level)
        )
        ax.plot(delta, est, color="black", lw=1.5, label="pooled estimate")  # arm colours mean arms only
        ax.axhline(0, color="black", lw=0.8, ls="--")
        ax.axvline(0, color=NEUTRAL, lw=0.6, ls=":")
        if np.isfinite(tipping_delta):
            ax.axvline(
                tipping_delta, color=OKABE_ITO["reddish_purple"], lw=1.4, label=f"tipping point δ = {tipping_delta:.3g}"
            )
        sd = grid["delta_sd"].to_numpy(float) if "delta_sd" in grid else None
        if sd is not None and np.isfinite(sd).any() and np.any(delta != 0):
            k = np.nanmedian(sd[delta != 0] / delta[delta != 0])
            top = ax.secondary_xaxis("top", functions=(lambda d: d * k, lambda s: s / k))
            top.set_xlabel("δ in baseline SDs", fontsize=7.5)
            top.tick_params(labelsize=7)
        treatment, reference = arm_label(arms[-1]), arm_label(arms[0])
        ax.set_xlabel(f"δ: shift of the imputed {treatment} post values{scale}", fontsize=7.5)
        ax.set_ylabel(f"Difference, {treatment} − {reference}{scale}", fontsize=7.5)
        ax.tick_params(labelsize=7)
        ax.set_title(f"Tipping point: {label(feature, 50)}", loc="left", fontsize=9, fontweight="bold")
        ax.legend(fontsize=6.5, loc="best")
        tight_layout(fig)
    return fig


def _qq(ax, resid: np.ndarray, colours: np.ndarray) -> None:
    """Normal Q–Q plot with R's ``ppoints`` positions and the line through the quartiles."""
    ppf = np.vectorize(NormalDist().inv_cdf)  # the stdlib's: spares the figure scipy's import time
    n = len(resid)
    a = 3 / 8 if n <= 10 else 0.5
    theoretical = ppf((np.arange(1, n + 1) - a) / (n + 1 - 2 * a))
    order = np.argsort(resid, kind="stable")
    ax.scatter(theoretical, resid[order], s=12, c=colours[order], zorder=3)
    q_resid = np.quantile(resid, [0.25, 0.75])
    q_norm = ppf([0.25, 0.75])
    slope = (q_resid[1] - q_resid[0]) / (q_norm[1] - q_norm[0])
    ax.axline((q_norm[0], q_resid[0]), slope=slope, color=NEUTRAL, lw=0.8)


def _feature_row(axes, resid: pd.DataFrame, checks: pd.DataFrame, colours: dict, arms: Sequence[str]) -> None:
    check = checks.set_index("check")
    colour = np.array([colours[arms[int(t)]] for t in resid["treated"]])
    r, fitted = resid["residual"].to_numpy(float), resid["fitted"].to_numpy(float)
    axes[0].scatter(fitted, r, s=12, c=colour, zorder=3)
    axes[0].axhline(0, color=NEUTRAL, lw=0.8, ls="--")
    inter = check.loc["arm_x_baseline"] if "arm_x_baseline" in check.index else None
    name = resid["display_name"].iloc[0] if "display_name" in resid else ""
    name = name if isinstance(name, str) and name.strip() else resid["feature"].iloc[0]
    axes[0].set_title(
        f"{label(name, 40)}\narm × baseline {format_p(inter['p'] if inter is not None else np.nan, 'p')}",
        loc="left",
        fontsize=8,
    )
    axes[0].set_xlabel("fitted post value", fontsize=7)
    axes[0].set_ylabel("residual", fontsize=7)
    _qq(axes[1], r, colour)
    sw = check.loc["shapiro_wilk", "p"] if "shapiro_wilk" in check.index else np.nan
    axes[1].set_title(f"normal Q–Q, Shapiro–Wilk {format_p(sw, 'p')}", loc="left", fontsize=8)
    axes[1].set_xlabel("normal quantile", fontsize=7)
    d = resid["cooks_distance"].to_numpy(float)
    x = np.arange(len(d))
    axes[2].vlines(x, 0, np.nan_to_num(d), color=colour, lw=1.5)
    threshold = 4 / len(d)
    axes[2].axhline(threshold, color="black", lw=0.8, ls="--")  # not an arm colour
    for i in np.flatnonzero(resid["influential"].to_numpy(bool)):
        axes[2].annotate(
            label(resid["patient_id"].iloc[i], 12),
            (x[i], d[i]),
            fontsize=6,
            ha="center",
            va="bottom",
            xytext=(0, 2),
            textcoords="offset points",
        )
    axes[2].set_title(f"Cook's distance (line: 4/n = {threshold:.2g})", loc="left", fontsize=8)
    axes[2].set_xticks([])
    axes[2].set_xlabel("patients", fontsize=7)
    for ax in axes:
        ax.tick_params(labelsize=6.5)


def plot_residual_diagnostics(
    residuals: pd.DataFrame, checks: pd.DataFrame, arms: Sequence[str] = ("reference", "treatment")
):
    """Residual diagnostics of the primary ANCOVA, one row of three panels per endpoint.

    ``residuals`` and ``checks`` are the two tables of
    :func:`tme.stats.diagnostics.residual_diagnostics`, concatenated over endpoints.
    """
    if residuals is None or residuals.empty or residuals["residual"].isna().all():
        return empty_figure("No residual diagnostics (no endpoint could be fitted).", "ANCOVA residual diagnostics")
    features = [
        f
        for f in dict.fromkeys(residuals["feature"])
        if residuals.loc[residuals["feature"] == f, "residual"].notna().any()
    ]
    colours = arm_colours(list(arms))
    n = len(features)
    # fixed layout in inches (tight_layout was a third of the rule's time): header, rows of
    # 1.75 in axes with 0.85 in between for the next row's two-line titles and this row's labels
    width, height = 9.5, 0.8 + 1.75 * n + 0.85 * (n - 1) + 0.45
    with theme():
        fig, axes = plt.subplots(n, 3, figsize=(width, height), squeeze=False)
        fig.subplots_adjust(
            left=0.6 / width,
            right=1 - 0.15 / width,
            top=1 - 0.8 / height,
            bottom=0.45 / height,
            wspace=0.3,
            hspace=0.85 / 1.75,
        )
        for row, feature in zip(axes, features):
            _feature_row(
                row, residuals[residuals["feature"] == feature], checks[checks["feature"] == feature], colours, arms
            )
        handles = [plt.Line2D([], [], marker="o", ls="", color=colours[a], label=arm_label(a)) for a in arms]
        top = 1 - 0.12 / height
        fig.legend(handles=handles, loc="upper right", ncol=len(arms), fontsize=7, bbox_to_anchor=(0.99, top))
        fig.suptitle(
            "ANCOVA residual diagnostics (post ~ pre + arm + covariates)",
            x=0.01,
            y=top,
            ha="left",
            va="top",
            fontsize=9,
        )
    return fig


def confirmatory(table: pd.DataFrame, roles: Sequence[str] = ("primary",)) -> pd.DataFrame:
    """The rows of endpoints whose ``role`` is in ``roles`` (the issue's "per primary endpoint");
    the whole table when it has no such rows (no ``role`` column, or a plan without them)."""
    if "role" not in table:
        return table
    chosen = table[table["role"].astype(str).isin(roles)]
    return chosen if len(chosen) else table


def tipping_point_figures(
    grid: pd.DataFrame,
    sensitivity: pd.DataFrame,
    arms: Sequence[str],
    conf_level: float = 0.95,
    roles: Sequence[str] = ("primary",),
) -> Iterator[tuple[str, object]]:
    """``(stem, figure)`` per endpoint of ``tipping_point_grid.tsv`` whose role is in ``roles``
    (:func:`confirmatory`), in the table's (the plan's) order.

    The tipping δ is the endpoint's ``tipping_point`` row of ``sensitivity.tsv``; stems sort in
    drawing order (``01_il1_induced``); ``00_none`` says why when the grid is empty.
    """
    from tme.plots.data import file_stems

    rows = sensitivity[sensitivity["analysis"] == "tipping_point"].drop_duplicates("endpoint")
    deltas = pd.to_numeric(rows.set_index("endpoint")["tipping_delta"], errors="coerce")
    endpoints = list(dict.fromkeys(confirmatory(grid, roles)["endpoint"]))
    if not endpoints:  # the report still gets a page saying why
        yield "00_none", empty_figure("No tipping-point analysis in this run (no primary endpoint).", "Tipping point")
        return
    stems = file_stems(str(e) for e in endpoints)
    for rank, endpoint in enumerate(endpoints, start=1):
        sub = grid[grid["endpoint"] == endpoint]
        first = sub.iloc[0]
        name = str(first.get("display_name") or "") or str(first["feature"])
        unit = "" if pd.isna(first.get("unit")) else str(first.get("unit"))
        fig = plot_tipping_point(sub, float(deltas.get(endpoint, np.nan)), name, unit, conf_level, arms)
        yield f"{rank:02d}_{stems[str(endpoint)]}", fig


def residual_figures(
    residuals: pd.DataFrame,
    checks: pd.DataFrame,
    arms: Sequence[str],
    per_page: int = 3,
    roles: Sequence[str] = ("primary",),
) -> Iterator[tuple[str, object]]:
    """``(stem, figure)`` per page of at most ``per_page`` endpoints (:func:`plot_residual_diagnostics`)
    whose role is in ``roles`` (:func:`confirmatory`), in the table's order; stems ``page_01``,
    ``page_02``, …; one page saying why when nothing was fitted."""
    endpoints = list(dict.fromkeys(confirmatory(residuals, roles)["endpoint"])) if not residuals.empty else []
    if not endpoints:
        yield "page_01", plot_residual_diagnostics(residuals, checks, arms)
        return
    for page, start in enumerate(range(0, len(endpoints), per_page), start=1):
        chosen = endpoints[start : start + per_page]
        fig = plot_residual_diagnostics(
            residuals[residuals["endpoint"].isin(chosen)], checks[checks["endpoint"].isin(chosen)], arms
        )
        yield f"page_{page:02d}", fig
