"""Read and check every input a config names, before any analysis: the sample flow and checksums.

Gene-set files, covariates, the primary panel and the pairs the planning needs are checked here
too. This is what ``tme validate`` prints and what the workflow's first rule writes
(``results/tables/sample_flow.tsv``, ``results/qc/input_files.tsv``); every later rule depends on
it, so bad input stops the run before anything is written. :func:`check_inputs` writes nothing at
all — not even a new pseudonymisation key or the ID mapping; :func:`write_checked_inputs` writes
them, and the tables, only once every check has passed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from tme.config import Design, single_cell_paths
from tme.errors import TmeInputError
from tme.expression import expression_paths, read_expression
from tme.features import ESTIMATE_COMPOSITES, immune_features, planned_signature_features
from tme.flow import exclusions, require_pairs, sample_flow
from tme.immune import read_immune
from tme.io import write_tsv
from tme.plan import AnalysisPlan
from tme.plan.baseline import baseline_covariates, per_protocol_patients, read_patients
from tme.planning.settings import check_planned_pairs
from tme.pseudonym import Pseudonymiser, mapping_table
from tme.samplesheet import read_samplesheet
from tme.signature_scores import run_signatures, scoring_plan, signature_coverage
from tme.stats.design import check_covariates


def sha256(path: str | Path) -> str:
    """Hex SHA-256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def pseudonymiser(config: Mapping[str, Any], *, create_key: bool = False) -> Pseudonymiser | None:
    """The run's :class:`Pseudonymiser` when ``pseudonymise_ids`` is set (a missing key is made in memory
    with ``create_key``; :meth:`Pseudonymiser.save_key` writes it)."""
    if not config.get("pseudonymise_ids"):
        return None
    return Pseudonymiser.from_key_file(config["pseudonymisation"]["key_file"], create=create_key)


def read_sheet(config: Mapping[str, Any], ids: Pseudonymiser | None = None) -> pd.DataFrame:
    """The validated sample sheet of a config, pseudonymised when ``pseudonymise_ids`` is set."""
    if ids is None:
        ids = pseudonymiser(config)
    return read_samplesheet(config["samples"], Design.from_config(config), ids)


def read_single_cell(config: Mapping[str, Any], samples: pd.DataFrame):
    """Cells of the config's .h5ad files passing QC, and the per-sample QC table (:func:`tme.singlecell.read_h5ads`)."""
    from tme.singlecell import read_h5ads  # scanpy takes seconds to import; only single-cell runs need it

    s = config["single_cell"]
    return read_h5ads(
        single_cell_paths(config),
        samples,
        min_genes=s["min_genes"],
        min_counts=s["min_counts"],
        max_pct_mito=s["max_pct_mito"],
        min_cells=s["min_cells"],
    )


@dataclass
class CheckedInputs:
    """What :func:`check_inputs` found: the sample flow, the input files table, the sheet as read
    and the pseudonymiser (whose key may still have to be written)."""

    flow: pd.DataFrame
    files: pd.DataFrame
    samples: pd.DataFrame
    ids: Pseudonymiser | None
    coverage: pd.DataFrame | None = None  # signature × method coverage on the expression data (the rule applied)


