"""Expression readers → one AnnData (samples × genes) joined to the sample sheet.

Formats (``expression.format`` in the config) are registered in :data:`FORMATS`; a new format is
one reader function and one :class:`ExpressionFormat` entry. The text-matrix formats share
:func:`read_matrix` and differ only in a :class:`MatrixFormat` (identifier columns, value check,
collapse rule, analysis scale):

``counts``
    genes × samples integer counts; first column gene identifiers (symbols, Ensembl — versioned or
    not — or Entrez).
``nfcore_salmon_counts`` / ``nfcore_salmon_tpm``
    nf-core/rnaseq ``salmon.merged.gene_counts.tsv`` / ``salmon.merged.gene_tpm.tsv``: ``gene_id``
    (Ensembl), ``gene_name``, then one column per sample. Salmon's estimated counts are rounded to
    integers for count models, as nf-core's own DESeq2 step does.
``normalised``
    genes × samples normalised expression (NanoString, arrays) on the declared ``scale``.
``nanostring_rcc``
    a folder, glob or list of NanoString nCounter ``.RCC`` files: read, matched to the sheet, QC'd
    and normalised as nSolver does by :func:`tme.nanostring.read_nanostring`; samples failing the
    nCounter QC (policy ``exclude``) are excluded with the reason.

Analysis scale (``adata.X``): log2(CPM + 1) for counts (CPM on the sample's total counts),
log2(TPM + 1) for TPM, the given values for log2 data (log10 multiplied by log2(10), linear as
log2(x + 1)), log2 nCounter-normalised counts for RCC files. Raw integer counts go to
``adata.layers["counts"]``.

Gene identifiers are mapped to current HGNC symbols with :class:`tme.genes.GeneMap`; identifiers
that do not map are dropped and listed (``unmapped_genes``). Several identifiers mapping to one
symbol are collapsed: counts and TPM are **summed** (they measure the same gene's transcripts, e.g.
PAR_Y copies of Ensembl IDs); normalised log values keep the **row with the highest mean**
(collapseRows "maxMean", Miller 2011), since log values cannot be added.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from tme.errors import TmeInputError
from tme.genes import GeneMap, describe_excel_mangled, find_excel_mangled
from tme.io import MISSING_TOKENS, read_matrix_text

if TYPE_CHECKING:  # anndata takes 0.6 s to import; rules that only read the config never need it
    import anndata as ad


@dataclass
class ExpressionInput:
    """The harmonised expression data and what the reader found on the way.

    ``qc_exclusions``: sample → reason, for samples the format's QC excludes (library size below
    ``min_library_size``, a failed nCounter QC); ``tables``: the format's own QC tables by name,
    written as ``results/qc/<name>.tsv`` (:func:`format_tables` lists the names a config yields).
    """

    adata: ad.AnnData
    unmapped: pd.DataFrame  # input_id, id_type, status: identifiers dropped
    extra_samples: list[str]  # matrix columns (or files) not in the sheet (ignored when allowed)
    qc_exclusions: dict[str, str] = field(default_factory=dict)
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)


@dataclass(frozen=True)
class MatrixFormat:
    """What distinguishes one genes × samples text matrix from another.

    ``id_columns``: the identifier columns (``()`` = the first column; more than one = try each in
    turn); ``check(values, samples, path, settings)`` validates (and may round) the raw values;
    ``collapse``: ``sum`` or ``maxmean`` for identifiers mapping to one gene; ``scale(values,
    settings)`` returns the analysis scale and its label (``None``: counts, analysed as log2(CPM + 1)
    and kept in ``layers["counts"]``, with library sizes checked).
    """

    id_columns: tuple[str, ...]
    check: Callable[[np.ndarray, list[str], Path, Mapping[str, Any]], np.ndarray]
    collapse: str
    scale: Callable[[np.ndarray, Mapping[str, Any]], tuple[np.ndarray, str]] | None = None


def _id_columns(frame: pd.DataFrame, fmt: str, spec: MatrixFormat, path: Path) -> list[str]:
    if not spec.id_columns:
        return [frame.columns[0]]
    missing = [c for c in spec.id_columns if c not in frame.columns]
    if missing:
        raise TmeInputError(
            f"column(s) {', '.join(missing)} missing for format {fmt}",
            file=path,
            line=1,
            fix="point at nf-core/rnaseq's salmon.merged.gene_counts.tsv or gene_tpm.tsv, or set expression.format: "
            "counts",
        )
    return list(spec.id_columns)


def _to_numeric(block: pd.DataFrame, path: Path) -> np.ndarray:
    """Convert string cells to float64, raising at the first non-numeric, missing or infinite cell."""
    values = block.apply(pd.to_numeric, errors="coerce").to_numpy(dtype=np.float64)
    bad = ~np.isfinite(values)
    if bad.any():
        row, col = np.argwhere(bad)[0]
        raw = block.iat[row, col]
        kind = "a missing or infinite value" if raw.strip().lower() in MISSING_TOKENS else f"non-numeric value {raw!r}"
        n = int(bad.sum())
        raise TmeInputError(
            f"{kind} ({n} such cell{'s' if n > 1 else ''} in the matrix)",
            file=path,
            line=int(row) + 2,
            column=str(block.columns[col]),
            fix="every expression cell must be a finite number; re-export the matrix without missing values",
        )
    return values


def _refuse_negative(values: np.ndarray, columns: list[str], path: Path, what: str, fix: str) -> None:
    """Error at the first negative cell (line and sample column named)."""
    negative = np.argwhere(values < 0)
    if len(negative):
        row, col = negative[0]
        raise TmeInputError(
            f"{what} {values[row, col]:g}", file=path, line=int(row) + 2, column=str(columns[col]), fix=fix
        )


def _integer_counts(values: np.ndarray, samples: list[str], path: Path, settings: Mapping[str, Any]) -> np.ndarray:
    _refuse_negative(
        values,
        samples,
        path,
        "negative count",
        "counts must be ≥ 0; if these are normalised or log values set expression.format: normalised",
    )
    frac = values != np.rint(values)
    if frac.any():
        row, col = np.argwhere(frac)[0]
        raise TmeInputError(
            f"non-integer count {values[row, col]:g}",
            file=path,
            line=int(row) + 2,
            column=samples[col],
            fix="give raw integer counts (e.g. featureCounts/STAR); for salmon estimates use format "
            "nfcore_salmon_counts, for normalised data format normalised",
        )
    return values


def _estimated_counts(values: np.ndarray, samples: list[str], path: Path, settings: Mapping[str, Any]) -> np.ndarray:
    """Salmon's estimated counts, rounded for count models as nf-core's own DESeq2 step does."""
    _refuse_negative(values, samples, path, "negative count", "give nf-core's salmon.merged.gene_counts.tsv unchanged")
    return np.rint(values)


def _tpm(values: np.ndarray, samples: list[str], path: Path, settings: Mapping[str, Any]) -> np.ndarray:
    _refuse_negative(values, samples, path, "negative TPM value", "give salmon's gene_tpm.tsv unchanged")
    return values


def _normalised(values: np.ndarray, samples: list[str], path: Path, settings: Mapping[str, Any]) -> np.ndarray:
    """Values on the declared scale: plausible for it (:func:`_check_log_scale`), ≥ 0 when linear."""
    scale = settings.get("scale", "log2")
    _check_log_scale(values, scale, path)
    if scale == "linear":
        _refuse_negative(
            values,
            samples,
            path,
            "negative value on a linear scale",
            "set expression.scale to log2 or log10 if the values are logged",
        )
    return values


def _log2_tpm(values: np.ndarray, settings: Mapping[str, Any]) -> tuple[np.ndarray, str]:
    return np.log2(values + 1), "log2(TPM + 1)"


def _declared_scale(values: np.ndarray, settings: Mapping[str, Any]) -> tuple[np.ndarray, str]:
    """log2 as given; log10 × log2(10); linear as log2(x + 1)."""
    scale = settings.get("scale", "log2")
    if scale == "linear":
        return np.log2(values + 1), "log2(x + 1) of linear normalised values"
    return (values * np.log2(10) if scale == "log10" else values), f"log2 (from {scale})"


def _gene_ids(frame: pd.DataFrame, id_cols: list[str], path: Path) -> pd.DataFrame:
    ids = frame[id_cols].copy()
    for column in id_cols:
        ids[column] = ids[column].str.strip()
        empty = ids[column] == ""
        if empty.any() and column == id_cols[0]:
            raise TmeInputError(
                "empty gene identifier",
                file=path,
                line=int(np.argmax(empty.to_numpy())) + 2,
                column=column,
                fix="every row needs a gene identifier",
            )
    first = ids[id_cols[0]]
    dup = first.duplicated(keep=False)
    if dup.any():
        name = first[dup].iloc[0]
        lines = (np.flatnonzero((first == name).to_numpy()) + 2).tolist()
        raise TmeInputError(
            f"gene identifier {name!r} appears on lines {', '.join(map(str, lines[:5]))}",
            file=path,
            line=lines[1],
            column=id_cols[0],
            fix="give each gene one row (sum or drop duplicates upstream), or use unique Ensembl IDs",
        )
    mangled = find_excel_mangled(ids[id_cols[-1]].tolist())
    if mangled:
        where = int(np.flatnonzero(ids[id_cols[-1]].isin(mangled).to_numpy())[0]) + 2
        raise TmeInputError(
            describe_excel_mangled(mangled),
            file=path,
            line=where,
            column=id_cols[-1],
            fix="re-export the matrix without opening it in Excel (or import gene names as text), or use Ensembl IDs",
        )
    return ids


def _map_symbols(ids: pd.DataFrame, id_cols: list[str]) -> pd.DataFrame:
    """Per row: symbol (or '' if unmapped), id_type, status; nf-core rows fall back to gene_name."""
    gm = GeneMap.load()
    mapped = gm.to_symbols(ids[id_cols[0]].tolist()).reset_index(drop=True)
    if len(id_cols) > 1:
        retry = mapped["status"] != "mapped"
        if retry.any():
            second = gm.to_symbols(ids.loc[retry.to_numpy(), id_cols[1]].tolist()).reset_index(drop=True)
            second["input_id"] = mapped.loc[retry, "input_id"].to_numpy() + "|" + second["input_id"]
            mapped.loc[retry.to_numpy()] = second.to_numpy()
    return mapped


def _collapse(values: np.ndarray, symbols: np.ndarray, how: str) -> tuple[np.ndarray, np.ndarray]:
    """Collapse rows sharing a symbol: ``sum`` or ``maxmean`` (row with the highest mean); sorted symbols."""
    uniq, inverse = np.unique(symbols, return_inverse=True)
    if how == "sum":
        out = np.zeros((len(uniq), values.shape[1]))
        np.add.at(out, inverse, values)
        return out, uniq
    means = values.mean(axis=1)
    order = np.lexsort((-means, inverse))  # per symbol, highest mean first
    first = order[np.r_[True, inverse[order][1:] != inverse[order][:-1]]]
    return values[first], uniq


#: Highest plausible log2 expression: 2^30 ≈ 1e9 reads or TPM in one gene cannot happen, so larger
#: values mean linear values (counts, TPM) declared as log.
MAX_LOG2 = 30.0


def _check_log_scale(values: np.ndarray, scale: str, path: Path) -> None:
    """Refuse a log-declared matrix whose values can only be linear (counts or TPM)."""
    if scale == "linear":
        return
    top = float(values.max()) * (np.log2(10) if scale == "log10" else 1.0)
    if top > MAX_LOG2:
        raise TmeInputError(
            f"values up to {values.max():g} on a declared {scale} scale would mean more than 2^{MAX_LOG2:g} "
            "(a billion) per gene, so they look linear",
            file=path,
            column="(values)",
            fix="set expression.scale: linear for linear normalised values, or expression.format: counts for raw "
            "counts",
        )


def read_matrix(spec: MatrixFormat, settings: Mapping[str, Any], samples: pd.DataFrame) -> ExpressionInput:
    """Read a genes × samples text matrix of format ``spec`` and join it to the sample sheet.

    ``samples`` is the validated sheet (:func:`tme.samplesheet.read_samplesheet`). Samples with an
    ``exclude_reason`` may be absent from the matrix; every other sheet sample must be present.
    """
    fmt = settings.get("format", "counts")
    frame, path = read_matrix_text(settings["path"], "expression matrix")
    id_cols = _id_columns(frame, fmt, spec, path)
    sample_cols = [c for c in frame.columns if c not in id_cols]
    if not sample_cols:
        raise TmeInputError(
            "the matrix has no sample columns",
            file=path,
            line=1,
            fix="genes in rows, one column per sample after the gene identifier column",
        )
    if frame.empty:
        raise TmeInputError(
            "the matrix has a header but no gene rows",
            file=path,
            line=2,
            fix="export the matrix again with its rows (the file may have been cut short)",
        )
    source, extra = _match_samples(sample_cols, samples, settings, path)
    ids = _gene_ids(frame, id_cols, path)
    values = _to_numeric(frame[sample_cols], path)[:, [sample_cols.index(s) for s in source]]
    values = spec.check(values, list(source), path, settings)

    mapped = _map_symbols(ids, id_cols)
    ok = (mapped["status"] == "mapped").to_numpy()
    if not ok.any():
        raise TmeInputError(
            f"none of the matrix's {len(ok):,} gene identifiers maps to a human gene (e.g. "
            f"{', '.join(map(repr, mapped['input_id'].head(3)))})",
            file=path,
            column=id_cols[0],
            fix="give human gene symbols, Ensembl gene IDs (ENSG…) or Entrez IDs in the first column",
        )
    unmapped = mapped.loc[~ok, ["input_id", "id_type", "status"]].reset_index(drop=True)
    values, symbols = _collapse(values[ok], mapped.loc[ok, "symbol"].to_numpy(dtype=str), spec.collapse)
    n_ids = pd.Series(mapped.loc[ok, "symbol"]).value_counts().reindex(symbols).to_numpy()

    keep = list(source.values())
    counts, low = None, {}
    if spec.scale is None:
        counts = values.astype(np.int64)
        library = counts.sum(axis=0)
        minimum = settings.get("min_library_size", 0)
        low = {
            s: f"library size {n:,.0f} < {minimum:,} (expression.min_library_size)"
            for s, n in zip(keep, library)
            if n < minimum
        }
        with np.errstate(divide="ignore", invalid="ignore"):
            x, label = np.log2(counts / np.where(library > 0, library, 1) * 1e6 + 1), "log2(CPM + 1)"
    else:
        x, label = spec.scale(values, settings)
    obs = samples.loc[keep].drop(columns=["_line", "source_id", "source_patient_id"])
    var = pd.DataFrame({"n_input_ids": n_ids}, index=pd.Index(symbols, name=None))
    import anndata as ad

    adata = ad.AnnData(X=x.T.astype(np.float64), obs=obs, var=var)
    if counts is not None:
        adata.layers["counts"] = counts.T
    adata.uns["tme"] = {
        "expression_format": fmt,
        "expression_file": str(path),
        "analysis_scale": label,
        "collapse_rule": spec.collapse,
    }
    return ExpressionInput(adata, unmapped, extra, qc_exclusions=low)


def _match_samples(
    sample_cols: list[str], samples: pd.DataFrame, settings: Mapping[str, Any], path: Path
) -> tuple[dict[str, str], list[str]]:
    """(matrix column → sheet sample for every usable sheet sample, matrix columns not in the sheet)."""
    usable = samples[samples["exclude_reason"] == ""]
    source = dict(zip(usable["source_id"], usable.index))  # IDs as written in the files → IDs used
    missing = [s for s in source if s not in sample_cols]
    if missing:
        first = usable.loc[source[missing[0]], "_line"]
        raise TmeInputError(
            f"{len(missing)} sample(s) have no column in the expression matrix {path} "
            f"({', '.join(missing[:5])}{', …' if len(missing) > 5 else ''})",
            file=samples.attrs.get("path"),
            line=int(first),
            column="sample_id",
            fix="correct the sample_id, or set the sample's exclude_reason (e.g. 'RNA failed') if it was not sequenced",
        )
    extra = [c for c in sample_cols if c not in set(samples["source_id"])]
    if extra and settings.get("extra_samples", "error") == "error":
        raise TmeInputError(
            f"{len(extra)} matrix column(s) are not in the sample sheet "
            f"({', '.join(extra[:5])}{', …' if len(extra) > 5 else ''})",
            file=path,
            line=1,
            column=extra[0],
            fix="add them to the sample sheet, or set expression.extra_samples: ignore to analyse only the sheet's "
            "samples",
        )
    return source, extra


def _one_file(settings: Mapping[str, Any]) -> list[str]:
    """The matrix file of a text-matrix format (one file, never a list)."""
    path = settings["path"]
    if not isinstance(path, str):
        raise TmeInputError(
            f"config key 'expression.path' lists {len(path)} files, but format {settings.get('format', 'counts')} "
            "reads one matrix",
            fix="give one matrix file (only format nanostring_rcc reads a folder, a glob or a list of files)",
        )
    return [path]


def _no_tables(settings: Mapping[str, Any]) -> tuple[str, ...]:
    return ()


@dataclass(frozen=True)
class ExpressionFormat:
    """A registered ``expression.format``: its reader, whether it yields counts for gene-level DE, the
    files it reads (``paths(settings)``: checked, checksummed and tracked by Snakemake) and the names of
    its own QC tables (``tables(settings)``)."""

    name: str
    description: str
    read: Callable[[Mapping[str, Any], pd.DataFrame], ExpressionInput]
    has_counts: bool
    paths: Callable[[Mapping[str, Any]], list[str]] = _one_file
    tables: Callable[[Mapping[str, Any]], tuple[str, ...]] = _no_tables


def _matrix_format(name: str, description: str, spec: MatrixFormat) -> ExpressionFormat:
    return ExpressionFormat(name, description, partial(read_matrix, spec), has_counts=spec.scale is None)


def _read_rcc(settings: Mapping[str, Any], samples: pd.DataFrame) -> ExpressionInput:
    """``nanostring_rcc``: :func:`tme.nanostring.read_nanostring`, its QC and file tables kept by name."""
    from tme.nanostring import read_nanostring

    result = read_nanostring(settings, samples)
    files = result.files[result.files["status"] == "used"].set_index("sample_id")
    qc = result.qc.copy()
    qc.insert(2, "match_by", files["match_by"].reindex(qc["sample_id"]).to_numpy())
    qc.insert(3, "matched_on", files["matched_on"].reindex(qc["sample_id"]).to_numpy())
    tables = {"nanostring_qc": qc, "nanostring_files": result.files}
    if result.genorm is not None:
        tables["nanostring_genorm"] = result.genorm
    return ExpressionInput(result.adata, result.unmapped, result.extra_samples, dict(result.qc_exclusions), tables)


def _rcc_paths(settings: Mapping[str, Any]) -> list[str]:
    """Every RCC file the folder, glob or list names, and the RLF when one is given."""
    from tme.nanostring import rcc_paths

    rlf = (settings.get("nanostring") or {}).get("rlf")
    return [str(p) for p in rcc_paths(settings["path"])] + ([str(rlf)] if rlf else [])


def _rcc_tables(settings: Mapping[str, Any]) -> tuple[str, ...]:
    genorm = bool((settings.get("nanostring") or {}).get("genorm"))
    return ("nanostring_qc", "nanostring_files") + (("nanostring_genorm",) if genorm else ())


_NFCORE = ("gene_id", "gene_name")

#: Registered expression formats by ``expression.format`` name (read-only).
FORMATS: Mapping[str, ExpressionFormat] = MappingProxyType(
    {
        f.name: f
        for f in (
            _matrix_format(
                "counts",
                "genes x samples integer counts, first column gene identifiers",
                MatrixFormat((), _integer_counts, "sum"),
            ),
            _matrix_format(
                "nfcore_salmon_counts",
                "nf-core/rnaseq salmon.merged.gene_counts.tsv (gene_id, gene_name, samples)",
                MatrixFormat(_NFCORE, _estimated_counts, "sum"),
            ),
            _matrix_format(
                "nfcore_salmon_tpm",
                "nf-core/rnaseq salmon.merged.gene_tpm.tsv (gene_id, gene_name, samples)",
                MatrixFormat(_NFCORE, _tpm, "sum", _log2_tpm),
            ),
            _matrix_format(
                "normalised",
                "genes x samples normalised expression (NanoString, arrays) on the declared scale",
                MatrixFormat((), _normalised, "maxmean", _declared_scale),
            ),
            ExpressionFormat(
                "nanostring_rcc",
                "a folder, glob or list of NanoString nCounter .RCC files (nCounter QC, nSolver normalisation)",
                _read_rcc,
                has_counts=True,
                paths=_rcc_paths,
                tables=_rcc_tables,
            ),
        )
    }
)


def read_expression(settings: Mapping[str, Any], samples: pd.DataFrame) -> ExpressionInput:
    """Read the expression data the config's ``expression`` section names (format from :data:`FORMATS`)."""
    return FORMATS[settings.get("format", "counts")].read(settings, samples)


