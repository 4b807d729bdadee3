"""Multiplex IF slides: a representative patient's pre and post slides as scatters of phenotypes, and the
per-biopsy cell metrics pre and post per arm (:func:`plot_cell_metrics`).

The patient shown is chosen by :func:`representative_patient` (the treatment-arm patient whose
change in a feature is closest to the arm's median change), so the picture is typical, not
hand-picked. Large slides are subsampled (seeded, same cells on every run) to ``max_cells`` per
slide for drawing only; every number in the tables uses every cell.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from tme.plots.immune import draw_paired_panel
from tme.plots.style import CATEGORY_COLOURS, NEUTRAL, arm_label, empty_figure, label, theme, tight_layout

#: Background cell types drawn in greys under the immune cells.
BACKGROUND = {"tumour cell": "#8C8C8C", "other": "#D0D0D0"}


def representative_patient(
    values: pd.DataFrame, feature: str, arm: str, pre: str = "pre", post: str = "post"
) -> str | None:
    """Patient of ``arm`` whose post − pre change in ``feature`` is closest to the arm's median change.

    ``values`` is the paired-statistics input (``patient_id, arm, timepoint, feature, value``);
    ties go to the first patient in sorted order. ``None`` when no patient of the arm has both.
    """
    sub = values[(values["feature"] == feature) & (values["arm"] == arm)]
    wide = sub.pivot_table(index="patient_id", columns="timepoint", values="value").reindex(columns=[pre, post])
    change = (wide[post] - wide[pre]).dropna().sort_index()
    if change.empty:
        return None
    return str((change - change.median()).abs().idxmin())


def cell_type_colours(types: Sequence[str]) -> dict[str, str]:
    """Greys for tumour and other cells, then the category palette (never an arm colour) in order."""
    colours, k = {}, 0
    for t in types:
        if t in BACKGROUND:
            colours[t] = BACKGROUND[t]
        else:
            colours[t] = CATEGORY_COLOURS[k % len(CATEGORY_COLOURS)]
            k += 1
    return colours


def _draw(ax, cells: pd.DataFrame, colours: dict[str, str], max_cells: int, seed: int) -> None:
    if len(cells) > max_cells:
        cells = cells.iloc[np.sort(np.random.default_rng(seed).choice(len(cells), max_cells, replace=False))]
    for cell_type, colour in colours.items():  # background first, immune cells on top
        sub = cells[cells["cell_type"] == cell_type]
        size = 2.5 if cell_type in BACKGROUND else 7.0
        ax.scatter(
            sub["x"],
            sub["y"],
            s=size,
            color=colour,
            linewidths=0,
            rasterized=True,
            label=f"{label(cell_type, 24)} ({len(sub):,})",
        )
    ax.set_aspect("equal")
    ax.invert_yaxis()  # image coordinates: y grows downwards
    ax.set_xlabel("x (µm)")
    ax.set_ylabel("y (µm)")


def plot_slide_pair(
    pre_cells: pd.DataFrame,
    post_cells: pd.DataFrame,
    patient: str,
    arm: str,
    caption: str = "",
    types: Sequence[str] | None = None,
    max_cells: int = 20000,
    seed: int = 0,
):
    """Pre and post slides of one patient side by side, one colour per cell type.

    ``*_cells`` have columns ``x, y`` (µm) and ``cell_type`` (:func:`tme.cells.slide_cells`);
    ``types`` fixes the legend order and colours (default: the phenotype map's order is unknown
    here, so sorted names). ``caption`` (e.g. the patient's metric values) is printed under the title.
    """
    if pre_cells is None or post_cells is None or pre_cells.empty or post_cells.empty:
        return empty_figure("No slide pair to draw (a patient with both pre and post exports is needed).", "Slides")
    present = set(pre_cells["cell_type"]) | set(post_cells["cell_type"])
    types = [t for t in dict.fromkeys([*BACKGROUND, *(types or sorted(present))]) if t in present]
    colours = cell_type_colours(types)
    with theme():
        fig, axes = plt.subplots(1, 2, figsize=(10, 5.4))
        for ax, cells, when in zip(axes, (pre_cells, post_cells), ("pre", "post")):
            _draw(ax, cells, colours, max_cells, seed)
            ax.set_title(f"{when}: {len(cells):,} cells", fontsize=9)
        handles, labels = axes[1].get_legend_handles_labels()
        fig.legend(
            handles,
            [lab.split(" (")[0] for lab in labels],
            loc="lower center",
            ncol=min(4, len(labels)),
            markerscale=2.5,
            fontsize=7.5,
            bbox_to_anchor=(0.5, 0.0),
        )
        fig.suptitle(
            f"Patient {label(patient, 30)} ({arm_label(arm)})" + (f"\n{label(caption, 110)}" if caption else ""),
            fontsize=9.5,
        )
        fig.text(0.99, 0.01, f"drawn: ≤ {max_cells:,} cells per slide", ha="right", fontsize=6, color=NEUTRAL)
        tight_layout(fig, rect=(0, 0.1, 1, 1))
    return fig


#: Units of the metric table as figures write them.
UNITS = {"cells/mm2": "cells/mm²", "um": "µm", "um2": "µm²"}
#: Metrics drawn on a logarithmic axis (analysed on a log scale).
LOG_TRANSFORMS = ("log1p", "log_ratio_05")


def select_cell_features(stats: pd.DataFrame, analysis: str, max_panels: int = 9) -> list[str]:
    """Features of the cell-metric figure: the analysis plan's cell-metric endpoints (plan order), then
    for each cell-metric family (table order) its feature with the smallest p of ``analysis``.

    A display choice, not a test: every metric is in ``cell_metrics.tsv``, the statistics tables and
    the forest plot. ``stats`` is a statistics table (between-arm effects, within-arm or pooled
    changes) with ``feature, feature_type, family, role, analysis, p``.
    """
    if stats is None or stats.empty or "feature_type" not in stats:
        return []
    sub = stats[(stats["feature_type"] == "cell_metric") & (stats["analysis"] == analysis)].drop_duplicates("feature")
    role = sub["role"].fillna("") if "role" in sub else pd.Series("", index=sub.index)
    chosen = list(sub.loc[role != "", "feature"])
    rest = sub[role == ""].assign(_p=pd.to_numeric(sub["p"], errors="coerce").fillna(np.inf))
    for _, family in rest.groupby("family", sort=False):
        chosen.append(family.sort_values("_p", kind="stable")["feature"].iloc[0])
    return chosen[:max_panels]


def plot_cell_metrics(
    values: pd.DataFrame,
    features: Sequence[str],
    arms: Sequence[str],
    pre: str,
    post: str,
    annotations: dict[str, str] | None = None,
    ncols: int = 3,
):
    """One panel per cell metric: each patient's value pre → post per arm (median: black bar), in the
    metric's unit; metrics analysed on a log scale (densities, distances, ratios) on a log axis.

    ``values``: ``patient_id, arm, timepoint, feature, value, unit, transform`` (the metric table
    joined to the sample sheet); ``annotations``: feature → the line under its title (e.g. the
    primary analysis, :func:`tme.plots.paired.effect_text`).
    """
    features = [f for f in features if f in set(values["feature"])] if values is not None else []
    if not features:
        return empty_figure("No cell metrics to show.", "Cell metrics")
    annotations = annotations or {}
    ncols = min(ncols, len(features))
    nrows = int(np.ceil(len(features) / ncols))
    with theme():
        fig, axes = plt.subplots(nrows, ncols, figsize=(3.6 * ncols, 3.5 * nrows), squeeze=False)
        for ax in axes.flat[len(features) :]:
            ax.axis("off")
        for ax, feature in zip(axes.flat, features):
            sub = values[values["feature"] == feature]
            unit = UNITS.get(str(sub["unit"].iloc[0]), str(sub["unit"].iloc[0]))
            draw_paired_panel(ax, sub, arms, pre, post, log_axis=str(sub["transform"].iloc[0]) in LOG_TRANSFORMS)
            note = annotations.get(feature, "")
            ax.set_title(label(feature, 40, lines=2) + (f"\n{label(note, 52, lines=2)}" if note else ""), fontsize=7)
            ax.set_ylabel(unit, fontsize=7.5)
        fig.suptitle(
            "Cell metrics per arm, pre and post (black bar: median; lines join a patient's biopsies)", fontsize=9
        )
        tight_layout(fig)
    return fig
