"""Gene level: volcano of the arm × timepoint interaction and the GSEA dot plot (tme.plots.genes)."""

from tme.config import Design
from tme.plots import plot_gsea_dots, plot_volcano, save_figure
from tme.plots.data import read_table
from tme.workflow import run


def main(snakemake):
    design = Design.from_config(snakemake.config)  # from the config, never from params
    save_figure(plot_volcano(read_table(snakemake.input.de), list(design.arms)), snakemake.output.volcano)
    save_figure(plot_gsea_dots(read_table(snakemake.input.gsea)), snakemake.output.gsea)


run(snakemake, main)
