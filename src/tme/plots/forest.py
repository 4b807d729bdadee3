"""Forest plot of between-arm effects (default: the primary ANCOVA), one panel per BH family.

Each family × analysis scale gets its own panel and x-axis (an ssGSEA difference of −190 and a
singscore difference of −0.02 cannot share an axis; nor can scores and log densities); within a
panel features are ordered by estimate, and features whose estimate is NA are
listed at the bottom as "not estimable" with the reason from the table's ``note``. The right
margin prints the estimate, 95 % CI, q and n per arm.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from tme.plots.style import NEUTRAL, OKABE_ITO, arm_label, empty_figure, format_estimate, format_p, label, theme
from tme.stats.analyses import BETWEEN_ARM


def forest_rows(
    effects: pd.DataFrame, analysis: str = "ancova", scales: Mapping[str, str] | None = None
) -> pd.DataFrame:
    """The rows the forest plot draws, in drawing order (family, scale, then estimate; NA rows last)."""
    sub = effects[effects["analysis"].astype(str) == analysis].copy()
    scales = scales or {}
    sub["scale"] = sub["feature"].map(lambda f: scales.get(f, "")).fillna("")
    for column in ("estimate", "ci_low", "ci_high", "p_adjusted"):
        sub[column] = pd.to_numeric(sub.get(column), errors="coerce")
    sub["family"] = sub["family"].fillna("").astype(str).replace("", "(no family)")
    sub["_na"] = sub["estimate"].isna()
    families = list(dict.fromkeys(sub["family"]))
    primary = [f for f in families if "primary" in f.lower()]
    order = {f: i for i, f in enumerate(primary + [f for f in families if f not in primary])}
    sub["_fam"] = sub["family"].map(order)
    scale_order = {sc: i for i, sc in enumerate(dict.fromkeys(sub["scale"]))}
    sub["_scale"] = sub["scale"].map(scale_order)
    sub = sub.sort_values(["_fam", "_scale", "_na", "estimate", "feature"], kind="stable").reset_index(drop=True)
    sub["_panel"] = sub.groupby(["_fam", "_scale"], sort=False).ngroup()
    return sub


def plot_forest(
    effects: pd.DataFrame,
    analysis: str = "ancova",
    arms: Sequence[str] = ("reference", "treatment"),
    scales: Mapping[str, str] | None = None,
    max_rows_per_panel: int = 200,
):
    """Forest plot of ``analysis`` rows of ``effects_between_arms.tsv``.

    ``scales`` maps feature → name of its analysis scale (:func:`tme.plots.data.feature_scales`);
    features without one share their family's panel.
    """
    if effects is None or effects.empty or not (effects["analysis"].astype(str) == analysis).any():
        return empty_figure(f"No {analysis} rows in the between-arm table.", "Between-arm effects")
    rows = forest_rows(effects, analysis, scales)
    panels = []
    for _, sub in rows.groupby("_panel", sort=True):
        extra = max(len(sub) - max_rows_per_panel, 0)
        panels.append((sub["family"].iloc[0], sub["scale"].iloc[0], sub.head(max_rows_per_panel), extra))
    heights = [len(p[2]) + 1.9 + (1 if p[3] else 0) for p in panels]
    contrast = f"{arm_label(arms[1])} − {arm_label(arms[0])}"
    with theme():
        fig, axes = plt.subplots(
            len(panels),
            1,
            figsize=(9.5, 0.24 * sum(heights) + 1.2),
            squeeze=False,
            gridspec_kw={"height_ratios": heights},
        )
        for ax, (family, scale, sub, extra) in zip(axes[:, 0], panels):
            n = len(sub)
            y = np.arange(n)[::-1]
            est = sub["estimate"].to_numpy()
            ok = ~np.isnan(est)
            sig = ok & (sub["p_adjusted"].to_numpy() < 0.05)
            ax.hlines(y[ok], sub["ci_low"].to_numpy()[ok], sub["ci_high"].to_numpy()[ok], color=NEUTRAL, lw=1.2)
            ax.scatter(
                est[ok & ~sig], y[ok & ~sig], marker="s", s=22, color=OKABE_ITO["blue"], zorder=3, label="q ≥ 0.05"
            )
            ax.scatter(est[sig], y[sig], marker="D", s=26, color=OKABE_ITO["vermillion"], zorder=3, label="q < 0.05")
            ax.axvline(0, color="black", lw=0.8, ls="--")
            finite = np.concatenate([sub[c].to_numpy()[ok] for c in ("ci_low", "ci_high", "estimate")])
            finite = finite[np.isfinite(finite)]
            lo, hi = (finite.min(), finite.max()) if finite.size else (-1.0, 1.0)
            lo, hi = min(lo, 0.0), max(hi, 0.0)
            pad = 0.08 * (hi - lo or 1.0)
            ax.set_xlim(lo - pad, hi + pad)
            ax.set_ylim(-0.8 - (1 if extra else 0), n - 0.3)
            ax.set_yticks(y, [label(f, 38) for f in sub["feature"]], fontsize=7)
            for yi, (_, r) in zip(y, sub.iterrows()):
                if pd.isna(r["estimate"]):
                    note = str(r.get("note") or "").strip() or "no reason given"
                    ax.text(
                        0.02,
                        yi,
                        f"not estimable: {label(note, 60)}",
                        transform=ax.get_yaxis_transform(),
                        va="center",
                        fontsize=6.5,
                        color=NEUTRAL,
                        style="italic",
                        bbox=dict(facecolor="white", edgecolor="none", pad=0.5),
                    )
                    text = "NA"
                else:
                    text = f"{format_estimate(r['estimate'], r['ci_low'], r['ci_high'])}  {format_p(r['p_adjusted'])}"
                nr, nt = r.get("n_reference_arm"), r.get("n_treatment_arm")
                if pd.notna(nr) and pd.notna(nt):
                    text += f"  n = {int(nr)}/{int(nt)}"
                ax.text(1.02, yi, text, transform=ax.get_yaxis_transform(), va="center", fontsize=6.5)
            if extra:
                ax.text(
                    0.0,
                    -1.3,
                    f"… {extra} more rows in effects_between_arms.tsv",
                    transform=ax.get_yaxis_transform(),
                    fontsize=6.5,
                    color=NEUTRAL,
                )
            on = f" · {label(scale, 40)}" if scale else ""
            ax.set_title(
                f"Family: {label(family, 50)}{on}  (BH q within family)", loc="left", fontsize=8.5, fontweight="bold"
            )
            ax.set_xlabel(f"Difference in change, {contrast} ({label(scale, 40) or 'analysis scale'})", fontsize=7.5)
            ax.tick_params(axis="x", labelsize=7)
        handles, labels = axes[0, 0].get_legend_handles_labels()
        for ax in axes[1:, 0]:
            for h, lab in zip(*ax.get_legend_handles_labels()):
                if lab not in labels:
                    handles.append(h)
                    labels.append(lab)
        top = 1 - 0.9 / fig.get_figheight()
        fig.suptitle(
            f"Between-arm effects: {BETWEEN_ARM[analysis].label if analysis in BETWEEN_ARM else label(analysis, 40)}\n"
            f"right: estimate (95% CI), q, n patients {arm_label(arms[0])}/{arm_label(arms[1])}",
            fontsize=9,
            x=0.01,
            y=1 - 0.1 / fig.get_figheight(),
            ha="left",
            va="top",
        )
        fig.legend(
            handles, labels, loc="upper right", ncol=2, fontsize=7, bbox_to_anchor=(0.99, 1 - 0.1 / fig.get_figheight())
        )
        fig.tight_layout(rect=(0, 0, 1, top))
    return fig
