"""Sample flow per arm and modality (results/tables/sample_flow.tsv)."""

import pandas as pd

from tme.config import Design
from tme.flow import exclusions, require_pairs, sample_flow
from tme.io import write_tsv
from tme.samplesheet import read_samplesheet
from tme.workflow import run


def main(snakemake):
    design = Design(**snakemake.params.design)
    samples = read_samplesheet(snakemake.input.samples, design)
    flows = []
    if "expression_qc" in snakemake.input.keys():
        qc = pd.read_csv(snakemake.input.expression_qc, sep="\t", keep_default_na=False)
        reason = exclusions(samples, set(qc["sample_id"]), dict(zip(qc["sample_id"], qc["exclude_reason"])))
        flows.append(sample_flow(samples, design, "expression", reason))
    if "immune" in snakemake.input.keys():
        immune = pd.read_csv(snakemake.input.immune, sep="\t", keep_default_na=False)
        reason = exclusions(samples, set(immune["sample_id"]), absent_reason="no immune-cell measurement")
        flows.append(sample_flow(samples, design, "immune", reason))
    flow = pd.concat(flows, ignore_index=True)
    for modality in flow["modality"].unique():
        require_pairs(flow[flow["modality"] == modality], modality, snakemake.input.samples)
    write_tsv(flow, snakemake.output.flow)


run(snakemake, main)
