"""Every result table as a sortable, searchable page per report category (tme.report.tables)."""

from tme.io import atomic_path
from tme.plots.data import read_table
from tme.report.tables import category_slug, report_tables, tables_page
from tme.workflow import run


def main(snakemake):
    tables = report_tables(snakemake.config, snakemake.params.gene_level)
    for category in dict.fromkeys(t.category for t in tables):
        shown = [(t, read_table(snakemake.input[t.key])) for t in tables if t.category == category]
        with atomic_path(snakemake.output[category_slug(category)]) as tmp:
            tmp.write_text(tables_page(f"Tables: {category}", shown), encoding="utf-8")


run(snakemake, main)
