"""Agreement of expression-based immune estimates with measured immune cells (tme.plots.immune)."""

from tme.plots import plot_agreement, save_figure
from tme.plots.data import read_table
from tme.signatures import primary_panel
from tme.workflow import run


def main(snakemake):
    d = snakemake.config["design"]
    fig = plot_agreement(read_table(snakemake.input.scores), read_table(snakemake.input.immune),
                         [d["reference_arm"], d["treatment_arm"]], d["pre"], preferred=primary_panel())
    save_figure(fig, snakemake.output.png)


run(snakemake, main)
