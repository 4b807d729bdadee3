"""Pre-ranked GSEA of a DESeq2 Wald statistic over the run's signatures: the interaction (rule gsea_interaction),
or a single-arm study's within-arm change (rule gsea_within_arm)."""

import pandas as pd

from tme.io import write_tsv
from tme.signature_scores import run_signatures
from tme.stats.gsea import prerank_gsea
from tme.workflow import run


def main(snakemake):
    de = pd.read_csv(snakemake.input.de, sep="\t")
    statistic = de.set_index("gene")["stat"].dropna()
    gene_sets = {name: sig.genes for name, sig in run_signatures(snakemake.params.scoring).items()}
    table = prerank_gsea(
        statistic,
        gene_sets,
        n_permutations=snakemake.params.permutations,
        seed=snakemake.params.seed,
        min_size=snakemake.params.min_size,
    )
    write_tsv(table, snakemake.output.gsea)


run(snakemake, main)
