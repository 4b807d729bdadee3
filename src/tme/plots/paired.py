"""Per-feature paired plots and the heatmap of within-patient changes.

* :func:`plot_feature`: left, each patient's pre → post line per arm with the arm median in black;
  right, the change (post − pre) per arm as box + points; under each arm the patients with a value
  at each timepoint and the pairs. The title carries the endpoint's display name and the primary
  ANCOVA estimate (treatment − reference, CI at the run's level) with its adjusted p and
  procedure, or "not estimable" with the reason.
* :func:`plot_change_heatmap`: patients (rows, grouped by arm) × features (columns), cell = change
  divided by the feature's SD of changes (so features on different scales share one colour scale);
  column names wrapped over up to three lines, the figure sized to hold them.
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
    adjusted_p_name,
    arm_colours,
    arm_label,
    empty_figure,
    format_estimate,
    format_p,
    label,
    theme,
    timepoint_count_ticks,
)


def _offsets(n: int, width: float = 0.18) -> np.ndarray:
    """Deterministic horizontal spread of ``n`` points (no random jitter)."""
    if n <= 1:
        return np.zeros(n)
    return np.linspace(-width, width, n)


def effect_text(effect: Mapping | None, arms: Sequence[str], conf_level: float = 0.95) -> str:
    """One line: ``ANCOVA anakinra − usual care: −0.52 (95% CI …), adj. p (Holm) = …`` or why it is NA."""
    if effect is None:
        return "ANCOVA: not in the statistics table"
    contrast = f"{arm_label(arms[1])} − {arm_label(arms[0])}" if len(arms) > 1 else ""
    est = pd.to_numeric(pd.Series([effect.get("estimate")]), errors="coerce").iloc[0]
    if pd.isna(est):
        note = str(effect.get("note") or "").strip() or "no reason given"
        return f"ANCOVA {contrast}: not estimable ({label(note, 70)})"
    ci = format_estimate(est, effect.get("ci_low"), effect.get("ci_high"), conf_level=conf_level)
    return f"ANCOVA {contrast}: {ci}, {format_p(effect.get('p_adjusted'), adjusted_p_name(effect.get('multiplicity')))}"


def change_text(change: Mapping | None, label_: str = "Pooled change", conf_level: float = 0.95) -> str:
    """One line for a within-group row (``changes_within_arm`` / ``changes_pooled``): estimate, CI, adj. p."""
    if change is None:
        return f"{label_}: not in the statistics table"
    est = pd.to_numeric(pd.Series([change.get("estimate")]), errors="coerce").iloc[0]
    if pd.isna(est):
        note = str(change.get("note") or "").strip() or "no reason given"
        return f"{label_}: not estimable ({label(note, 70)})"
    ci = format_estimate(est, change.get("ci_low"), change.get("ci_high"), conf_level=conf_level)
    return (
        f"{label_} (Hodges–Lehmann, signed-rank): {ci}, "
        f"{format_p(change.get('p_adjusted'), adjusted_p_name(change.get('multiplicity')))}"
    )


def plot_feature(
    values: pd.DataFrame,
    feature: str,
    arms: Sequence[str],
    pre: str,
    post: str,
    effect: Mapping | None = None,
    annotation: str | None = None,
    title: str | None = None,
    conf_level: float = 0.95,
):
    """Spaghetti (pre → post per patient, per arm) and change-by-arm panels for one feature.

    ``title``: the endpoint's display name (default the feature). The title's second line is
    ``annotation`` when given (e.g. :func:`change_text` in a blinded run), else the ANCOVA line of
    ``effect`` (:func:`effect_text`) with its CI at ``conf_level``.
    """
    from matplotlib.collections import LineCollection

    sub = values[values["feature"] == feature]
    if sub.empty:
        return empty_figure(f"No values for {label(title or feature, 60)}.", "Paired values")
    axis_label = str(sub["axis_label"].dropna().iloc[0]) if sub["axis_label"].notna().any() else "value"
    ch = changes(sub, pre, post)
    colours = arm_colours(arms)
    with theme():
        fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(7.1, 3.6), gridspec_kw={"width_ratios": [1.6, 1]})
        fig.subplots_adjust(left=0.1, right=0.985, bottom=0.25, top=0.8, wspace=0.32)
        for i, arm in enumerate(arms):
            x_pre, x_post = 3 * i, 3 * i + 1
            pairs = ch[ch["arm"] == arm]
            segments = [((x_pre, a), (x_post, b)) for a, b in zip(pairs["pre"], pairs["post"])]
            ax1.add_collection(LineCollection(segments, colors=colours[arm], alpha=0.45, linewidths=0.9))
            # samples without a partner (kept by the all-data analyses) as open points
            lone = sub[(sub["arm"] == arm) & ~sub["patient_id"].isin(set(pairs["patient_id"]))]
            for tp, x in ((pre, x_pre), (post, x_post)):
                lv = lone.loc[lone["timepoint"] == tp, "value"].dropna()
                ax1.scatter(np.full(len(lv), x), lv, facecolors="white", edgecolors=colours[arm], s=16, zorder=3)
            if len(pairs):
                medians = [pairs["pre"].median(), pairs["post"].median()]
                ax1.plot([x_pre, x_post], medians, color="black", lw=2.4, marker="o", ms=5, zorder=4)
        timepoint_count_ticks(ax1, sub, arms, pre, post, colours, spacing=3, width=10, arm_fontsize=7)
        ax1.set_xlim(-0.6, 3 * (len(arms) - 1) + 1.6)
        ax1.autoscale_view(scalex=False)
        ax1.set_ylabel(label(axis_label, 45, lines=2), fontsize=8)
        ax1.set_title("Each patient pre → post (black: median of pairs)", fontsize=7.5, color=NEUTRAL)
        _change_panel(ax2, ch, arms, colours, pre, post)
        second = annotation if annotation is not None else effect_text(effect, arms, conf_level)
        fig.suptitle(f"{label(title or feature, 90)}\n{label(second, 120, lines=2)}", fontsize=8.5)
    return fig


def _change_panel(ax, ch: pd.DataFrame, arms: Sequence[str], colours: Mapping, pre: str, post: str) -> None:
    """Within-patient change per arm: box (quartiles) and the patients as points."""
    data = [ch.loc[ch["arm"] == arm, "change"].to_numpy() for arm in arms]
    nonempty = [i for i, d in enumerate(data) if len(d)]
    if nonempty:
        bp = ax.boxplot(
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
        ax.scatter(i + _offsets(len(d)), np.sort(d), color=colours[arms[i]], s=14, alpha=0.85, zorder=3, linewidths=0)
    ax.axhline(0, color=NEUTRAL, lw=0.7, ls=":")
    ax.set_xticks(range(len(arms)), [f"{arm_label(a)}\n{len(d)} pairs" for a, d in zip(arms, data)], fontsize=7)
    ax.set_xlim(-0.6, len(arms) - 0.4)
    ax.set_ylabel(f"Change {label(post, 10)} − {label(pre, 10)}", fontsize=8)
    ax.set_title("Within-patient change by arm", fontsize=7.5, color=NEUTRAL)


def _heatmap_blocks(ch: pd.DataFrame, features: Sequence[str], arms: Sequence[str]) -> list[tuple[str, pd.DataFrame]]:
    """Per arm (in design order), the patients × features matrix of standardised changes."""
    blocks = []
    for arm in arms:
        m = ch[ch["arm"] == arm].pivot_table(index="patient_id", columns="feature", values="z", observed=True)
        if len(m):
            blocks.append((arm, m.reindex(columns=features).sort_index()))
    return blocks


def plot_change_heatmap(
    values: pd.DataFrame,
    features: Sequence[str],
    arms: Sequence[str],
    pre: str,
    post: str,
    max_features: int = 40,
    names: Mapping[str, str] | None = None,
):
    """Patients × features heatmap of standardised within-patient changes, arms stacked and labelled.

    ``names`` maps a feature to the name its column shows (the plan's display name); names are
    wrapped over up to three lines (cut with "…" only beyond that) and the figure grows to hold them.
    """
    features = list(dict.fromkeys(features))[:max_features]
    ch = changes(values[values["feature"].isin(features)], pre, post)
    if ch.empty or not features:
        return empty_figure("No paired values to show.", "Within-patient changes")
    sd = ch.groupby("feature")["change"].std(ddof=1).replace(0, np.nan)
    ch["z"] = ch["change"] / ch["feature"].map(sd)
    features = [f for f in features if f in set(ch["feature"])]
    blocks = _heatmap_blocks(ch, features, arms)
    n_rows = sum(len(m) for _, m in blocks) + max(len(blocks) - 1, 0)
    names = names or {}
    columns = [label(names.get(f) or f, 22, lines=3) for f in features]
    lines = max(c.count("\n") + 1 for c in columns)
    colours = arm_colours(arms)
    cell_w, cell_h = min(0.34, 4.6 / len(features)), 0.12 if n_rows > 30 else 0.16
    bottom = 0.35 + 0.5 * lines  # rotated names: up to 22 characters a line
    right = 1.0 + len(features) * cell_w  # the heatmap's right edge; arm names, then the colour bar
    width, height = max(right + 1.3, 4.5), 0.45 + n_rows * cell_h + bottom
    with theme():
        fig = plt.figure(figsize=(width, height))
        ax = fig.add_axes((1.0 / width, bottom / height, len(features) * cell_w / width, n_rows * cell_h / height))
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
        cmap = plt.get_cmap("PuOr_r").with_extremes(bad=MISSING)  # not the arms' blue and vermillion
        im = ax.imshow(
            np.ma.masked_invalid(mat), aspect="auto", cmap=cmap, vmin=-lim, vmax=lim, interpolation="nearest"
        )
        ax.set_xticks(
            range(len(features)),
            columns,
            rotation=60,
            ha="right",
            rotation_mode="anchor",
            fontsize=6.5,
            linespacing=1.0,
        )
        ax.set_yticks(range(n_rows), row_labels, fontsize=5.5 if n_rows > 30 else 7)
        for arm, start, end in spans:
            ax.annotate(
                f"{arm_label(arm)} (n = {end - start + 1})",
                xy=(1.02, (start + end) / 2),
                xycoords=("axes fraction", "data"),
                rotation=270,
                va="center",
                ha="left",
                color=colours[arm],
                fontweight="bold",
                fontsize=7.5,
            )
        for side in ("top", "right", "left", "bottom"):
            ax.spines[side].set_visible(False)
        cax = fig.add_axes(((right + 0.45) / width, bottom / height, 0.12 / width, min(2.5, n_rows * cell_h) / height))
        cb = fig.colorbar(im, cax=cax)
        cb.set_label(f"Change {label(post, 10)} − {label(pre, 10)}\n÷ SD of the feature's changes", fontsize=7)
        cb.ax.tick_params(labelsize=6.5)
        fig.text(
            0.1 / width,
            1 - 0.12 / height,
            "Within-patient changes (patients with both samples; grey: missing)",
            fontsize=8.5,
            va="top",
        )
    return fig