def _modalities(config: Mapping[str, Any], samples: pd.DataFrame) -> tuple[list, list, list, pd.Index | None]:
    """Per data modality: (modality, exclusion reasons, data file); rows of the input files table; the
    features produced; the genes of the expression data (None without expression)."""
    modalities, files, produced, genes = [], [], [], None
    if config.get("expression"):
        settings = config["expression"]
        result = read_expression(settings, samples)
        shown = settings["path"] if isinstance(settings["path"], str) else ", ".join(settings["path"])
        reason = exclusions(samples, set(result.adata.obs_names), result.qc_exclusions)
        modalities.append(("expression", reason, shown))
        produced.append(
            pd.DataFrame({"feature": "gene|" + result.adata.var_names, "feature_type": "gene", "family": "genes"})
        )
        files.append(("expression", shown, _expression_summary(result), expression_paths(settings)))
        genes = result.adata.var_names
    if config.get("immune"):
        values, measures = read_immune(config["immune"], samples)
        reason = exclusions(samples, set(values["sample_id"]), absent_reason="no immune-cell measurement")
        modalities.append(("immune", reason, config["immune"]["path"]))
        produced.append(immune_features(values)[1])
        files.append(
            (
                "immune",
                config["immune"]["path"],
                f"{len(measures)} measures ({', '.join(measures['measure'])}) on {values['sample_id'].nunique()} "
                "samples",
            )
        )
    if config.get("single_cell"):
        cells, qc = read_single_cell(config, samples)
        produced.append(_singlecell_feature_names(config, cells))
        reason = exclusions(
            samples,
            set(qc["sample_id"]),
            dict(zip(qc["sample_id"], qc["exclude_reason"])),
            absent_reason="no cells in the single-cell files",
        )
        modalities.append(("single_cell", reason, ", ".join(map(str, single_cell_paths(config)))))
        for path in single_cell_paths(config):
            files.append(
                ("single_cell", path, f"{int(qc.loc[qc['file'] == str(path), 'n_cells_qc'].sum())} cells pass QC")
            )
    if config.get("cells"):
        modality, rows, names = _cell_modality(config["cells"], samples)
        modalities.append(modality)
        files += rows
        produced.append(names)
    return modalities, files, produced, genes


def _expression_summary(result) -> str:
    """One line on what the expression reader found (and, for RCC files, the matching and nCounter QC)."""
    text = f"{result.adata.n_obs} samples x {result.adata.n_vars} genes; {len(result.unmapped)} identifiers unmapped; "
    files = result.tables.get("nanostring_files")
    if files is None:
        return text + (
            f"{len(result.extra_samples)} matrix columns not in the sheet; {len(result.qc_exclusions)} below "
            "min_library_size"
        )
    qc = result.tables["nanostring_qc"]
    return text + (
        f"{len(files)} RCC files matched to the sheet by {files['match_by'].iat[0]} ({len(result.extra_samples)} not "
        f"in the sheet); nCounter QC: {int((qc['qc_action'] == 'exclude').sum())} excluded, "
        f"{int((qc['qc_action'] == 'flag').sum())} flagged; checksum of the sha256sum manifest of every file read"
    )


def _file_row(name: str, shown: str, summary: str, paths: list[str] | None = None) -> dict:
    """A row of the input files table; several files (a folder of RCC files) get the SHA-256 of their
    ``sha256sum``-style manifest (one ``<sha256>  <file name>`` line per file, sorted by path) and their
    total size."""
    paths = [shown] if paths is None else paths
    if len(paths) == 1:
        digest, size = sha256(paths[0]), Path(paths[0]).stat().st_size
    else:
        manifest = "".join(f"{sha256(p)}  {Path(p).name}\n" for p in sorted(paths))
        digest, size = hashlib.sha256(manifest.encode()).hexdigest(), sum(Path(p).stat().st_size for p in paths)
    return dict(input=name, path=str(shown), sha256=digest, bytes=size, summary=summary)


def _cell_modality(section: Mapping[str, Any], samples: pd.DataFrame) -> tuple[tuple, list[tuple], pd.DataFrame]:
    """Every cell export checked in full (:func:`tme.cells.cohort.check_cell_cohort`): the modality's
    exclusions, rows of the input files table (manifest, region table, each export and annotation
    file) and the cell-metric features the run will produce."""
    from tme.cells.cohort import check_cell_cohort
    from tme.cells.metrics import planned_features

    settings, exports = check_cell_cohort(section, samples)
    reason = exclusions(samples, set(exports["sample_id"]), absent_reason="no cell export")
    source = section.get("manifest") or section["directory"]
    rows = [("cells", source, f"{len(exports)} usable biopsies with an export, {exports['n_cells'].sum():,} cells")]
    if section.get("regions"):
        rows.append(("cells_regions", section["regions"], "region areas"))
    for export in exports.to_dict("records"):
        rows.append(("cells_export", export["file"], f"{export['sample_id']}: {export['n_cells']:,} cells"))
        if export.get("annotation_file"):
            rows.append(("cells_annotation", export["annotation_file"], f"{export['sample_id']}: region areas"))
    names = planned_features(settings.plan, settings.phenotypes.types, settings.compartments.compartments)
    return ("cells", reason, source), rows, names


