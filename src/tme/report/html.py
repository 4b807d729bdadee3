"""HTML building blocks of the report's pages: escaping, plain tables and the shared page style.

Everything shown in the HTML report that a user typed (sample, patient, signature, gene-set names,
notes, paths, config values) passes through :func:`escape` / :func:`html_table`. Long names wrap
(``overflow-wrap: anywhere``) instead of widening the page.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

import pandas as pd

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;font-size:14px;line-height:1.45;margin:1.2em;
     max-width:1100px;color:#222}
h1{font-size:1.5em} h2{font-size:1.2em;margin-top:1.6em;border-bottom:1px solid #ccc}
table{border-collapse:collapse;table-layout:fixed;width:100%;margin:.5em 0 1em}
th,td{border:1px solid #ddd;padding:3px 6px;text-align:left;vertical-align:top;overflow-wrap:anywhere;
      word-break:break-word;font-size:12.5px}
th{background:#f3f3f3}
pre{white-space:pre-wrap;overflow-wrap:anywhere;background:#f7f7f7;padding:.6em;font-size:12px}
.note{color:#555}
"""


def escape(value: Any) -> str:
    """HTML-escape any value (``<``, ``>``, ``&``, both quotes); NaN/None → empty string."""
    if value is None:
        return ""
    try:
        if pd.isna(value):
            return ""
    except (TypeError, ValueError):
        pass
    return html.escape(str(value), quote=True)


def html_table(
    frame: pd.DataFrame, columns: Sequence[str] | None = None, max_rows: int = 500, float_format: str = "{:.4g}"
) -> str:
    """An escaped HTML table of ``frame`` (first ``max_rows`` rows; a note says how many were left out)."""
    if frame is None or frame.empty:
        return '<p class="note">(none)</p>'
    columns = [c for c in (columns or frame.columns) if c in frame.columns]
    head = "".join(f"<th>{escape(c)}</th>" for c in columns)
    rows = []
    for _, row in frame.head(max_rows).iterrows():
        cells = []
        for c in columns:
            v = row[c]
            if isinstance(v, float) and not pd.isna(v):
                v = float_format.format(v)
            cells.append(f"<td>{escape(v)}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    more = f'<p class="note">… {len(frame) - max_rows} more rows in the TSV.</p>' if len(frame) > max_rows else ""
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>{more}"
