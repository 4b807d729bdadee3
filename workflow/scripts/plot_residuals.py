"""Residual diagnostics of the primary ANCOVA, pages of three endpoints: PNGs for the report, all
pages in one PDF (tme.plots.sensitivity)."""

from pathlib import Path

from tme.config import Design
from tme.plots.data import read_table
from tme.plots.sensitivity import residual_figures
from tme.plots.style import FigurePages
from tme.workflow import run


def main(snakemake):
    arms = list(Design.from_config(snakemake.config).arms)  # from the config, never from params
    residuals, checks = read_table(snakemake.input.residuals), read_table(snakemake.input.diagnostics)
    out = Path(snakemake.output.pages)
    out.mkdir(parents=True, exist_ok=True)
    with FigurePages(snakemake.output.pdf) as pages:
        for stem, fig in residual_figures(residuals, checks, arms):
            pages.save(fig, out / f"{stem}.png")


run(snakemake, main)
