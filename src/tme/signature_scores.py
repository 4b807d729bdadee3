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
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import anndata as ad
import pandas as pd

from tme.errors import TmeInputError
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


def score_signatures(
    adata: ad.AnnData,
    signatures: Mapping[str, Signature],
    plan: list[tuple[str, str]],
    *,
    ssgsea_normalize: bool = False,
    n_jobs: int = 1,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Score ``plan`` on ``adata``; return (tidy scores, coverage per signature × method).

    The tidy table has :data:`SCORE_COLUMNS`; ESTIMATE adds ``ESTIMATE_Score`` (stromal + immune) and
    ``ESTIMATE_TumourPurity`` (Yoshihara 2013; calibrated on Affymetrix arrays, indicative only).
    """
    by_method: dict[str, list[str]] = {}
    for name, method in plan:
        by_method.setdefault(method, []).append(name)
    frames, covers = [], []
    for method, names in by_method.items():
        options = dict(METHODS[method].workflow_options)
        if method == "ssgsea":
            options["normalize"] = ssgsea_normalize
        sigs = [signatures[n] for n in names]
        with warnings.catch_warnings():
            warnings.simplefilter("always")
            scores = score(adata, sigs, method, n_jobs=n_jobs, **options)
        cover = coverage(adata.var_names, sigs, directional=method == "singscore").assign(method=method)
        if method == "estimate" and {"ESTIMATE_StromalSignature", "ESTIMATE_ImmuneSignature"} <= set(scores.columns):
            total = estimate_score(scores, stromal="ESTIMATE_StromalSignature", immune="ESTIMATE_ImmuneSignature")
            scores = scores.assign(ESTIMATE_Score=total, ESTIMATE_TumourPurity=tumour_purity(total))
        frames.append(
            scores.rename_axis("sample_id")
            .reset_index()
            .melt(id_vars="sample_id", var_name="signature", value_name="score")
            .assign(method=method)
        )
        covers.append(cover)
    cover = pd.concat(covers, ignore_index=True)
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
    cover = cover[["signature", "method", "n_genes_in_signature", "n_genes_used", "missing_genes", "duplicated_genes"]]
    return tidy[SCORE_COLUMNS].reset_index(drop=True), cover
