"""Expression QC figures: library sizes / detected genes, and the PCA (tme.plots.qc)."""

from tme.config import Design
from tme.plots import plot_expression_qc, plot_pca, save_figure
from tme.plots.data import read_table
from tme.workflow import run


def main(snakemake):
    design = Design.from_config(snakemake.config)  # from the config, never from params
    arms, timepoints = list(design.arms), list(design.timepoints)
    qc = read_table(snakemake.input.qc)
    save_figure(plot_expression_qc(qc, arms, timepoints, snakemake.params.min_library_size), snakemake.output.qc)
    save_figure(plot_pca(read_table(snakemake.input.pca), arms, timepoints), snakemake.output.pca)


run(snakemake, main)
