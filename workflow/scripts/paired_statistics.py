"""Within-arm changes and between-arm effects for every feature, as the analysis plan says
(tme.plan.apply); in a blinded run (rule pooled_changes) only the pooled pre → post change."""

import logging

import anndata as ad
import pandas as pd

from tme.cells import read_metrics
from tme.expression import analysis_transform
from tme.features import cell_features, gene_features, immune_features, signature_features, singlecell_features
from tme.inputs import read_sheet
from tme.io import write_tsv
from tme.plan import AnalysisPlan, gene_endpoints
from tme.plan.apply import analyse
from tme.workflow import run


def main(snakemake):
    config = snakemake.params.config
    samples = read_sheet(config)
    inputs = snakemake.input
    parts = []
    if "scores" in inputs.keys():
        parts.append(
            signature_features(pd.read_csv(inputs.scores, sep="\t"), analysis_transform(config.get("expression")))
        )
    if "immune" in inputs.keys():
        parts.append(immune_features(pd.read_csv(inputs.immune, sep="\t")))
    if "cells" in inputs.keys():
        parts.append(cell_features(read_metrics(inputs.cells), samples))
    if "single_cell" in inputs.keys():
        parts.append(singlecell_features(pd.read_csv(inputs.single_cell, sep="\t"), samples))
    if "expression" in inputs.keys():
        genes = gene_endpoints(AnalysisPlan.from_config(config))
        parts.append(
            gene_features(ad.read_h5ad(inputs.expression), genes, analysis_transform(config.get("expression")))
        )
    values = pd.concat([v for v, _ in parts], ignore_index=True)
    info = pd.concat([i for _, i in parts], ignore_index=True)
    logging.info("%d features", info["feature"].nunique())
    for name, table in analyse(config, values, info, samples).items():
        write_tsv(table, snakemake.output[name])


run(snakemake, main)
