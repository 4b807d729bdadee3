"""Per-biopsy single-cell features and pseudobulk counts (results/tables/singlecell_features.tsv)."""

import gzip
import logging

from tme.inputs import read_sheet, read_single_cell
from tme.io import atomic_path, write_tsv
from tme.signature_scores import run_signatures
from tme.singlecell import annotate_cell_types, pseudobulk, score_signatures, summary_table
from tme.workflow import run


def main(snakemake):
    config = snakemake.params.config
    settings = config["single_cell"]
    adata, qc = read_single_cell(config, read_sheet(config))
    if settings["annotate"] == "always" or "cell_type" not in adata.obs.columns:
        logging.info("annotating cell types from marker scores")
        annotate_cell_types(adata)
    signatures = list(run_signatures(config["scoring"]).values())
    scores = score_signatures(adata, signatures, random_state=config["seed"])
    features = summary_table(adata.obs, scores, min_cells=settings["min_cells_per_group"])
    write_tsv(qc, snakemake.output.qc)
    write_tsv(adata.uns["signature_scores"]["coverage"], snakemake.output.coverage)
    write_tsv(features, snakemake.output.features)
    counts = pseudobulk(adata, groupby="sample_id")
    with (
        atomic_path(snakemake.output.pseudobulk) as tmp,
        open(tmp, "wb") as raw,
        gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as handle,
    ):
        handle.write(counts.rename_axis("gene").to_csv(sep="\t", lineterminator="\n").encode())


run(snakemake, main)
