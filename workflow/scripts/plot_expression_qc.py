"""Expression QC figures: library sizes / detected genes, and the PCA (tme.plots.qc)."""

import anndata as ad
import numpy as np

from tme.plots import plot_expression_qc, plot_pca, save_figure
from tme.plots.data import read_table
from tme.workflow import run


def main(snakemake):
    d = snakemake.config["design"]
    arms, timepoints = [d["reference_arm"], d["treatment_arm"]], [d["pre"], d["post"]]
    qc = read_table(snakemake.input.qc)
    save_figure(plot_expression_qc(qc, arms, timepoints, snakemake.params.min_library_size), snakemake.output.qc)
    adata = ad.read_h5ad(snakemake.input.adata)
    X = adata.X.toarray() if hasattr(adata.X, "toarray") else np.asarray(adata.X)
    save_figure(plot_pca(X, adata.obs, arms, timepoints), snakemake.output.pca)


run(snakemake, main)
