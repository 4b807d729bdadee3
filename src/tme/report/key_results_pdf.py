"""``results/key_results.pdf``: the key results for trial meetings and the trial master file.

Page 1: the plan's title, the estimand sentence with the plan's SHA-256, the key-results table
(:func:`tme.report.key_results.key_results_table`) and the warnings count; page 2: the compact
forest plot; page 3: the sample flow. Written by matplotlib with no dates or producer in the
metadata, so the same results give the same bytes.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.backends.backend_pdf import PdfPages

from tme.io import atomic_path
from tme.plots.style import theme
from tme.report.key_results import Trial, estimand_text

A4_LANDSCAPE = (11.69, 8.27)
#: No creation date or producer: byte-identical PDFs for identical results.
METADATA = {"Creator": None, "Producer": None, "CreationDate": None, "ModDate": None}


def _wrap(text: str, width: int) -> str:
    return "\n".join(textwrap.wrap(str(text), width, break_long_words=True)) or " "


def table_page(table: pd.DataFrame, trial: Trial, n_warnings: int, model: str = ""):
    """Page 1 as a matplotlib figure: heading, estimand, the table (cells wrapped to fit)."""
    fig = plt.figure(figsize=A4_LANDSCAPE)
    title = f"Key results: {trial.title}" if trial.title else "Key results"
    fig.text(0.04, 0.95, _wrap(title, 110), fontsize=14, fontweight="bold", va="top")
    fig.text(0.04, 0.90, _wrap(estimand_text(trial, model), 160), fontsize=8.5, va="top")
    ax = fig.add_axes((0.04, 0.10, 0.92, 0.70))
    ax.axis("off")
    if table.empty:
        ax.text(0, 1, "The analysis plan names no primary or key secondary endpoint.", va="top")
    else:
        widths = _column_widths(table.columns)
        cells = [[_wrap(v, w) for v, w in zip(row, widths)] for row in table.astype(str).itertuples(index=False)]
        header = [_wrap(c, w) for c, w in zip(table.columns, widths)]
        drawn = ax.table(
            cellText=cells,
            colLabels=header,
            colWidths=[w / sum(widths) for w in widths],
            loc="upper left",
            cellLoc="left",
        )
        drawn.auto_set_font_size(False)
        drawn.set_fontsize(7)
        for (row, _), cell in drawn.get_celld().items():
            lines = max(c.get_text().get_text().count("\n") + 1 for c in _row(drawn, row))
            cell.set_height(0.028 * lines + 0.012)
            if row == 0:
                cell.set_text_props(fontweight="bold")
                cell.set_facecolor("#F1F1F1")
    fig.text(
        0.04, 0.04, f"Warnings that changed what was analysed: {n_warnings} (results/qc/warnings.tsv).", fontsize=8.5
    )
    return fig


def _column_widths(columns: Sequence[str]) -> list[int]:
    """Characters per line of each column: the endpoint and effect columns get more room."""
    return [
        26 if c == "Endpoint" else 24 if c.startswith("Effect") else 22 if c.startswith("Change") else 13
        for c in columns
    ]


def _row(drawn, row: int) -> list:
    return [cell for (r, _), cell in drawn.get_celld().items() if r == row]


def write_key_results_pdf(path: str | Path, pages: Sequence) -> None:
    """Write ``pages`` (matplotlib figures, in order) to ``path`` deterministically; closes them."""
    with theme(), atomic_path(path) as tmp, PdfPages(tmp, metadata=METADATA) as pdf:
        for fig in pages:
            pdf.savefig(fig, facecolor="white")
            plt.close(fig)
