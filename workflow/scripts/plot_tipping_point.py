"""Tipping-point figures, one per endpoint of the missing-post sensitivity: PNGs for the report, all
of them as pages of one PDF (tme.plots.sensitivity)."""

from pathlib import Path

from tme.config import Design
from tme.plots.data import read_table
from tme.plots.sensitivity import tipping_point_figures
from tme.plots.style import FigurePages
from tme.workflow import run


def main(snakemake):
    arms = list(Design.from_config(snakemake.config).arms)  # from the config, never from params
    grid, sensitivity = read_table(snakemake.input.grid), read_table(snakemake.input.sensitivity)
    out = Path(snakemake.output.pages)
    out.mkdir(parents=True, exist_ok=True)
    with FigurePages(snakemake.output.pdf) as pages:
        for stem, fig in tipping_point_figures(grid, sensitivity, arms, snakemake.params.conf_level):
            pages.save(fig, out / f"{stem}.png")


run(snakemake, main)
