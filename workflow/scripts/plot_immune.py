"""Measured immune cells pre/post per arm (tme.plots.immune)."""

from tme.plots import plot_immune_values, save_figure
from tme.plots.data import read_table
from tme.workflow import run


def main(snakemake):
    d = snakemake.config["design"]
    immune = read_table(snakemake.input.immune)
    fig = plot_immune_values(immune, [d["reference_arm"], d["treatment_arm"]], d["pre"], d["post"])
    save_figure(fig, snakemake.output.png)


run(snakemake, main)
