"""Per-feature paired plots and the heatmap of within-patient changes.

* :func:`plot_feature`: left, each patient's pre → post line per arm with the arm median in black;
  right, the change (post − pre) per arm as box + points; the title carries the primary ANCOVA
  estimate (treatment − reference, 95 % CI) and its BH q-value, or "not estimable" with the reason.
* :func:`plot_change_heatmap`: patients (rows, grouped by arm) × features (columns), cell = change
  divided by the feature's SD of changes (so features on different scales share one colour scale).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from tme.plots.data import changes
from tme.plots.style import (
    MISSING,
    NEUTRAL,
    arm_colours,
    arm_label,
    empty_figure,
    format_estimate,
    format_p,
    label,
    theme,
)


def _offsets(n: int, width: float = 0.18) -> np.ndarray:
    """Deterministic horizontal spread of ``n`` points (no random jitter)."""
    if n <= 1:
        return np.zeros(n)
    return np.linspace(-width, width, n)


def effect_text(effect: Mapping | None, arms: Sequence[str]) -> str:
    """One line: ``ANCOVA anakinra − usual care: -0.52 (95% CI …), q = …`` or why it is NA."""
    if effect is None:
        return "ANCOVA: not in the statistics table"
    contrast = f"{arm_label(arms[1])} − {arm_label(arms[0])}" if len(arms) > 1 else ""
    est = pd.to_numeric(pd.Series([effect.get("estimate")]), errors="coerce").iloc[0]
    if pd.isna(est):
        note = str(effect.get("note") or "").strip() or "no reason given"
        return f"ANCOVA {contrast}: not estimable ({label(note, 70)})"
    return (
        f"ANCOVA {contrast}: {format_estimate(est, effect.get('ci_low'), effect.get('ci_high'))}, "
        f"{format_p(effect.get('p_adjusted'), _adjusted_name(effect))}"
    )


def _adjusted_name(row: Mapping) -> str:
    """``adj. p (holm)``: the adjusted p-value named with its procedure."""
    method = str(row.get("multiplicity") or "").strip()
    return f"adj. p ({method})" if method and method != "nan" else "adj. p"


def change_text(change: Mapping | None, label_: str = "Pooled change") -> str:
    """One line for a within-group row (``changes_within_arm`` / ``changes_pooled``): estimate, CI, q."""
    if change is None:
        return f"{label_}: not in the statistics table"
    est = pd.to_numeric(pd.Series([change.get("estimate")]), errors="coerce").iloc[0]
    if pd.isna(est):
        note = str(change.get("note") or "").strip() or "no reason given"
        return f"{label_}: not estimable ({label(note, 70)})"
    return (
        f"{label_} (Hodges–Lehmann, signed-rank): {format_estimate(est, change.get('ci_low'), change.get('ci_high'))}, "
        f"{format_p(change.get('p_adjusted'), _adjusted_name(change))}"
    )


def plot_feature(
    values: pd.DataFrame,
    feature: str,
    arms: Sequence[str],
    pre: str,
    post: str,
    effect: Mapping | None = None,
    annotation: str | None = None,
):
    """Spaghetti (pre → post per patient, per arm) and change-by-arm panels for one feature.

    The title's second line is ``annotation`` when given (e.g. :func:`change_text` in a blinded
    run), else the ANCOVA line of ``effect`` (:func:`effect_text`).
    """
    sub = values[values["feature"] == feature]
    if sub.empty:
        return empty_figure(f"No values for {label(feature, 60)}.", "Paired values")
    axis_label = str(sub["axis_label"].dropna().iloc[0]) if sub["axis_label"].notna().any() else "value"
    ch = changes(sub, pre, post)
    colours = arm_colours(arms)
    with theme():
        fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(8.2, 3.9), gridspec_kw={"width_ratios": [1.6, 1]})
        ticks, ticklabels = [], []
        for i, arm in enumerate(arms):
            x_pre, x_post = 3 * i, 3 * i + 1
            arm_vals = sub[sub["arm"] == arm]
            pairs = ch[ch["arm"] == arm]
            for _, row in pairs.iterrows():
                ax1.plot([x_pre, x_post], [row["pre"], row["post"]], color=colours[arm], alpha=0.45, lw=0.9)
            # unpaired samples (kept by the mixed model) as lone points
            paired_patients = set(pairs["patient_id"])
            lone = arm_vals[~arm_vals["patient_id"].isin(paired_patients)]
            for tp, x in ((pre, x_pre), (post, x_post)):
                lv = lone.loc[lone["timepoint"] == tp, "value"].dropna()
                ax1.scatter(np.full(len(lv), x), lv, facecolors="white", edgecolors=colours[arm], s=16, zorder=3)
            if len(pairs):
                ax1.plot(
                    [x_pre, x_post],
                    [pairs["pre"].median(), pairs["post"].median()],
                    color="black",
                    lw=2.4,
                    marker="o",
                    ms=5,
                    zorder=4,
                )
            ticks += [x_pre, x_post]
            ticklabels += [
                f"{label(pre, 10)}\n{arm_label(arm)}\n(n = {len(pairs)} pairs)",
                f"{label(post, 10)}\n{arm_label(arm)}",
            ]
        ax1.set_xticks(ticks, ticklabels, fontsize=7)
        ax1.set_xlim(-0.6, 3 * (len(arms) - 1) + 1.6)
        ax1.set_ylabel(label(axis_label, 45, lines=2))
        ax1.set_title("Each patient pre → post (black: median)", fontsize=8, color=NEUTRAL)
        data = [ch.loc[ch["arm"] == arm, "change"].to_numpy() for arm in arms]
        nonempty = [i for i, d in enumerate(data) if len(d)]
        if nonempty:
            bp = ax2.boxplot(
                [data[i] for i in nonempty],
                positions=nonempty,
                widths=0.55,
                showfliers=False,
                patch_artist=True,
                medianprops=dict(color="black", lw=1.6),
            )
            for patch, i in zip(bp["boxes"], nonempty):
                patch.set_facecolor("white")
                patch.set_edgecolor(colours[arms[i]])
        for i, d in enumerate(data):
            ax2.scatter(
                i + _offsets(len(d)), np.sort(d), color=colours[arms[i]], s=14, alpha=0.85, zorder=3, linewidths=0
            )
        ax2.axhline(0, color=NEUTRAL, lw=0.7, ls=":")
        ax2.set_xticks(range(len(arms)), [f"{arm_label(a)}\n(n = {len(d)})" for a, d in zip(arms, data)], fontsize=7)
        ax2.set_xlim(-0.6, len(arms) - 0.4)
        ax2.set_ylabel(f"Change {label(post, 10)} − {label(pre, 10)}")
        ax2.set_title("Within-patient change by arm", fontsize=8, color=NEUTRAL)
        second = annotation if annotation is not None else effect_text(effect, arms)
        fig.suptitle(f"{label(feature, 70, lines=2)}\n{second}", fontsize=9)
        fig.tight_layout()
    return fig


def plot_change_heatmap(
    values: pd.DataFrame, features: Sequence[str], arms: Sequence[str], pre: str, post: str, max_features: int = 40
):
    """Patients × features heatmap of standardised within-patient changes, arms stacked and labelled."""
    features = list(dict.fromkeys(features))[:max_features]
    ch = changes(values[values["feature"].isin(features)], pre, post)
    if ch.empty or not features:
        return empty_figure("No paired values to show.", "Within-patient changes")
    sd = ch.groupby("feature")["change"].std(ddof=1).replace(0, np.nan)
    ch["z"] = ch["change"] / ch["feature"].map(sd)
    features = [f for f in features if f in set(ch["feature"])]
    blocks = []
    for arm in arms:
        m = ch[ch["arm"] == arm].pivot_table(index="patient_id", columns="feature", values="z", observed=True)
        m = m.reindex(columns=features)
        if len(m):
            blocks.append((arm, m.sort_index()))
    n_rows = sum(len(m) for _, m in blocks) + max(len(blocks) - 1, 0)
    colours = arm_colours(arms)
    with theme():
        fig, ax = plt.subplots(figsize=(max(5.0, 0.32 * len(features) + 2.8), max(3.5, 0.14 * n_rows + 2.6)))
        mat = np.full((n_rows, len(features)), np.nan)
        row_labels, row, spans = [], 0, []
        for arm, m in blocks:
            mat[row : row + len(m)] = m.to_numpy()
            row_labels += [label(p, 14) for p in m.index]
            spans.append((arm, row, row + len(m) - 1))
            row += len(m)
            if row < n_rows:
                row_labels.append("")
                row += 1
        lim = np.nanmax(np.abs(mat)) if np.isfinite(mat).any() else 1.0
        cmap = plt.get_cmap("RdBu_r").with_extremes(bad=MISSING)
        im = ax.imshow(
            np.ma.masked_invalid(mat), aspect="auto", cmap=cmap, vmin=-lim, vmax=lim, interpolation="nearest"
        )
        ax.set_xticks(range(len(features)), [label(f, 28) for f in features], rotation=60, ha="right", fontsize=6.5)
        ax.set_yticks(range(n_rows), row_labels, fontsize=5.5 if n_rows > 40 else 7)
        for arm, start, end in spans:
            ax.annotate(
                f"{arm_label(arm)} (n = {end - start + 1})",
                xy=(1.01, (start + end) / 2),
                xycoords=("axes fraction", "data"),
                rotation=270,
                va="center",
                ha="left",
                color=colours[arm],
                fontweight="bold",
                fontsize=8,
            )
        for side in ("top", "right", "left", "bottom"):
            ax.spines[side].set_visible(False)
        cb = fig.colorbar(im, ax=ax, fraction=0.04, pad=0.08)
        cb.set_label(f"Change {label(post, 10)} − {label(pre, 10)} / SD of the feature's changes")
        ax.set_title("Within-patient changes (patients with both samples; grey: missing)", fontsize=9)
        fig.tight_layout()
    return fig
