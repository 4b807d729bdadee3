"""Measured immune cells pre/post per arm (tme.plots.immune)."""

from tme.config import Design
from tme.plots import plot_immune_values, save_figure
from tme.plots.data import read_table
from tme.workflow import run


def main(snakemake):
    design = Design.from_config(snakemake.config)  # from the config, never from params
    immune = read_table(snakemake.input.immune)
    fig = plot_immune_values(immune, list(design.arms), design.pre, design.post)
    save_figure(fig, snakemake.output.png)


run(snakemake, main)
