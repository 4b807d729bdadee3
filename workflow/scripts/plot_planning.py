"""Power curves of the next trial, one panel per primary endpoint (tme.plots.planning)."""

from tme.plots import save_figure
from tme.plots.data import read_table
from tme.plots.planning import plot_power_curves
from tme.workflow import run


def main(snakemake):
    table, grid = read_table(snakemake.input.table), read_table(snakemake.input.grid)
    save_figure(plot_power_curves(grid, table), snakemake.output.png)


run(snakemake, main)
