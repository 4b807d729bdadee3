"""Expression matrix → harmonised AnnData (results/expression/expression.h5ad) and its QC tables."""

import logging

from tme.expression import expression_qc, read_expression
from tme.inputs import read_sheet
from tme.io import atomic_path, write_tsv
from tme.workflow import run


def main(snakemake):
    samples = read_sheet(snakemake.params.config)
    result = read_expression(snakemake.params.config["expression"], samples)
    if result.extra_samples:
        logging.warning(
            "ignored %d matrix column(s) not in the sample sheet: %s",
            len(result.extra_samples),
            ", ".join(result.extra_samples),
        )
    qc = expression_qc(result.adata)
    minimum = snakemake.params.config["expression"].get("min_library_size", 0)
    qc["exclude_reason"] = [
        f"library size {result.low_library[s]:,.0f} < {minimum:,} (expression.min_library_size)"
        if s in result.low_library.index
        else ""
        for s in qc["sample_id"]
    ]
    adata = result.adata[~result.adata.obs_names.isin(result.low_library.index)].copy()
    logging.info("%d samples x %d genes; %d identifiers unmapped", adata.n_obs, adata.n_vars, len(result.unmapped))
    write_tsv(result.unmapped, snakemake.output.unmapped)
    write_tsv(qc, snakemake.output.qc)
    with atomic_path(snakemake.output.adata) as tmp:
        adata.write_h5ad(tmp)


run(snakemake, main)
