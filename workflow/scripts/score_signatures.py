"""Score the run's signatures on the harmonised expression (results/tables/signature_scores.tsv)."""

import logging

import anndata as ad

from tme.io import write_tsv
from tme.signature_scores import run_signatures, score_signatures, scoring_plan
from tme.workflow import run


def main(snakemake):
    settings = snakemake.params.settings
    adata = ad.read_h5ad(snakemake.input.adata)
    signatures = run_signatures(settings)
    plan = scoring_plan(signatures, settings["methods"])
    logging.info("scoring %d signature x method pairs on %d samples", len(plan), adata.n_obs)
    scores, coverage = score_signatures(
        adata,
        signatures,
        plan,
        ssgsea_normalize=settings["ssgsea_normalize"],
        n_jobs=snakemake.threads,
        min_genes=settings["min_genes"],
        min_fraction=settings["min_fraction"],
    )
    for row in coverage[~coverage["scored"]].itertuples():
        logging.warning("%s|%s (%s) %s", row.signature, row.method, row.coverage, row.reason)
    write_tsv(coverage, snakemake.output.coverage)
    write_tsv(scores, snakemake.output.scores)


run(snakemake, main)
