"""Immune cells: densities pre/post per arm, and agreement of expression estimates with measured cells.

Agreement pairs an expression-based estimate (a signature score) with the measured population it
should track (e.g. a macrophage signature with CD68 density) and reports Spearman's ρ over all
samples with both values.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.collections import LineCollection

from tme.plots.style import (
    NEUTRAL,
    arm_colours,
    arm_label,
    empty_figure,
    label,
    plain_log_ticks,
    theme,
    tight_layout,
    timepoint_count_ticks,
)

#: Default agreement pairs: (word in the signature name, case-insensitive, plural allowed; measure).
AGREEMENT_PAIRS = (
    ("macrophage", "CD68"),
    ("macrophage", "CD163"),
    ("tam", "CD68"),
    ("tam", "CD163"),
    ("neutrophil", "CD66b"),
    ("nk", "CD56"),
    ("cd8", "CD8"),
    ("cyt", "CD8"),
    ("tcell", "CD8"),
    ("treg", "FOXP3"),
    ("t_cell", "sTILs"),
    ("tcell", "sTILs"),
    ("til", "sTILs"),
)


def draw_paired_panel(ax, sub: pd.DataFrame, arms: Sequence[str], pre: str, post: str, log_axis: bool) -> None:
    """One panel: ``sub``'s values (``patient_id, arm, timepoint, value``) at pre and post per arm, each
    patient's pair joined, the median as a black bar; under each timepoint the patients of the arm with a
    value there, under each arm the pairs (:func:`tme.plots.style.timepoint_count_ticks`). ``log_axis``: logarithmic
    (symmetric-log when zeros are present)."""
    colours = arm_colours(arms)
    for i, arm in enumerate(arms):
        a = sub[sub["arm"] == arm]
        wide = a.pivot_table(index="patient_id", columns="timepoint", values="value", aggfunc="mean")
        x0 = 2.5 * i
        if pre in wide and post in wide:  # each patient's pair, one collection (not a line artist per patient)
            both = wide[[pre, post]].dropna()
            segments = [((x0, a), (x0 + 1, b)) for a, b in zip(both[pre], both[post])]
            ax.add_collection(LineCollection(segments, colors=colours[arm], alpha=0.35, linewidths=0.7))
        for j, tp in enumerate((pre, post)):
            v = a.loc[a["timepoint"] == tp, "value"].dropna()
            ax.scatter(np.full(len(v), x0 + j), v, s=10, color=colours[arm], linewidths=0, alpha=0.8, zorder=3)
            if len(v):
                ax.hlines(v.median(), x0 + j - 0.25, x0 + j + 0.25, color="black", lw=2, zorder=4)
    if log_axis:
        if (sub["value"].dropna() > 0).all():
            ax.set_yscale("log")
        else:  # zeros present: linear near zero, logarithmic above
            ax.set_yscale("symlog", linthresh=1)
        plain_log_ticks(ax)
    timepoint_count_ticks(ax, sub, arms, pre, post, colours, spacing=2.5, width=6, arm_fontsize=6.5)


def plot_immune_values(immune: pd.DataFrame, arms: Sequence[str], pre: str, post: str, ncols: int = 4):
    """One panel per measure: values at pre and post per arm, each patient's pair joined.

    Densities are drawn on a symmetric-log axis (zero allowed) in their measured unit. Under each
    timepoint: the patients of the arm with a value of this measure there; under each arm: the
    pairs (patients with both values, the lines).
    """
    if immune is None or immune.empty:
        return empty_figure("No immune measurements.", "Immune cells")
    immune = immune.copy()
    immune["value"] = pd.to_numeric(immune["value"], errors="coerce")
    measures = list(dict.fromkeys(immune["measure"].astype(str)))
    nrows = int(np.ceil(len(measures) / ncols))
    with theme():
        fig, axes = plt.subplots(
            nrows, min(ncols, len(measures)), figsize=(3.0 * min(ncols, len(measures)), 3.1 * nrows), squeeze=False
        )
        for ax in axes.flat[len(measures) :]:
            ax.axis("off")
        for ax, measure in zip(axes.flat, measures):
            sub = immune[immune["measure"].astype(str) == measure]
            unit = str(sub["unit"].iloc[0]).replace("mm2", "mm²")
            scale = str(sub["scale"].iloc[0]) if "scale" in sub else ""
            draw_paired_panel(ax, sub, arms, pre, post, log_axis=scale == "density" or "mm" in unit)
            ax.set_title(label(measure, 30), fontsize=9)
            ax.set_ylabel(label(f"{measure} ({unit})", 35), fontsize=7.5)
        fig.suptitle(
            "Measured immune cells per arm, pre and post (black bar: median; lines join a patient's samples)",
            fontsize=9,
        )
        tight_layout(fig)
    return fig


def agreement_pairs(
    signatures: Sequence[str],
    measures: Sequence[str],
    pairs: Sequence[tuple[str, str]] = AGREEMENT_PAIRS,
    preferred: Sequence[str] = (),
) -> list[tuple[str, str]]:
    """(signature, measure) pairs present in the data, by word match (see :data:`AGREEMENT_PAIRS`).

    Ordered round-robin over measures (every measure's first pair before any second one), the
    ``preferred`` signatures (e.g. the primary panel) first within a measure.
    """
    rank = {s: i for i, s in enumerate(preferred)}
    signatures = sorted(signatures, key=lambda s: (rank.get(s, len(rank)), list(signatures).index(s)))
    found = _matches(signatures, measures, pairs)
    by_measure: dict[str, list[tuple[str, str]]] = {}
    for pair in found:
        by_measure.setdefault(pair[1], []).append(pair)
    order = {s: i for i, s in enumerate(signatures)}
    for v in by_measure.values():
        v.sort(key=lambda pair: order[pair[0]])
    out = []
    for depth in range(max((len(v) for v in by_measure.values()), default=0)):
        out += [v[depth] for v in by_measure.values() if depth < len(v)]
    return out


def _matches(signatures, measures, pairs) -> list[tuple[str, str]]:
    out = []
    for needle, measure in pairs:
        if measure not in measures:
            continue
        pattern = re.compile(rf"_{re.escape(needle.lower())}s?_")
        for s in signatures:
            words = "_" + re.sub(r"[^a-z0-9]+", "_", s.lower()) + "_"
            if pattern.search(words) and (s, measure) not in out:
                out.append((s, measure))
    return out


def plot_agreement(
    scores: pd.DataFrame,
    immune: pd.DataFrame,
    arms: Sequence[str],
    pre: str,
    pairs: Sequence[tuple[str, str]] | None = None,
    max_pairs: int = 12,
    ncols: int = 4,
    preferred: Sequence[str] = (),
):
    """Scatter of signature score vs measured value (analysis scale), per pair, with Spearman ρ.

    Uses each signature's first method in the scores table (the library's primary method).
    """
    if scores is None or scores.empty or immune is None or immune.empty:
        return empty_figure("Agreement needs both signature scores and immune measurements.", "Agreement")
    first_method = scores.drop_duplicates("signature").set_index("signature")["method"]
    s = scores[scores["method"] == scores["signature"].map(first_method)]
    signatures = list(dict.fromkeys(s["signature"].astype(str)))
    measures = list(dict.fromkeys(immune["measure"].astype(str)))
    pairs = (
        agreement_pairs(signatures, measures, preferred=preferred)
        if pairs is None
        else [p for p in pairs if p[0] in signatures and p[1] in measures]
    )
    pairs = pairs[:max_pairs]
    if not pairs:
        return empty_figure("No signature / measured-cell pair found in the data.", "Agreement")
    colours = arm_colours(arms)
    nc = min(ncols, len(pairs))
    nrows = int(np.ceil(len(pairs) / nc))
    width, height = 3.1 * nc, 3.0 * nrows + 0.2
    with theme():
        fig, axes = plt.subplots(nrows, nc, figsize=(width, height), squeeze=False)
        # fixed margins in inches (tight_layout cost as much as drawing): title, legend, 2-line labels
        fig.subplots_adjust(
            left=0.75 / width,
            right=1 - 0.1 / width,
            top=1 - 0.45 / height,
            bottom=0.75 / height,
            wspace=0.75 / 2.2,
            hspace=0.75 / 2.2,
        )
        for ax in axes.flat[len(pairs) :]:
            ax.axis("off")
        for ax, (sig, measure) in zip(axes.flat, pairs):
            a = s[s["signature"] == sig][["sample_id", "arm", "timepoint", "score"]]
            b = immune[immune["measure"] == measure][["sample_id", "analysis_value", "transform", "unit"]]
            m = a.merge(b, on="sample_id")
            m["score"] = pd.to_numeric(m["score"], errors="coerce")
            m["analysis_value"] = pd.to_numeric(m["analysis_value"], errors="coerce")
            m = m.dropna(subset=["score", "analysis_value"])
            for arm in arms:
                for tp_pre in (True, False):
                    d = m[(m["arm"] == arm) & ((m["timepoint"] == pre) == tp_pre)]
                    ax.scatter(
                        d["analysis_value"],
                        d["score"],
                        s=12,
                        linewidths=0.8,
                        facecolors="white" if tp_pre else colours[arm],
                        edgecolors=colours[arm],
                    )
            if len(m) >= 3 and m["score"].nunique() > 1 and m["analysis_value"].nunique() > 1:
                rho = spearman_rho(m["analysis_value"], m["score"])
                ax.text(
                    0.03,
                    0.97,
                    f"Spearman ρ = {rho:.2f}\nn = {len(m)} samples",
                    transform=ax.transAxes,
                    va="top",
                    fontsize=7,
                )
            t = str(m["transform"].iloc[0]) if len(m) else "none"
            unit = str(m["unit"].iloc[0]).replace("mm2", "mm²") if len(m) else ""
            ax.set_xlabel(
                label(f"{t}({measure}, {unit})" if t not in ("none", "") else f"{measure} ({unit})", 38), fontsize=7.5
            )
            ax.set_ylabel(label(f"{sig} score", 38, lines=2), fontsize=7)
        handles = [plt.Line2D([], [], ls="", marker="o", color=colours[a], label=arm_label(a)) for a in arms]
        handles.append(
            plt.Line2D([], [], ls="", marker="o", mfc="white", mec=NEUTRAL, label=f"{label(pre, 10)} (open)")
        )
        fig.legend(handles=handles, loc="lower center", ncol=len(handles), fontsize=7, bbox_to_anchor=(0.5, 0))
        fig.suptitle(
            "Expression-based estimates vs measured immune cells (all samples with both)",
            fontsize=9,
            y=1 - 0.1 / height,
        )
    return fig


def spearman_rho(x: pd.Series, y: pd.Series) -> float:
    """Spearman's ρ: the Pearson correlation of the mid-ranks (ties share their average rank), as
    ``scipy.stats.spearmanr`` and R's ``cor(method = "spearman")`` compute it; no p-value (the figure
    prints none), which spares the figure scipy's import time."""
    return float(np.corrcoef(x.rank().to_numpy(float), y.rank().to_numpy(float))[0, 1])