def _singlecell_feature_names(config: Mapping[str, Any], cells) -> pd.DataFrame:
    """The single-cell features a run can produce: proportions and scores per cell type (types from the
    files' ``cell_type``, or the marker panel's when tme annotates)."""
    from tme.singlecell.summarise import MARKER_PANEL, UNASSIGNED

    annotate = config["single_cell"]["annotate"] == "always" or "cell_type" not in cells.obs.columns
    types = [*MARKER_PANEL, UNASSIGNED] if annotate else list(cells.obs["cell_type"].astype(str).unique())
    signatures = run_signatures(config.get("scoring", {}))
    names = [f"proportion|{t}" for t in types] + [f"score|{s}|{t}" for s in signatures for t in types]
    return pd.DataFrame({"feature": names, "feature_type": "single_cell", "family": "single_cell"})


def _signature_features(
    config: Mapping[str, Any], signatures, genes: pd.Index | None
) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """The signature features a run produces (the pairs meeting the coverage rule on the expression data)
    and the coverage table (None without expression data)."""
    scoring = config.get("scoring", {})
    plan = scoring_plan(signatures, scoring.get("methods", "authors"))
    coverage = None
    if genes is not None:
        rule = {k: scoring[k] for k in ("min_genes", "min_fraction") if k in scoring}
        coverage = signature_coverage(genes, signatures, plan, **rule)
        plan = [(s, m) for s, m, ok in zip(coverage["signature"], coverage["method"], coverage["scored"]) if ok]
    features = pd.DataFrame(
        {"feature": planned_signature_features(plan), "feature_type": "signature", "family": "exploratory_signatures"}
    )
    return features, coverage


def check_endpoint_coverage(config: Mapping[str, Any], coverage: pd.DataFrame) -> None:
    """A pre-specified endpoint cannot silently vanish: an analysis-plan endpoint naming a signature ×
    method below the coverage rule is an error naming the endpoint, its coverage and the fix."""
    below = coverage[~coverage["scored"]]
    reasons = {
        f"{s}|{m}": (c, r)
        for s, m, c, r in zip(below["signature"], below["method"], below["coverage"], below["reason"])
    }
    for composite in ESTIMATE_COMPOSITES:  # made of the two ESTIMATE signatures
        parts = [reasons.get(f"{s}|estimate") for s in ("ESTIMATE_StromalSignature", "ESTIMATE_ImmuneSignature")]
        if any(parts):
            reasons[f"{composite}|estimate"] = next(p for p in parts if p)
    for endpoint in (config.get("analysis_plan") or {}).get("endpoints", []):
        if endpoint["feature"] in reasons:
            cover, reason = reasons[endpoint["feature"]]
            raise TmeInputError(
                f"config key 'analysis_plan.endpoints': endpoint {endpoint['name']!r} ({endpoint['feature']}, "
                f"{endpoint['role']}) covers {cover} on this expression data, so it would not be scored "
                f"({reason.removeprefix('not scored: ')}); a pre-specified endpoint cannot silently vanish",
                fix="name an endpoint the data measure (tme validate prints each signature's coverage), or, "
                "before freezing the plan, lower scoring.min_genes / scoring.min_fraction and give the reason in "
                "the SAP",
            )


