"""Expression QC: library sizes, detected genes and a PCA joining each patient's pre → post samples.

The PCA itself (log2 CPM + 1 of the usable samples, the most variable genes centred, exact SVD) is
computed where the expression data are read, :func:`tme.expression.expression_pca`, and written as
``results/qc/expression_pca.tsv``; the figure draws that table.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.lines import Line2D

from tme.plots.style import (
    NEUTRAL,
    arm_colours,
    arm_label,
    category_colours,
    empty_figure,
    label,
    plain_log_ticks,
    theme,
    tight_layout,
)


def _is_excluded(reason: pd.Series) -> pd.Series:
    r = reason.fillna("").astype(str).str.strip()
    return ~r.isin(["", "NA", "nan"])


def _arm_order(values: Sequence[str], arms: Sequence[str] | None) -> list[str]:
    present = list(dict.fromkeys(map(str, values)))
    arms = list(arms or [])
    return [a for a in arms if a in present] + sorted(a for a in present if a not in arms)


def _timepoint_order(values, timepoints: Sequence[str] | None) -> list[str]:
    present = list(dict.fromkeys(map(str, values)))
    timepoints = list(timepoints or [])
    return [t for t in timepoints if t in present] + sorted(t for t in present if t not in timepoints)


def plot_expression_qc(
    qc: pd.DataFrame,
    arms: Sequence[str] | None = None,
    timepoints: Sequence[str] | None = None,
    min_library_size: float | None = None,
):
    """Library size (millions of reads, log axis) and detected genes per sample, by arm × timepoint;
    for TPM or normalised data (no counts), the median log2 expression per sample.

    Excluded samples are drawn as crosses (reason in ``expression_qc.tsv``); the library-size
    threshold, when given, as a dashed line.
    """
    if qc.empty:
        return empty_figure("No samples in the expression QC table.", "Expression QC")
    qc = qc.copy()
    qc["excluded"] = _is_excluded(qc.get("exclude_reason", pd.Series("", index=qc.index)))
    arm_order = _arm_order(qc["arm"], arms)
    tp_order = _timepoint_order(qc["timepoint"], timepoints)
    colours = arm_colours(arm_order)
    groups = [(a, t) for a in arm_order for t in tp_order]
    if "library_size" in qc.columns:  # count data
        panels = [("library_size", "Library size (million reads)"), ("detected_genes", "Detected genes (count > 0)")]
    else:  # TPM or normalised values: no library size
        panels, min_library_size = [("median_log2_expression", "Median log2 expression")], None
    with theme():
        fig, axes = plt.subplots(1, len(panels), figsize=(max(7.5, 1.3 * len(groups) * 2), 3.6), squeeze=False)
        for ax, (column, ylabel) in zip(axes[0], panels):
            for i, (arm, tp) in enumerate(groups):
                sub = qc[(qc["arm"].astype(str) == arm) & (qc["timepoint"].astype(str) == tp)]
                y = pd.to_numeric(sub[column], errors="coerce") / (1e6 if column == "library_size" else 1)
                x = i + np.linspace(-0.25, 0.25, len(sub)) if len(sub) > 1 else np.full(len(sub), float(i))
                ok = ~sub["excluded"].to_numpy()
                ax.scatter(
                    x[ok],
                    y[ok],
                    s=14,
                    color=colours[arm],
                    alpha=0.85,
                    linewidths=0,
                    marker="o" if tp == (tp_order[0] if tp_order else tp) else "s",
                )
                ax.scatter(x[~ok], y[~ok], s=30, color="black", marker="x", linewidths=1.2)
            if column == "library_size":
                ax.set_yscale("log")
                plain_log_ticks(ax)
                if min_library_size:
                    ax.axhline(min_library_size / 1e6, ls="--", lw=0.8, color=NEUTRAL)
            ax.set_xticks(range(len(groups)), [f"{arm_label(a)}\n{label(t, 12)}" for a, t in groups], fontsize=8)
            ax.set_ylabel(ylabel)
        handles = [Line2D([], [], ls="", marker="x", color="black", label="excluded sample")]
        if min_library_size:
            handles.append(
                Line2D([], [], ls="--", color=NEUTRAL, label=f"minimum library size ({min_library_size:,.0f})")
            )
        fig.legend(handles=handles, loc="lower center", ncol=len(handles), fontsize=7, bbox_to_anchor=(0.5, -0.04))
        n = qc.groupby("arm")["sample_id"].nunique()
        fig.suptitle(
            "Expression QC: " + ", ".join(f"{arm_label(a)} {int(n.get(a, 0))} samples" for a in arm_order), fontsize=10
        )
        tight_layout(fig)
    return fig


def plot_pca(
    pca: pd.DataFrame,
    arms: Sequence[str] | None = None,
    timepoints: Sequence[str] | None = None,
    colour_by: Sequence[str] = ("arm", "timepoint", "batch"),
):
    """The expression PCA (:func:`tme.expression.expression_pca`: one row per usable sample) in panels
    coloured by arm, timepoint and batch (when present).

    Each patient's samples are joined by a thin line in pre → post order; pre samples are open
    circles, post samples filled.
    """
    obs = pca.reset_index(drop=True).copy()
    for column in obs.columns:  # identifiers as plain strings, whatever the table's types
        if not pd.api.types.is_numeric_dtype(obs[column]):
            obs[column] = obs[column].astype(str)
    if len(obs) < 3:
        return empty_figure("Fewer than 3 usable samples: no PCA.", "Expression PCA")
    explained = obs.loc[0, ["PC1_variance_explained", "PC2_variance_explained"]].to_numpy(float)
    colour_by = [c for c in colour_by if c in obs and obs[c].notna().any()]
    tp_order = _timepoint_order(obs["timepoint"], timepoints)
    first_tp = tp_order[0] if tp_order else None
    arm_order = _arm_order(obs["arm"], arms)
    with theme():
        fig, axes = plt.subplots(1, len(colour_by), figsize=(3.9 * len(colour_by), 3.8), squeeze=False)
        for ax, by in zip(axes[0], colour_by):
            if by == "arm":
                colours = arm_colours(arm_order)
            elif by == "timepoint":
                colours = {t: c for t, c in zip(tp_order, ("#999999", "#000000", "#E69F00", "#56B4E9"))}
            else:
                colours = category_colours(obs[by].astype(str))
            order = {t: i for i, t in enumerate(tp_order)}
            for _, patient in obs.groupby("patient_id", sort=True):
                patient = patient.sort_values("timepoint", key=lambda s: s.map(order))
                if len(patient) > 1:
                    ax.plot(patient["PC1"], patient["PC2"], color="#BBBBBB", lw=0.6, zorder=1)
            for value, colour in colours.items():
                sub = obs[obs[by].astype(str) == value]
                pre = sub["timepoint"].astype(str) == first_tp
                ax.scatter(
                    sub.loc[pre, "PC1"],
                    sub.loc[pre, "PC2"],
                    s=22,
                    facecolors="white",
                    edgecolors=colour,
                    linewidths=1.2,
                    zorder=2,
                )
                ax.scatter(sub.loc[~pre, "PC1"], sub.loc[~pre, "PC2"], s=22, color=colour, zorder=3, linewidths=0)
            handles = [
                Line2D([], [], ls="", marker="o", color=c, label=arm_label(v) if by == "arm" else label(v, 20))
                for v, c in list(colours.items())[:10]
            ]
            if by == "arm":
                handles += [
                    Line2D([], [], ls="", marker="o", mfc="white", mec=NEUTRAL, label=f"{label(first_tp, 12)} (open)"),
                    Line2D([], [], color="#BBBBBB", lw=0.6, label="same patient"),
                ]
            ax.legend(handles=handles, fontsize=7, loc="best", title=label(by, 20), title_fontsize=7)
            ax.set_xlabel(f"PC1 ({100 * explained[0]:.1f}% of variance)")
            ax.set_ylabel(f"PC2 ({100 * explained[1]:.1f}% of variance)" if np.isfinite(explained[1]) else "PC2")
            ax.set_title(f"coloured by {label(by, 20)}")
        fig.suptitle(
            f"PCA of log2 CPM+1, {int(obs.loc[0, 'n_genes'])} most variable genes, {len(obs)} usable samples",
            fontsize=10,
        )
        tight_layout(fig)
    return fig