def expression_paths(settings: Mapping[str, Any] | None) -> list[str]:
    """Every file the ``expression`` section makes tme read (a matrix, or RCC files and the RLF)."""
    return FORMATS[settings.get("format", "counts")].paths(settings) if settings else []


def format_tables(settings: Mapping[str, Any] | None) -> tuple[str, ...]:
    """Names of the format's own QC tables (``results/qc/<name>.tsv``), e.g. ``nanostring_qc``."""
    return FORMATS[settings.get("format", "counts")].tables(settings) if settings else ()


def analysis_transform(settings: Mapping[str, Any] | None) -> str:
    """How the analysis scale relates to the measured values (a key of
    :data:`tme.stats.effects.BACK_TRANSFORMS`): ``log2(x+1)`` for counts and TPM (log2 CPM/TPM + 1) and
    linear normalised values, ``log2`` for normalised values given on a log scale and for nCounter
    counts (normalised, floored at 1 and logged without a pseudocount)."""
    if not settings:
        return "none"
    fmt = settings.get("format", "counts")
    if fmt == "nanostring_rcc" or (fmt == "normalised" and settings.get("scale", "log2") != "linear"):
        return "log2"
    return "log2(x+1)"


def has_counts(settings: Mapping[str, Any] | None) -> bool:
    """Whether an ``expression`` section yields counts (so that gene-level DE can run)."""
    return bool(settings) and FORMATS[settings.get("format", "counts")].has_counts


