"""Which signatures are scored with which methods, and the tidy score table the statistics read.

The run's signatures are the chosen library collections plus the user's gene-set files (GMT, or a
TSV ``signature, gene[, weight][, direction]``), legacy symbols resolved to current ones. Methods:

``authors`` (default)
    each signature with its primary method (the authors' where published; see
    ``tme/signatures/README.md``);
``all``
    that method plus the library's alternative methods, for sensitivity analyses;
a list of method names
    those methods for every signature (``weighted``/``cyt``/``mcpcounter``/``estimate`` only where
    they apply: the signature's own method).

Scores are computed on the analysis scale of :mod:`tme.expression` (log2 CPM + 1 for counts), so
``cyt`` is log2 of the geometric mean of GZMA and PRF1 (``log_base=2``); ssGSEA is the raw
enrichment score unless ``ssgsea_normalize`` is set, because GSVA's global-range normalisation
changes every score when samples are added (bad for pre/post work).

**Coverage rule** (:func:`signature_coverage`): a signature × method is scored only when the data
measure at least ``min_genes`` of its genes (or all of a smaller signature) and at least
``min_fraction`` of them — and, for a method that normalises to the signature's housekeepers
(``weighted``: the T-cell-inflamed GEP), at least ``min_fraction`` of those. Below the rule the
pair is not scored: absent from the score table and so from every statistics table and
multiplicity family, and listed in the coverage table with ``scored = False`` and the reason.
Defaults ``min_genes = 3``, ``min_fraction = 0.5``: one or two genes are a gene readout, not a
signature (a 2-gene signature such as cytolytic activity is scored when complete); with less than
half of its genes a signature no longer measures what its publication validated — on a targeted
panel the genes left are the designers' choice, a biased subset (a Hallmark set of 200 genes on a
750-gene immune panel keeps its immune genes). A panel user keeps every signature the panel was
designed to measure (Danaher cell types, the GEP, IL-1 sets on IO 360) and loses the rest with a
reason, where tme used to score the GEP from 1 of 18 genes.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from tme.errors import TmeInputError
from tme.features import ESTIMATE_COMPOSITES
from tme.geneset import Signature
from tme.io import read_text
from tme.scoring import METHODS, coverage, estimate_score, score, tumour_purity
from tme.signatures import (
    collection_names,
    default_methods,
    load_library,
    read_gmt,
    read_signature_table,
    resolve_symbols,
)

if TYPE_CHECKING:  # rules that read only the config do not import anndata (0.6 s)
    import anndata as ad

#: Default coverage rule (see the module docstring; ``scoring.min_genes``, ``scoring.min_fraction``).
MIN_GENES, MIN_FRACTION = 3, 0.5
#: Columns of the coverage table (:func:`signature_coverage`, ``results/qc/signature_coverage.tsv``).
COVERAGE_COLUMNS = [
    "signature",
    "method",
    "n_genes_in_signature",
    "n_genes_used",
    "n_housekeepers_in_signature",
    "n_housekeepers_used",
    "coverage",
    "scored",
    "reason",
    "missing_genes",
    "duplicated_genes",
]
SCORE_COLUMNS = [
    "sample_id",
    "patient_id",
    "arm",
    "timepoint",
    "signature",
    "method",
    "score",
    "n_genes_used",
    "n_genes_in_signature",
]


def run_signatures(settings: Mapping[str, Any]) -> dict[str, Signature]:
    """Library collections (``collections``: ``all`` or a list) plus user gene-set files (``gene_sets``)."""
    chosen = settings.get("collections", "all")
    available = collection_names()
    if chosen == "all":
        chosen = available
    unknown = [c for c in chosen if c not in available]
    if unknown:
        raise TmeInputError(
            f"config key 'scoring.collections' names unknown collection {unknown[0]!r}",
            fix=f"use 'all' or some of: {', '.join(available)}",
        )
    signatures = load_library(chosen)
    for path in settings.get("gene_sets", []):
        reader = read_gmt if str(path).lower().removesuffix(".gz").endswith(".gmt") else read_signature_table
        user = resolve_symbols(reader(path, collection=f"user:{Path(path).name}"))
        clash = sorted(set(user) & set(signatures))
        if clash:
            raise TmeInputError(
                f"gene set {clash[0]!r} has the name of a signature already loaded",
                file=path,
                line=_first_line_naming(path, clash[0]),
                fix="rename it (names must be unique across the library and your files)",
            )
        signatures.update(user)
    return signatures


def _first_line_naming(path: str | Path, name: str) -> int | None:
    """1-based line of a gene-set file whose first field is ``name`` (GMT set or TSV signature row)."""
    for number, line in enumerate(read_text(path, "gene-set").splitlines(), start=1):
        if line.split("\t", 1)[0].strip() == name:
            return number
    return None


def scoring_plan(signatures: Mapping[str, Signature], methods: str | Iterable[str]) -> list[tuple[str, str]]:
    """(signature, method) pairs to score, in library order."""
    plan = []
    for name, sig in signatures.items():
        own = default_methods(sig)
        if methods == "authors":
            chosen = own[:1]
        elif methods == "all":
            chosen = own
        else:
            chosen = [m for m in methods if not METHODS[m].own_method_only or m == own[0]]
        plan += [(name, m) for m in chosen]
    return plan


def _rule(row, min_genes: int, min_fraction: float) -> str:
    """Why a signature × method falls below the coverage rule ('' when it does not)."""
    n, used = row.n_genes_in_signature, row.n_genes_used
    need = min(min_genes, n)
    why = []
    if used < need or used < min_fraction * n:
        why.append(
            f"{used} of its {n} genes in the data "
            f"(scoring.min_genes {min_genes}, scoring.min_fraction {min_fraction:g})"
        )
    hk, hk_used = row.n_housekeepers_in_signature, row.n_housekeepers_used
    if hk and hk_used < min_fraction * hk:
        why.append(f"{hk_used} of its {hk} housekeepers in the data")
    return "not scored: " + "; ".join(why) if why else ""


def signature_coverage(
    genes: Iterable[str],
    signatures: Mapping[str, Signature],
    plan: list[tuple[str, str]],
    *,
    min_genes: int = MIN_GENES,
    min_fraction: float = MIN_FRACTION,
) -> pd.DataFrame:
    """Coverage of every signature × method of ``plan`` in ``genes`` and whether it meets the rule.

    One row per pair (:data:`COVERAGE_COLUMNS`, plan order): genes in the signature and used
    (:func:`tme.scoring.coverage`; ``singscore`` counts down genes too), housekeepers in the signature
    and in the data (only for methods that normalise to them, else 0), ``coverage`` as written in the
    statistics tables (``"12/18"``, ``"18/18; housekeepers 10/11"``), ``scored`` and ``reason`` (see
    the module docstring for the rule and its defaults).
    """
    present = set(map(str, genes))
    frames = []
    for method in dict.fromkeys(m for _, m in plan):
        sigs = [signatures[n] for n, m in plan if m == method]
        cover = coverage(present, sigs, directional=method == "singscore").assign(method=method)
        uses_hk = METHODS[method].needs_weights
        cover["n_housekeepers_in_signature"] = [len(set(s.housekeeping)) if uses_hk else 0 for s in sigs]
        cover["n_housekeepers_used"] = [len(set(s.housekeeping) & present) if uses_hk else 0 for s in sigs]
        frames.append(cover)
    if not frames:
        return pd.DataFrame(columns=COVERAGE_COLUMNS)
    order = {pair: i for i, pair in enumerate(plan)}
    table = pd.concat(frames, ignore_index=True)
    rank = [order[p] for p in zip(table["signature"], table["method"])]
    table = table.iloc[np.argsort(rank, kind="stable")].reset_index(drop=True)
    table["coverage"] = [
        f"{r.n_genes_used}/{r.n_genes_in_signature}"
        + (
            f"; housekeepers {r.n_housekeepers_used}/{r.n_housekeepers_in_signature}"
            if r.n_housekeepers_in_signature
            else ""
        )
        for r in table.itertuples()
    ]
    table["reason"] = [_rule(r, min_genes, min_fraction) for r in table.itertuples()]
    table["scored"] = table["reason"] == ""
    return table[COVERAGE_COLUMNS].reset_index(drop=True)


def feature_coverage(cover: pd.DataFrame) -> dict[str, str]:
    """Feature name (``<signature>|<method>``) → its ``coverage`` text, for the statistics tables; the
    ESTIMATE composites get both of their signatures' coverage."""
    out = {f"{s}|{m}": c for s, m, c in zip(cover["signature"], cover["method"], cover["coverage"])}
    parts = [out.get(f"{s}|estimate") for s in ("ESTIMATE_StromalSignature", "ESTIMATE_ImmuneSignature")]
    if all(parts):
        out |= {f"{c}|estimate": " + ".join(parts) for c in ESTIMATE_COMPOSITES}
    return out


