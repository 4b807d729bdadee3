"""tme's DESeq2 (tme.stats.de): between-arm difference in change (nested design) and within-arm paired tests
(a single-arm study: the arm's paired ~ patient + timepoint test only)."""

import anndata as ad
import pandas as pd

from tme.config import Design
from tme.io import write_tsv
from tme.stats.de import differential_expression
from tme.workflow import run


def main(snakemake):
    design = Design(**snakemake.params.design)
    adata = ad.read_h5ad(snakemake.input.adata)
    counts = pd.DataFrame(adata.layers["counts"].T, index=adata.var_names, columns=adata.obs_names)
    # a panel's housekeepers (NanoString) give the size factors; otherwise all genes (DESeq2's default)
    control = list(adata.var_names[adata.var["housekeeper_used"]]) if "housekeeper_used" in adata.var else None
    tables = differential_expression(counts, adata.obs, design, n_cpus=snakemake.threads, control_genes=control)
    paths = {f"de_within_{arm}": path for arm, path in zip(design.arms, snakemake.output.within)}
    if not design.single_arm:
        paths["de_interaction"] = snakemake.output.interaction
    for name, table in tables.items():
        write_tsv(table, paths[name])


run(snakemake, main)
