"""Gene level: volcano of the arm × timepoint interaction and a GSEA dot plot.

The volcano reads ``de_interaction.tsv`` (DESeq2-style columns: ``log2FoldChange``, ``pvalue``,
``padj``); the dot plot reads ``gsea_interaction.tsv`` (``gene_set, size`` or ``set_size, nes, q``).
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from tme.plots.style import NEUTRAL, OKABE_ITO, arm_label, empty_figure, label, theme, tight_layout

#: Genes up / down in the interaction: the heatmap's orange / purple, never an arm's colour (blue and
#: vermillion mean "usual care" and "anakinra" in every other figure).
UP, DOWN = OKABE_ITO["orange"], OKABE_ITO["reddish_purple"]


def plot_volcano(
    de: pd.DataFrame, arms: Sequence[str] = ("reference", "treatment"), fdr: float = 0.1, n_labels: int = 10
):
    """log2 fold change of the interaction vs −log10 p; genes with padj < ``fdr`` in colour, top ones named."""
    de = de.copy()
    for column in ("log2FoldChange", "pvalue", "padj"):
        de[column] = pd.to_numeric(de.get(column), errors="coerce")
    de = de.dropna(subset=["log2FoldChange", "pvalue"])
    if de.empty:
        return empty_figure("No genes with an estimate in the interaction table.", "Gene-level interaction")
    de["mlog10p"] = -np.log10(de["pvalue"].clip(lower=1e-300))
    sig = (de["padj"] < fdr).fillna(False).to_numpy()
    up = sig & (de["log2FoldChange"].to_numpy() > 0)
    down = sig & (de["log2FoldChange"].to_numpy() < 0)
    with theme():
        fig, ax = plt.subplots(figsize=(6.4, 5.4))
        ax.scatter(
            de.loc[~sig, "log2FoldChange"],
            de.loc[~sig, "mlog10p"],
            s=4,
            color="#AAAAAA",
            linewidths=0,
            rasterized=len(de) > 5000,
            label=f"padj ≥ {fdr:g}",
        )
        ax.scatter(
            de.loc[up, "log2FoldChange"],
            de.loc[up, "mlog10p"],
            s=8,
            color=UP,
            linewidths=0,
            label=f"higher with {arm_label(arms[1])} (padj < {fdr:g}, n = {int(up.sum())})",
        )
        ax.scatter(
            de.loc[down, "log2FoldChange"],
            de.loc[down, "mlog10p"],
            s=8,
            color=DOWN,
            linewidths=0,
            label=f"lower with {arm_label(arms[1])} (padj < {fdr:g}, n = {int(down.sum())})",
        )
        top = de.sort_values(["padj", "pvalue"], na_position="last").head(n_labels)
        top = top[(top["padj"] < fdr).fillna(False)]
        for k, (_, r) in enumerate(top.iterrows()):
            ax.annotate(
                label(r["gene"], 16),
                (r["log2FoldChange"], r["mlog10p"]),
                fontsize=6.5,
                xytext=(4, 3 if k % 2 == 0 else -8),
                textcoords="offset points",
                arrowprops=dict(arrowstyle="-", color=NEUTRAL, lw=0.4),
            )
        ax.axvline(0, color=NEUTRAL, lw=0.6, ls=":")
        ax.set_xlabel(f"log2 fold change of the change, {arm_label(arms[1])} vs {arm_label(arms[0])} (interaction)")
        ax.set_ylabel("−log10 p")
        ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=1)
        ax.set_title(f"Gene-level arm × timepoint interaction ({len(de):,} genes; BH over genes)", fontsize=9)
        tight_layout(fig)
    return fig


def plot_gsea_dots(gsea: pd.DataFrame, n_sets: int = 30, fdr: float = 0.25):
    """Top gene sets by q: x = NES, dot size = set size, colour = −log10 q; hollow when q ≥ ``fdr``."""
    g = gsea.copy()
    if "size" not in g and "set_size" in g:  # tme.stats.gsea names it set_size
        g["size"] = g["set_size"]
    for column in ("nes", "q", "p", "size"):
        g[column] = pd.to_numeric(g.get(column), errors="coerce")
    g = g.dropna(subset=["nes"])
    if g.empty:
        return empty_figure("No gene sets with a normalised enrichment score.", "Gene-set enrichment")
    g = g.sort_values(["q", "p"], na_position="last", kind="stable").head(n_sets).sort_values("nes", kind="stable")
    y = np.arange(len(g))
    mlq = -np.log10(g["q"].clip(lower=1e-10).fillna(1.0))
    with theme():
        fig, ax = plt.subplots(figsize=(7.2, 0.26 * len(g) + 1.8))
        sizes = 15 + 85 * (g["size"].fillna(0) / max(g["size"].max(), 1))
        sc = ax.scatter(
            g["nes"],
            y,
            s=sizes,
            c=mlq,
            cmap="viridis",
            vmin=0,
            vmax=max(2.0, float(mlq.max())),
            edgecolors="black",
            linewidths=0.4,
            zorder=3,
        )
        weak = (g["q"] >= fdr).fillna(True).to_numpy()
        ax.scatter(
            g["nes"].to_numpy()[weak],
            y[weak],
            s=sizes.to_numpy()[weak],
            facecolors="white",
            edgecolors=NEUTRAL,
            linewidths=0.8,
            zorder=4,
        )
        ax.axvline(0, color=NEUTRAL, lw=0.6, ls=":")
        ax.set_yticks(y, [label(s, 45) for s in g["gene_set"]], fontsize=7)
        ax.set_xlabel("Normalised enrichment score (interaction ranking)")
        cb = fig.colorbar(sc, ax=ax, fraction=0.04)
        cb.set_label("−log10 q (BH over gene sets)")
        ax.set_title(f"Top {len(g)} gene sets by q; hollow: q ≥ {fdr:g}; dot size: set size", fontsize=9)
        tight_layout(fig)
    return fig