def score_signatures(
    adata: ad.AnnData,
    signatures: Mapping[str, Signature],
    plan: list[tuple[str, str]],
    *,
    ssgsea_normalize: bool = False,
    n_jobs: int = 1,
    min_genes: int = MIN_GENES,
    min_fraction: float = MIN_FRACTION,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Score the pairs of ``plan`` that meet the coverage rule on ``adata``; return (tidy scores, the
    coverage table of every pair, :func:`signature_coverage`).

    The tidy table has :data:`SCORE_COLUMNS`; ESTIMATE adds ``ESTIMATE_Score`` (stromal + immune) and
    ``ESTIMATE_TumourPurity`` (Yoshihara 2013; calibrated on Affymetrix arrays, indicative only).
    """
    cover = signature_coverage(adata.var_names, signatures, plan, min_genes=min_genes, min_fraction=min_fraction)
    by_method: dict[str, list[str]] = {}
    for name, method, scored in zip(cover["signature"], cover["method"], cover["scored"]):
        if scored:
            by_method.setdefault(method, []).append(name)
    frames = []
    for method, names in by_method.items():
        options = dict(METHODS[method].workflow_options)
        if method == "ssgsea":
            options["normalize"] = ssgsea_normalize
        sigs = [signatures[n] for n in names]
        with warnings.catch_warnings():
            warnings.simplefilter("always")
            scores = score(adata, sigs, method, n_jobs=n_jobs, **options)
        if method == "estimate" and {"ESTIMATE_StromalSignature", "ESTIMATE_ImmuneSignature"} <= set(scores.columns):
            total = estimate_score(scores, stromal="ESTIMATE_StromalSignature", immune="ESTIMATE_ImmuneSignature")
            scores = scores.assign(ESTIMATE_Score=total, ESTIMATE_TumourPurity=tumour_purity(total))
        frames.append(
            scores.rename_axis("sample_id")
            .reset_index()
            .melt(id_vars="sample_id", var_name="signature", value_name="score")
            .assign(method=method)
        )
    if not frames:
        return pd.DataFrame(columns=SCORE_COLUMNS), cover
    tidy = pd.concat(frames, ignore_index=True)
    sizes = cover.set_index(["signature", "method"])
    key = list(zip(tidy["signature"], tidy["method"]))
    derived = {"ESTIMATE_Score": "ESTIMATE_StromalSignature", "ESTIMATE_TumourPurity": "ESTIMATE_StromalSignature"}
    lookup = [(derived.get(s, s), m) for s, m in key]
    tidy["n_genes_used"] = sizes.loc[lookup, "n_genes_used"].to_numpy()
    tidy["n_genes_in_signature"] = sizes.loc[lookup, "n_genes_in_signature"].to_numpy()
    obs = adata.obs.loc[tidy["sample_id"]]
    for column in ("patient_id", "arm", "timepoint"):
        tidy[column] = obs[column].to_numpy()
    order = {name: i for i, name in enumerate(signatures)}
    tidy["_order"] = tidy["signature"].map(lambda s: order.get(derived.get(s, s), len(order)))
    tidy = tidy.sort_values(["_order", "signature", "method", "sample_id"], kind="stable").drop(columns="_order")
    return tidy[SCORE_COLUMNS].reset_index(drop=True), cover
