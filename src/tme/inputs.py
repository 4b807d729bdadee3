"""Read and check every input a config names, before any analysis: the sample flow and checksums.

Gene-set files and the primary panel are checked here too. This is what ``tme validate`` prints
and what the workflow's first rule writes
(``results/tables/sample_flow.tsv``, ``results/qc/input_files.tsv``); every later rule depends on
it, so bad input stops the run before anything is written.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, Mapping

import pandas as pd

from tme.config import Design, single_cell_paths
from tme.expression import read_expression
from tme.flow import exclusions, require_pairs, sample_flow
from tme.immune import read_immune
from tme.features import resolve_panel
from tme.io import write_tsv
from tme.pseudonym import Pseudonymiser, mapping_table
from tme.samplesheet import read_samplesheet
from tme.signature_scores import run_signatures


def sha256(path: str | Path) -> str:
    """Hex SHA-256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_sheet(config: Mapping[str, Any], *, create_key: bool = False) -> pd.DataFrame:
    """The validated sample sheet of a config, pseudonymised when ``pseudonymise_ids`` is set."""
    ids = None
    if config.get("pseudonymise_ids"):
        ids = Pseudonymiser.from_key_file(config["pseudonymisation"]["key_file"], create=create_key)
    return read_samplesheet(config["samples"], Design.from_config(config), ids)


def read_single_cell(config: Mapping[str, Any], samples: pd.DataFrame):
    """Cells of the config's .h5ad files passing QC, and the per-sample QC table (:func:`tme.singlecell.read_h5ads`)."""
    from tme.singlecell import read_h5ads  # scanpy takes seconds to import; only single-cell runs need it

    s = config["single_cell"]
    return read_h5ads(single_cell_paths(config), samples, min_genes=s["min_genes"], min_counts=s["min_counts"],
                      max_pct_mito=s["max_pct_mito"], min_cells=s["min_cells"])


def check_inputs(config: Mapping[str, Any]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Read every input of a validated config; return (sample flow, input files table).

    The input files table has one row per file: ``input, path, sha256, bytes, summary``.
    Raises :class:`~tme.errors.TmeInputError` at the first problem.
    """
    design = Design.from_config(config)
    samples = read_sheet(config, create_key=True)
    mapping_file = config.get("pseudonymisation", {}).get("mapping_file")
    if config.get("pseudonymise_ids") and mapping_file:
        write_tsv(mapping_table(samples), mapping_file)
    files = [("samples", config["samples"],
              f"{len(samples)} samples, {samples['patient_id'].nunique()} patients")]
    flows = []
    if config.get("expression"):
        settings = config["expression"]
        result = read_expression(settings, samples)
        minimum = settings.get("min_library_size", 0)
        qc = {s: f"library size {n:,.0f} < {minimum:,} (expression.min_library_size)"
              for s, n in result.low_library.items()}
        reason = exclusions(samples, set(result.adata.obs_names), qc)
        flows.append(sample_flow(samples, design, "expression", reason))
        files.append(("expression", settings["path"],
                      f"{result.adata.n_obs} samples x {result.adata.n_vars} genes; {len(result.unmapped)} identifiers "
                      f"unmapped; {len(result.extra_samples)} matrix columns not in the sheet; {len(qc)} below min_library_size"))
    if config.get("immune"):
        values, measures = read_immune(config["immune"], samples)
        reason = exclusions(samples, set(values["sample_id"]), absent_reason="no immune-cell measurement")
        flows.append(sample_flow(samples, design, "immune", reason))
        files.append(("immune", config["immune"]["path"],
                      f"{len(measures)} measures ({', '.join(measures['measure'])}) on {values['sample_id'].nunique()} samples"))
    if config.get("single_cell"):
        settings = config["single_cell"]
        _, qc = read_single_cell(config, samples)
        reason = exclusions(samples, set(qc["sample_id"]), dict(zip(qc["sample_id"], qc["exclude_reason"])),
                            absent_reason="no cells in the single-cell files")
        flows.append(sample_flow(samples, design, "single_cell", reason))
        for path in single_cell_paths(config):
            files.append(("single_cell", path, f"{int(qc.loc[qc['file'] == str(path), 'n_cells_qc'].sum())} cells pass QC"))
    if config.get("expression") or config.get("single_cell"):
        signatures = run_signatures(config.get("scoring", {}))
        resolve_panel(config.get("statistics", {}).get("primary_panel", "library"), signatures)
        for i, path in enumerate(config.get("scoring", {}).get("gene_sets", [])):
            files.append((f"gene_sets[{i}]", path, f"{sum(s.collection.endswith(Path(path).name) for s in signatures.values())} gene sets"))
    flow = pd.concat(flows, ignore_index=True)
    for modality in flow["modality"].unique():
        require_pairs(flow[flow["modality"] == modality], modality, config["samples"])
    table = pd.DataFrame([dict(input=name, path=str(path), sha256=sha256(path), bytes=Path(path).stat().st_size,
                               summary=summary) for name, path, summary in files])
    if design.blinded:  # the sheet's own checksum would reveal a relabelling of arms
        table.loc[0, ["sha256", "bytes"]] = [hashlib.sha256(samples.drop(columns="_line").to_csv(sep="\t").encode()).hexdigest(), ""]
        table.loc[0, "summary"] += " (blinded: checksum of the sheet as read, without its arm column)"
    return flow, table
