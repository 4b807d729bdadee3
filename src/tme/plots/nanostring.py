"""nCounter QC figure: one panel per rule of :mod:`tme.nanostring.qc`, each sample a point, limits drawn.

Panels: imaging (FOV counted / FOV count), binding density, positive-control linearity (R²), limit
of detection (log2 of POS_E over the background), the positive-control and housekeeping factors
(log–log, the accepted box drawn), and housekeepers at or below background. A sample failing a
panel's rule is a vermillion cross labelled with its ID; samples passing are grey dots.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.patches import Rectangle

from tme.nanostring.qc import QcThresholds
from tme.plots.style import NEUTRAL, OKABE_ITO, empty_figure, label, plain_log_ticks, theme, tight_layout

FAIL = OKABE_ITO["vermillion"]
_MAX_LABELS = 8


def _points(ax, x, y, failed, names) -> None:
    x, y, failed = np.asarray(x, float), np.asarray(y, float), np.asarray(failed, bool)
    ax.scatter(x[~failed], y[~failed], s=12, color=NEUTRAL, alpha=0.7, linewidths=0)
    ax.scatter(x[failed], y[failed], s=30, color=FAIL, marker="x", linewidths=1.3)
    for xi, yi, name in list(zip(x[failed], y[failed], np.asarray(names)[failed]))[:_MAX_LABELS]:
        ax.annotate(label(name, 14), (xi, yi), xytext=(3, 3), textcoords="offset points", fontsize=6, color=FAIL)


def _limit(ax, value, text) -> None:
    ax.axhline(value, ls="--", lw=0.8, color=NEUTRAL)
    ax.text(1.0, value, f" {text}", transform=ax.get_yaxis_transform(), fontsize=6, va="center", color=NEUTRAL)


def plot_nanostring_qc(qc: pd.DataFrame, thresholds: QcThresholds = QcThresholds()):
    """The QC figure of ``results/qc/nanostring_qc.tsv`` (:func:`tme.nanostring.nanostring_qc` with ``sample_id``)."""
    if qc.empty:
        return empty_figure("No samples in the nCounter QC table.", "nCounter QC")
    t = thresholds
    names = qc["sample_id"] if "sample_id" in qc else qc["file"]
    x = np.arange(len(qc))
    lo, hi = t.binding_density_range
    with theme():
        fig, axes = plt.subplots(2, 3, figsize=(11, 6.2))
        panels = (
            (
                axes[0, 0],
                qc["fov_ratio"],
                "flag_imaging",
                "FOV counted / FOV count",
                [(t.min_fov_ratio, f"{t.min_fov_ratio:g}")],
            ),
            (
                axes[0, 1],
                qc["binding_density"],
                "flag_binding_density",
                "Binding density",
                [(lo, f"{lo:g}"), (hi, f"{hi:g}")],
            ),
            (
                axes[0, 2],
                qc["positive_r2"],
                "flag_positive_linearity",
                "Positive-control linearity R²",
                [(t.min_positive_r2, f"{t.min_positive_r2:g}")],
            ),
            (
                axes[1, 0],
                np.log2(np.maximum(qc["pos_e_count"], 1) / qc["background"]),
                "flag_limit_of_detection",
                "log2(POS_E / background)",
                [(0.0, "0")],
            ),
            (
                axes[1, 2],
                qc["n_housekeepers_below_background"],
                "flag_housekeepers_below_background",
                "Housekeepers ≤ background",
                [(t.max_housekeepers_below_background + 0.5, f"max {t.max_housekeepers_below_background}")],
            ),
        )
        for ax, y, flag, title, limits in panels:
            _points(ax, x, y, qc[flag], names)
            for value, text in limits:
                _limit(ax, value, text)
            ax.set_title(title)
            ax.set_xlabel("sample (QC table order)")
        ax = axes[1, 1]
        failed = qc["flag_positive_factor"] | qc["flag_housekeeping_factor"]
        _points(ax, qc["positive_factor"], qc["housekeeping_factor"], failed, names)
        (plo, phi), (hlo, hhi) = t.positive_factor, t.housekeeping_factor
        ax.add_patch(Rectangle((plo, hlo), phi - plo, hhi - hlo, fill=False, ls="--", lw=0.8, color=NEUTRAL))
        ax.set_xscale("log")
        ax.set_yscale("log")
        plain_log_ticks(ax, "x")
        plain_log_ticks(ax, "y")
        ax.set_xlabel("positive-control factor")
        ax.set_ylabel("housekeeping factor")
        ax.set_title("Normalisation factors")
        n_fail = int((qc["n_flags"] > 0).sum())
        fig.suptitle(
            f"nCounter QC: {len(qc)} samples, {n_fail} failing at least one rule (policy: {t.policy})", fontsize=10
        )
        tight_layout(fig)
    return fig
