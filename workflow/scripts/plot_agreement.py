"""Agreement of expression-based immune estimates with measured immune cells (tme.plots.immune)."""

from tme.config import Design
from tme.plan import AnalysisPlan
from tme.plots import plot_agreement, save_figure
from tme.plots.data import read_table
from tme.workflow import run


def main(snakemake):
    design = Design.from_config(snakemake.config)  # from the config, never from params
    fig = plot_agreement(
        read_table(snakemake.input.scores),
        read_table(snakemake.input.immune),
        list(design.arms),
        design.pre,
        preferred=[e.feature.split("|")[0] for e in AnalysisPlan.from_config(snakemake.config).endpoints],
    )
    save_figure(fig, snakemake.output.png)


run(snakemake, main)
