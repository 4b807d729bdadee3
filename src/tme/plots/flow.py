"""CONSORT-style sample flow per modality and arm (Schulz et al., CONSORT 2010, BMJ 2010;340:c332).

Reads the tidy ``sample_flow.tsv`` of :mod:`tme.flow`: count rows (``randomised``, ``with_pre``,
``with_post``, ``paired``) become boxes joined by arrows, ``excluded`` and ``missing`` rows become a
side box listing the sample (or patient) and the reason.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.patches import FancyBboxPatch

from tme.plots.style import NEUTRAL, arm_colours, arm_label, empty_figure, label, theme, tight_layout

STEPS = (
    ("randomised", "Randomised"),
    ("with_pre", "Usable pre-treatment sample"),
    ("with_post", "Usable post-treatment sample"),
    ("paired", "Paired (pre and post)"),
)
MAX_LISTED = 6  # exclusions listed per box; the rest are counted


def _ordered_arms(flow: pd.DataFrame, arms: Sequence[str] | None) -> list[str]:
    present = list(dict.fromkeys(flow["arm"].astype(str)))
    if arms is None:
        return present
    return [a for a in arms if a in present] + [a for a in present if a not in arms]


def _box(ax, x, y, w, h, text, edge, fill="white", fontsize=8, ha="center"):
    ax.add_patch(
        FancyBboxPatch(
            (x - w / 2, y - h / 2),
            w,
            h,
            boxstyle="round,pad=0.01,rounding_size=0.02",
            linewidth=1.2,
            edgecolor=edge,
            facecolor=fill,
        )
    )
    if ha == "center":
        ax.text(x, y, text, ha="center", va="center", fontsize=fontsize)
    else:  # a list: top-left aligned
        ax.text(x - w / 2 + 0.02, y + h / 2 - 0.02, text, ha="left", va="top", fontsize=fontsize, linespacing=1.3)


def _count(flow: pd.DataFrame, arm: str, step: str) -> str:
    rows = flow[(flow["arm"] == arm) & (flow["step"] == step)]
    if rows.empty or pd.isna(rows["n_patients"].iloc[0]):
        return "NA"
    return str(int(rows["n_patients"].iloc[0]))


def _losses(flow: pd.DataFrame, arm: str) -> str:
    rows = flow[(flow["arm"] == arm) & flow["step"].isin(["excluded", "missing"])]
    if rows.empty:
        return "No samples excluded or missing"
    lines = [f"Excluded or missing: {len(rows)} sample(s)"]
    for _, row in rows.head(MAX_LISTED).iterrows():
        who = (
            row["sample_id"]
            if str(row.get("sample_id", "") or "") not in ("", "nan")
            else f"{row['patient_id']} ({row['timepoint']})"
        )
        lines.append("• " + label(f"{who}: {row['reason']}", 60, lines=2).replace("\n", "\n   "))
    if len(rows) > MAX_LISTED:
        lines.append(f"… and {len(rows) - MAX_LISTED} more (see sample_flow.tsv)")
    return "\n".join(lines)


def plot_sample_flow(flow: pd.DataFrame, arms: Sequence[str] | None = None):
    """One panel per modality, one column of boxes per arm: randomised → pre → post → paired.

    ``arms`` in design order (reference first) fixes column order and colours.
    """
    if flow.empty:
        return empty_figure("The sample flow table is empty.", "Sample flow")
    flow = flow.copy()
    flow["step"] = flow["step"].astype(str)
    modalities = list(dict.fromkeys(flow["modality"].astype(str)))
    arm_order = _ordered_arms(flow, arms)
    colours = arm_colours(arm_order)
    n_arms = len(arm_order)
    with theme():
        fig, axes = plt.subplots(len(modalities), 1, figsize=(4.2 * n_arms + 0.4, 4.4 * len(modalities)), squeeze=False)
        for ax, modality in zip(axes[:, 0], modalities):
            sub = flow[flow["modality"].astype(str) == modality]
            ax.set_xlim(0, n_arms)
            ax.set_ylim(0, 1)
            ax.axis("off")
            ax.set_title(f"Sample flow: {label(modality, 40)}", loc="left", fontweight="bold")
            for i, arm in enumerate(arm_order):
                x0 = i + 0.5
                col = colours[arm]
                ax.text(x0, 0.97, arm_label(arm), ha="center", va="center", fontsize=10, fontweight="bold", color=col)
                ys = [0.87, 0.735, 0.6, 0.465]
                for y, (step, text) in zip(ys, STEPS):
                    _box(
                        ax,
                        x0,
                        y,
                        0.7,
                        0.09,
                        f"{text}\nn = {_count(sub, arm, step)} patients",
                        col,
                        fill="#F2F2F2" if step == "paired" else "white",
                    )
                for y_from, y_to in zip(ys[:-1], ys[1:]):
                    ax.annotate(
                        "",
                        xy=(x0, y_to + 0.05),
                        xytext=(x0, y_from - 0.05),
                        arrowprops=dict(arrowstyle="->", color=NEUTRAL, lw=1),
                    )
                _box(ax, x0, 0.19, 0.94, 0.34, _losses(sub, arm), NEUTRAL, fontsize=6.5, ha="left")
        tight_layout(fig)
    return fig