def _per_sample(adata: ad.AnnData, columns: Sequence[str] = ("patient_id", "arm", "timepoint")) -> pd.DataFrame:
    """One row per sample: ``sample_id`` and the sheet's ``columns``, the start of every per-sample table."""
    out = pd.DataFrame({column: adata.obs[column].to_numpy() for column in columns})
    out.insert(0, "sample_id", adata.obs_names.to_numpy())
    return out


def expression_qc(adata: ad.AnnData) -> pd.DataFrame:
    """Per-sample QC: library size and detected genes (counts > 0) for counts; median log expression always."""
    out = _per_sample(adata)
    if "counts" in adata.layers:
        counts = np.asarray(adata.layers["counts"])
        out["library_size"] = counts.sum(axis=1)
        out["detected_genes"] = (counts > 0).sum(axis=1)
    out["median_log2_expression"] = np.median(np.asarray(adata.X), axis=1)
    return out


#: Genes the expression PCA uses: the most variable on the analysis (log) scale.
PCA_TOP_GENES = 2000


def principal_components(X: np.ndarray, n_top: int = PCA_TOP_GENES, n_components: int = 2):
    """Scores (samples × components) and fraction of variance explained of the ``n_top`` genes with
    the largest variance in ``X`` (samples × genes, log scale), each gene centred.

    Exact SVD ``Z = U S Vᵀ``; scores ``U S``, variance explained ``s_j² / Σ s²``; each component's
    sign is fixed so that its largest-magnitude loading is positive (deterministic across runs and
    BLAS builds). Ties in variance keep the genes' order.
    """
    X = np.asarray(X, dtype=float)
    keep = np.argsort(-X.var(axis=0), kind="stable")[: min(n_top, X.shape[1])]
    Z = X[:, keep] - X[:, keep].mean(axis=0)
    U, S, Vt = np.linalg.svd(Z, full_matrices=False)
    k = min(n_components, len(S))
    for j in range(k):
        if Vt[j, np.argmax(np.abs(Vt[j]))] < 0:
            U[:, j] *= -1
    total = (S**2).sum()
    explained = (S[:k] ** 2) / total if total > 0 else np.zeros(k)
    return U[:, :k] * S[:k], explained


