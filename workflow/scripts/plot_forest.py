"""Forest plots of the primary analysis on the standardised axis: one PNG per multiplicity family and
page (at most 25 rows) for the report, all pages in one PDF (tme.plots.forest)."""

from pathlib import Path

from tme.config import Design
from tme.plots.data import read_table
from tme.plots.forest import forest_pages, forest_rows, page_title, plot_forest
from tme.plots.style import FigurePages
from tme.workflow import run


def main(snakemake):
    arms = list(Design.from_config(snakemake.config).arms)  # design from the config, never from params
    level = snakemake.params.conf_level
    pages = forest_pages(forest_rows(read_table(snakemake.input.effects)))
    out = Path(snakemake.output.pages)
    out.mkdir(parents=True, exist_ok=True)
    with FigurePages(snakemake.output.pdf) as files:
        for page in pages:
            fig = plot_forest(page.rows, arms, level, page_title(page), page.xlim)
            files.save(fig, out / f"{page.stem}.png")
        if not pages:  # the report still gets a page saying why
            files.save(plot_forest(None, arms, level), out / "00_none_01.png")


run(snakemake, main)