def check_plan(
    config: Mapping[str, Any], design: Design, samples: pd.DataFrame, produced: list[pd.DataFrame]
) -> tuple[pd.DataFrame, list[str] | None]:
    """The analysis plan against the data: every endpoint's feature is produced, the patients sheet
    matches, covariates are baseline values present for every patient, strata are estimable.
    Returns (baseline covariates per patient, per-protocol patients or None)."""
    plan = AnalysisPlan.from_config(config)
    plan.feature_table(pd.concat(produced, ignore_index=True))
    patients = read_patients(plan.patients, samples) if plan.patients else None
    usable = samples[samples["exclude_reason"] == ""]
    baseline = baseline_covariates(plan, usable, patients, design.pre)
    missing = baseline[baseline.isna().any(axis=1)]
    if len(missing):
        column, patient = missing.columns[missing.isna().any()][0], missing.index[0]
        rows = usable[usable["patient_id"] == patient]
        pre_rows = rows[rows["timepoint"] == design.pre]["_line"]
        raise TmeInputError(  # the ID as written in the sheet (not a pseudonym), so that it can be found
            f"covariate {column!r} has no baseline value for patient {rows['source_patient_id'].iloc[0]!r} "
            f"({len(missing)} patient(s) in all)",
            file=samples.attrs.get("path"),
            line=int(pre_rows.iloc[0]) if len(pre_rows) else None,
            column=column,
            fix="fill it in at the pre-window sample (or in the patients sheet), or remove the covariate",
        )
    if not (design.blinded or design.single_arm):
        try:
            check_covariates(baseline, usable.drop_duplicates("patient_id").set_index("patient_id")["arm"], design)
        except TmeInputError as error:  # the values come from the sheets the plan names
            error.file = samples.attrs.get("path")
            raise
    return baseline, per_protocol_patients(plan, patients)


def check_inputs(config: Mapping[str, Any]) -> CheckedInputs:
    """Read every input of a validated config and check it; write nothing.

    The input files table has one row per file: ``input, path, sha256, bytes, summary``.
    Raises :class:`~tme.errors.TmeInputError` at the first problem.
    """
    design = Design.from_config(config)
    ids = pseudonymiser(config, create_key=True)
    samples = read_sheet(config, ids)
    check_planned_pairs(config, samples)  # as when Snakemake reads the workflow (tme.workflow)
    modalities, files, produced, genes = _modalities(config, samples)
    coverage = None
    if config.get("expression") or config.get("single_cell"):
        signatures = run_signatures(config.get("scoring", {}))
        features, coverage = _signature_features(config, signatures, genes)
        produced.append(features)
        if coverage is not None:
            check_endpoint_coverage(config, coverage)
        for i, path in enumerate(config.get("scoring", {}).get("gene_sets", [])):
            files.append(
                (
                    f"gene_sets[{i}]",
                    path,
                    f"{sum(s.collection.endswith(Path(path).name) for s in signatures.values())} gene sets",
                )
            )
    _, per_protocol = check_plan(config, design, samples, produced)
    flows = []
    for modality, reason, data_file in modalities:
        flow = sample_flow(samples, design, modality, reason, per_protocol)
        require_pairs(flow, modality, samples, data_file, design.post)
        flows.append(flow)
    files = [
        ("samples", config["samples"], f"{len(samples)} samples, {samples['patient_id'].nunique()} patients")
    ] + files
    table = pd.DataFrame([_file_row(*entry) for entry in files])
    if design.blinded:  # the sheet's own checksum would reveal a relabelling of arms
        table["bytes"] = table["bytes"].astype("Int64")  # the sheet's size is not shown either (written NA)
        table.loc[0, "sha256"] = hashlib.sha256(samples.drop(columns="_line").to_csv(sep="\t").encode()).hexdigest()
        table.loc[0, "bytes"] = pd.NA
        table.loc[0, "summary"] += " (blinded: checksum of the sheet as read, without its arm column)"
    return CheckedInputs(pd.concat(flows, ignore_index=True), table, samples, ids, coverage)


def write_checked_inputs(
    checked: CheckedInputs, config: Mapping[str, Any], flow_path: str | Path, files_path: str | Path
) -> None:
    """Write a new pseudonymisation key, the ID mapping (when configured) and the two tables."""
    if checked.ids is not None:
        checked.ids.save_key()
        mapping_file = config["pseudonymisation"].get("mapping_file")
        if mapping_file:
            write_tsv(mapping_table(checked.samples), mapping_file)
    write_tsv(checked.files, files_path)
    write_tsv(checked.flow, flow_path)