def expression_pca(adata: ad.AnnData, n_top: int = PCA_TOP_GENES) -> pd.DataFrame:
    """The table behind the expression PCA figure: every sample's scores on the first two principal
    components of :func:`principal_components` (``PC1``, ``PC2``), the fraction of variance each
    explains (``PC1_variance_explained``, ``PC2_variance_explained``: the same on every row) and the
    number of genes used (``n_genes``), with the sample's patient, arm, timepoint and batch (when the
    sheet has one). Fewer than 3 samples: no rows (no PCA is drawn)."""
    out = _per_sample(adata, ("patient_id", "arm", "timepoint", *(["batch"] if "batch" in adata.obs else [])))
    if adata.n_obs < 3:
        pcs = ["PC1", "PC2", "PC1_variance_explained", "PC2_variance_explained", "n_genes"]
        return out.iloc[:0].reindex(columns=[*out.columns, *pcs])
    scores, explained = principal_components(np.asarray(adata.X), n_top)
    scores = np.pad(scores, ((0, 0), (0, 2 - scores.shape[1])), constant_values=np.nan)  # one gene: no PC2
    explained = np.pad(explained, (0, 2 - len(explained)), constant_values=np.nan)
    out["PC1"], out["PC2"] = scores[:, 0], scores[:, 1]
    out["PC1_variance_explained"], out["PC2_variance_explained"] = explained
    out["n_genes"] = min(n_top, adata.n_vars)
    return out
