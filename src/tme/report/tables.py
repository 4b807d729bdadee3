"""Result tables as sortable, searchable, paginated HTML pages inside the report.

One self-contained page per report category (:func:`tables_page`): DataTables (datatables.net,
MIT), bundled offline by the ``itables`` package, renders each table from JSON embedded in the
page; the TSV itself stays in the report as a download. Numbers are shown to a readable precision
(:func:`display_values`: 4 significant digits, p-values 3) — the TSV keeps full precision.

Size: the report shows each page through a data URL, which Chromium caps at 2 MB, so the
DataTables bundle and each table's rows travel gzip-compressed and base64-encoded
(:func:`packed`) and are unpacked in the browser (``DecompressionStream``).

Safety: cells are rendered as text (``DataTable.render.text()``), headers are escaped in Python,
and the rows sit base64-encoded in a ``<script type="text/plain">`` block, so no value can close
the block or become markup. When a table is drawn the page posts
``{"tme_tables": {id: rows}}`` to its parent frame (the report's test reads it).
"""

from __future__ import annotations

import base64
import gzip
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources

import numpy as np
import pandas as pd

from tme.report.html import CSS, escape

#: Columns holding p-values or adjusted p-values (shown with 3 significant digits).
P_COLUMN = re.compile(r"^(p|pvalue|padj|p_adjusted|fdr|q|q_value|.*_p|p_.*)$", re.I)
PAGE_LENGTH = 25


@dataclass(frozen=True)
class ReportTable:
    """A result table of the report: file, category and one sentence on what a row is."""

    path: str
    category: str
    caption: str
    description: str = ""

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[-1]


def _number(x: float, digits: int) -> str:
    if not np.isfinite(x):
        return "" if np.isnan(x) else ("Inf" if x > 0 else "-Inf")
    if abs(x) >= 10**digits:
        return f"{x:.0f}"
    return f"{x:.{digits}g}"


def display_values(frame: pd.DataFrame) -> list[list[str]]:
    """Rows of display strings: integers as integers, other numbers to 4 significant digits (p-value
    columns 3, very small p-values in scientific notation), missing values empty."""
    columns = []
    for name in frame.columns:
        values = frame[name]
        if pd.api.types.is_bool_dtype(values):
            columns.append(values.astype(str).tolist())
        elif pd.api.types.is_integer_dtype(values):
            columns.append(["" if pd.isna(v) else str(int(v)) for v in values])
        elif pd.api.types.is_float_dtype(values):
            digits = 3 if P_COLUMN.match(str(name)) else 4
            columns.append([_number(float(v), digits) for v in values.to_numpy(dtype=float, na_value=np.nan)])
        else:
            columns.append(["" if pd.isna(v) else str(v) for v in values])
    return [list(row) for row in zip(*columns)] if columns else []


def packed(data: bytes) -> str:
    """``data`` gzip-compressed (no timestamp: the same bytes every run) and base64-encoded: the
    report shows a page through a data URL, which browsers cap at 2 MB."""
    return base64.b64encode(gzip.compress(data, compresslevel=9, mtime=0)).decode()


def _section(table_id: str, table: ReportTable, frame: pd.DataFrame) -> str:
    head = "".join(f"<th>{escape(c)}</th>" for c in frame.columns)
    described = f"<p>{escape(table.description)}</p>" if table.description else ""
    return (
        f'<section><h2 id="{table_id}-title">{escape(table.name)}</h2>{described}'
        f'<p class="note">{len(frame):,} rows × {frame.shape[1]} columns · results/…/{escape(table.name)} '
        f"(full precision in the TSV, next to this page in the report)</p>"
        f'<table id="{table_id}" class="display compact" style="width:100%"><thead><tr>{head}</tr></thead></table>'
        f'<script type="text/plain" id="{table_id}-data">{packed(_json(display_values(frame)))}</script>'
        "</section>"
    )


def _json(rows: list[list[str]]) -> bytes:
    return json.dumps(rows, ensure_ascii=False, separators=(",", ":")).encode()


def _bundle() -> tuple[str, str]:
    """DataTables' JavaScript module and stylesheet as shipped by itables, packed."""
    folder = resources.files("itables") / "html"
    return tuple(packed((folder / name).read_bytes()) for name in ("dt_bundle.js", "dt_bundle.css"))


#: Loads the bundled DataTables module (as itables does offline) and draws every table on the page.
INIT = """<script type="module">
async function unpack(id) {
  const bytes = Uint8Array.from(atob(document.getElementById(id).textContent), c => c.charCodeAt(0));
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
  return await new Response(stream).text();
}
const css = document.createElement("style");
css.textContent = await unpack("dt-css");
document.head.appendChild(css);
const url = URL.createObjectURL(new Blob([await unpack("dt-js")], {type: "application/javascript"}));
const {default: DataTable} = await import(url);
const rendered = {};
for (const table of document.querySelectorAll("table.display")) {
  const data = JSON.parse(await unpack(table.id + "-data"));
  const columns = [...table.querySelectorAll("th")].map(() => ({render: DataTable.render.text()}));
  const dt = new DataTable(table, {data, columns, pageLength: PAGE_LENGTH, deferRender: true, order: [],
                                   scrollX: true, autoWidth: false});
  rendered[table.id] = dt.rows().count();
}
document.body.dataset.tmeTables = JSON.stringify(rendered);
if (window.parent !== window) window.parent.postMessage({tme_tables: rendered}, "*");
</script>""".replace("PAGE_LENGTH", str(PAGE_LENGTH))

PAGE_CSS = (
    CSS.replace("max-width:1100px", "max-width:none") + "section{margin-bottom:2em}.dt-container{font-size:12.5px}"
)


def tables_page(title: str, tables: Sequence[tuple[ReportTable, pd.DataFrame]]) -> str:
    """One HTML page with every table of ``tables`` (in order), each sortable, searchable and paginated."""
    js, css = _bundle()
    sections = "".join(_section(f"table-{i + 1}", t, frame) for i, (t, frame) in enumerate(tables))
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title><style>{PAGE_CSS}</style></head><body>"
        f"<h1>{escape(title)}</h1>{sections}"
        f'<script type="text/plain" id="dt-js">{js}</script><script type="text/plain" id="dt-css">{css}</script>'
        f"{INIT}</body></html>\n"
    )
