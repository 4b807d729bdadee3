"""Expression data → harmonised AnnData (results/expression/expression.h5ad), its QC tables (per-sample
QC, the PCA of the usable samples) and the format's own QC tables (e.g. results/qc/nanostring_qc.tsv)."""

import logging

from tme.expression import expression_pca, expression_qc, read_expression
from tme.inputs import read_sheet
from tme.io import atomic_path, write_tsv
from tme.workflow import run


def main(snakemake):
    samples = read_sheet(snakemake.params.config)
    result = read_expression(snakemake.params.config["expression"], samples)
    if result.extra_samples:
        logging.warning(
            "ignored %d matrix column(s) or file(s) not in the sample sheet: %s",
            len(result.extra_samples),
            ", ".join(result.extra_samples),
        )
    qc = expression_qc(result.adata)
    qc["exclude_reason"] = qc["sample_id"].map(result.qc_exclusions).fillna("")
    adata = result.adata[~result.adata.obs_names.isin(list(result.qc_exclusions))].copy()
    logging.info("%d samples x %d genes; %d identifiers unmapped", adata.n_obs, adata.n_vars, len(result.unmapped))
    write_tsv(result.unmapped, snakemake.output.unmapped)
    write_tsv(qc, snakemake.output.qc)
    write_tsv(expression_pca(adata), snakemake.output.pca)
    for name, table in result.tables.items():
        write_tsv(table, snakemake.output[name])
    with atomic_path(snakemake.output.adata) as tmp:
        adata.write_h5ad(tmp)


run(snakemake, main)
