"""``tme.scoring.score`` and ``tme.scoring.coverage``: inputs, checks, dispatch and annotation."""

from __future__ import annotations

import inspect
import os
import warnings
from collections.abc import Iterable, Mapping, Sequence
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd

from tme.errors import TmeInputError, TmeInputWarning
from tme.geneset import Signature
from tme.scoring._base import IndexedSet, Method
from tme.scoring.estimate import estimate
from tme.scoring.gsva import gsva
from tme.scoring.means import cyt, mcpcounter, mean
from tme.scoring.singscore import singscore
from tme.scoring.ssgsea import ssgsea
from tme.scoring.standardised import plage, zscore
from tme.scoring.weighted import weighted

_GSVA_146 = "R GSVA 1.46 (Hänzelmann 2013)"

#: Registered methods by name (read-only). ``METHODS[name].func`` is the numerical core.
METHODS: Mapping[str, Method] = MappingProxyType(
    {
        m.name: m
        for m in (
            Method("ssgsea", ssgsea, f"Barbie 2009; {_GSVA_146} method='ssgsea'", rank_walk=True),
            Method("gsva", gsva, f"{_GSVA_146} method='gsva'", rank_walk=True, drops_constant_genes=True),
            Method("zscore", zscore, f"Lee 2008; {_GSVA_146} method='zscore'", drops_constant_genes=True),
            Method("plage", plage, f"Tomfohr 2005; {_GSVA_146} method='plage'", drops_constant_genes=True),
            Method("singscore", singscore, "Foroutan 2018 (singscore)", rank_walk=True, directional=True),
            Method("mean", mean, "mean expression of the set genes"),
            Method(
                "weighted",
                weighted,
                "Ayers 2017 / Cristescu 2018 T-cell-inflamed GEP",
                needs_weights=True,
                own_method_only=True,
            ),
            Method(
                "cyt", cyt, "Rooney 2015 cytolytic activity", own_method_only=True, workflow_options={"log_base": 2}
            ),
            Method("mcpcounter", mcpcounter, "Becht 2016 MCP-counter", own_method_only=True),
            Method(
                "estimate", estimate, "Yoshihara 2013 ESTIMATE (estimateScore)", rank_walk=True, own_method_only=True
            ),
        )
    }
)

#: Rank-based methods warn for sets with this many genes present or fewer.
SMALL_SET = 5
#: Genes whose standard deviation across samples is below this are "constant" (R GSVA's cut-off).
CONSTANT_SD = 1e-10


# ----------------------------------------------------------------------------- inputs


def _expression(data: Any, layer: str | None):
    """Return ``(X samples x genes, gene names, sample names, adata or None)`` without copying."""
    if isinstance(data, pd.DataFrame):
        if layer is not None:
            raise TmeInputError("option layer= only applies to AnnData input", fix="drop layer=")
        non_numeric = [str(c) for c, t in data.dtypes.items() if not pd.api.types.is_numeric_dtype(t)]
        if non_numeric:
            raise TmeInputError(
                f"the expression table has non-numeric sample columns {non_numeric[:5]}",
                fix="pass a genes x samples table of numbers with gene symbols as the index",
            )
        return data.to_numpy().T, pd.Index(data.index.astype(str)), pd.Index(data.columns), None
    if hasattr(data, "obsm") and hasattr(data, "var_names"):
        if layer is None:
            X = data.X
        elif layer in data.layers:
            X = data.layers[layer]
        else:
            raise TmeInputError(
                f"AnnData has no layer '{layer}'",
                fix=f"use one of {list(data.layers.keys())} or layer=None for .X",
            )
        if hasattr(X, "toarray"):
            X = X.toarray()
        return np.asarray(X), pd.Index(data.var_names.astype(str)), pd.Index(data.obs_names), data
    raise TmeInputError(
        f"cannot score a {type(data).__name__}",
        fix="pass an AnnData (samples x genes) or a pandas DataFrame (genes x samples)",
    )


def _check_matrix(X: np.ndarray, genes: pd.Index, samples: pd.Index) -> None:
    if X.ndim != 2 or 0 in X.shape:
        raise TmeInputError("the expression matrix is empty", fix="pass at least one gene and one sample")
    duplicated = genes[genes.duplicated()].unique()
    if len(duplicated):
        raise TmeInputError(
            f"gene names are not unique: {list(duplicated[:5])} (and {max(0, len(duplicated) - 5)} more)",
            fix="collapse duplicated genes (e.g. keep the most expressed row) before scoring",
        )
    if np.isfinite(X.sum()):  # NaN and inf propagate into the sum (an overflow only costs the scan below)
        return
    for start in range(0, X.shape[0], 256):  # blockwise: no matrix-sized temporary
        bad = ~np.isfinite(X[start : start + 256])
        if bad.any():
            rows, cols = np.nonzero(bad)
            pairs = [f"{genes[c]} in {samples[start + r]}" for r, c in zip(rows[:5], cols[:5])]
            raise TmeInputError(
                f"expression has NaN or infinite values: {'; '.join(pairs)}",
                fix="impute or drop those genes/samples, or fix the upstream normalisation",
            )


def _signatures(signatures: Any) -> list[Signature]:
    """Normalise the accepted signature containers to a list of :class:`Signature`."""
    if isinstance(signatures, Mapping):
        items = []
        for name, value in signatures.items():
            if isinstance(value, Signature):
                items.append(value)
            elif isinstance(value, str) or not isinstance(value, Iterable):
                raise TmeInputError(
                    f"signature '{name}' must be a list of gene symbols, got {type(value).__name__}",
                    fix="give each signature as a list of genes, e.g. {'CYT': ['GZMA', 'PRF1']}",
                )
            else:
                items.append(Signature(name=str(name), genes=tuple(str(g) for g in value)))
    else:
        items = list(signatures)
        wrong = [type(s).__name__ for s in items if not isinstance(s, Signature)]
        if wrong:
            raise TmeInputError(
                f"signatures must be Signature objects or a mapping name -> genes, got {wrong[0]}",
                fix="pass {name: [genes]} or a list of tme.geneset.Signature",
            )
    names = pd.Index([s.name for s in items])
    if names.duplicated().any():
        raise TmeInputError(
            f"signature names are not unique: {list(names[names.duplicated()].unique())}",
            fix="rename or drop the duplicated signatures",
        )
    return items


def _unique(genes: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(genes))


def _repeated(sig: Signature, directional: bool) -> list[str]:
    """Genes listed more than once in the signature's own gene tuples, in signature order."""
    seen: set[str] = set()
    repeated: dict[str, None] = {}
    for gene in sig.all_genes if directional else sig.genes:
        if gene in seen:
            repeated[gene] = None
        seen.add(gene)
    return list(repeated)


def _duplicated(sig: Signature, directional: bool) -> list[str]:
    """Genes the signature lists more than once: repeats in its gene tuples and those the
    GMT/TSV reader recorded in ``meta["duplicated_genes"]`` (it keeps one copy)."""
    recorded = [g for g in sig.meta.get("duplicated_genes", "").split(";") if g]
    return _unique(_repeated(sig, directional) + recorded)


def coverage(genes_in_data: Iterable[str], signatures: Any, *, directional: bool = True) -> pd.DataFrame:
    """Per-signature gene coverage in a dataset.

    Parameters
    ----------
    genes_in_data
        Gene symbols of the expression data (e.g. ``adata.var_names`` or ``df.index``).
    signatures
        As for :func:`score`.
    directional
        Count ``Signature.down_genes`` too (only ``singscore`` uses them).

    Returns
    -------
    DataFrame with one row per signature and columns ``signature``, ``n_genes_in_signature``
    (distinct genes), ``n_genes_used`` (of those, present in the data), ``missing_genes``
    (``;``-joined, signature order) and ``duplicated_genes`` (genes the signature lists more
    than once, ``;``-joined; tme counts each once, R GSVA counts repeats again).
    """
    present = set(map(str, genes_in_data))
    rows = []
    for sig in _signatures(signatures):
        genes = _unique(sig.all_genes if directional else sig.genes)
        missing = [g for g in genes if g not in present]
        duplicated = ";".join(_duplicated(sig, directional))
        rows.append((sig.name, len(genes), len(genes) - len(missing), ";".join(missing), duplicated))
    return pd.DataFrame(
        rows, columns=["signature", "n_genes_in_signature", "n_genes_used", "missing_genes", "duplicated_genes"]
    )


def _indexed(sig: Signature, position: Mapping[str, int], method: Method) -> IndexedSet:
    """Map one signature to column indices, enforcing the method's needs (weights etc.)."""

    def cols(genes: Iterable[str]) -> np.ndarray:
        return np.array([position[g] for g in _unique(genes) if g in position], dtype=np.intp)

    if not method.needs_weights:
        return IndexedSet(sig.name, cols(sig.genes), cols(sig.down_genes if method.directional else ()))
    if sig.weights is None:
        raise TmeInputError(
            f"method 'weighted' needs per-gene weights, but signature '{sig.name}' has none",
            fix="give the signature weights (Signature.weights) or use method='mean'",
        )
    unknown = [g for g in sig.weights if g not in sig.genes]
    unweighted = [g for g in sig.genes if g not in sig.weights]
    if unknown or unweighted:
        raise TmeInputError(
            f"signature '{sig.name}': weights do not match its genes "
            f"(weights for genes not in the set: {unknown}; set genes without a weight: {unweighted})",
            fix="give exactly one weight per signature gene",
        )
    used = [g for g in _unique(sig.genes) if g in position]
    housekeeping = cols(sig.housekeeping)
    if sig.housekeeping and housekeeping.size == 0:
        raise TmeInputError(
            f"signature '{sig.name}': none of its housekeeping genes {list(sig.housekeeping)} is in the data",
            fix="use data that include the housekeeping genes, or normalise beforehand and drop them",
        )
    if housekeeping.size < len(_unique(sig.housekeeping)):
        absent = [g for g in sig.housekeeping if g not in position]
        warnings.warn(
            f"signature '{sig.name}': housekeeping genes {absent} are absent; normalising to the other "
            f"{housekeeping.size}",
            TmeInputWarning,
            stacklevel=4,
        )
    return IndexedSet(
        sig.name,
        np.array([position[g] for g in used], dtype=np.intp),
        weights=np.array([sig.weights[g] for g in used], dtype=np.float64),
        housekeeping_idx=housekeeping,
    )


def _warn_repeated_genes(sig: Signature, directional: bool) -> None:
    """Warn about genes repeated in the signature's own gene tuples (the GMT/TSV readers warn,
    with the line, for repeats in a file)."""
    repeated = _repeated(sig, directional)
    if repeated:
        warnings.warn(
            f"signature '{sig.name}' lists {', '.join(map(repr, repeated))} more than once; tme counts each "
            "gene once (R GSVA counts a repeated gene again, so its scores for this set differ)",
            TmeInputWarning,
            stacklevel=3,
        )


def _method(method: str, options: Mapping[str, Any]) -> Method:
    if method not in METHODS:
        raise TmeInputError(f"unknown scoring method '{method}'", fix=f"use one of: {', '.join(METHODS)}")
    accepted = [p for p in inspect.signature(METHODS[method].func).parameters.values() if p.kind is p.KEYWORD_ONLY]
    names = {p.name for p in accepted} - {"n_jobs"}
    unknown = sorted(set(options) - names)
    if unknown:
        raise TmeInputError(
            f"method '{method}' has no option(s) {unknown}",
            fix=f"its options are: {sorted(names) or 'none'}",
        )
    return METHODS[method]


def _n_jobs(n_jobs: int) -> int:
    if n_jobs == -1:
        return os.cpu_count() or 1
    if not isinstance(n_jobs, (int, np.integer)) or n_jobs < 1:
        raise TmeInputError(f"n_jobs must be a positive integer or -1, got {n_jobs!r}", fix="use e.g. n_jobs=2")
    return int(n_jobs)


# ----------------------------------------------------------------------------- score


def score(
    data: Any,
    signatures: Mapping[str, Sequence[str]] | Mapping[str, Signature] | Iterable[Signature],
    method: str = "ssgsea",
    *,
    min_genes: int = 1,
    n_jobs: int = 1,
    layer: str | None = None,
    **method_options: Any,
) -> pd.DataFrame:
    """Score gene signatures in every sample.

    Parameters
    ----------
    data
        An AnnData (samples x genes; ``.X`` or ``layers[layer]``; gene symbols in ``var_names``)
        or a pandas DataFrame **genes x samples** (gene symbols as index). Values must be finite.
    signatures
        ``{name: [genes]}``, ``{name: Signature}`` or an iterable of :class:`tme.geneset.Signature`.
        Genes absent from the data are dropped (as R GSVA does); a gene listed twice in a
        signature is counted once, with a warning (R GSVA counts it twice).
    method
        One of :data:`METHODS`: ``ssgsea`` (default), ``gsva``, ``zscore``, ``plage``, ``singscore``,
        ``mean``, ``weighted``, ``cyt``, ``mcpcounter``, ``estimate``. See each module for the
        formula and reference. Only ``singscore`` uses ``Signature.down_genes``; other methods
        score the up/undirected genes and warn if down genes were given.

        Scale: ``ssgsea``, ``singscore`` and ``estimate`` use within-sample ranks only (any
        monotone scale); ``gsva`` expects log scale (``kcdf="gaussian"``) or integer counts
        (``kcdf="poisson"``); ``zscore``, ``plage``, ``mean``, ``mcpcounter`` and ``weighted``
        expect log scale; ``cyt`` expects linear TPM unless ``log_base`` is given.
        ``gsva``, ``zscore`` and ``plage`` are cohort-dependent (they use all samples scored
        together) and drop genes constant across samples, as R GSVA does.
    min_genes
        Signatures with fewer genes present are skipped (with a warning).
    n_jobs
        Threads for the rank-based methods (``-1``: all cores). Results are bit-identical for
        any value.
    layer
        AnnData layer to score instead of ``.X``.
    **method_options
        Method options, e.g. ``normalize=True`` (ssgsea), ``kcdf="poisson"`` (gsva),
        ``log_base=2`` (cyt), ``alpha`` (ssgsea).

    Returns
    -------
    DataFrame, samples x signatures (float64), columns in the order given, without the
    signatures that were skipped. For AnnData input the same frame is also stored in
    ``adata.obsm[f"tme_{method}"]`` and the parameters and gene coverage (see :func:`coverage`)
    in ``adata.uns["tme_scoring"][method]``.

    Warns
    -----
    TmeInputWarning
        A signature has no gene (or fewer than ``min_genes``) in the data and is skipped; a
        rank-based method scores a set of 5 genes or fewer; down genes are ignored; a signature
        lists a gene more than once.

    Raises
    ------
    TmeInputError
        Unknown method or option, NaN/inf in the data, duplicated gene names, bad weights.

    Example
    -------
    >>> scores = score(adata, {"CYT": ["GZMA", "PRF1"]}, method="cyt", log_base=2)  # doctest: +SKIP
    """
    spec = _method(method, method_options)
    n_jobs = _n_jobs(n_jobs)
    X, genes, samples, adata = _expression(data, layer)
    _check_matrix(X, genes, samples)
    sigs = _signatures(signatures)

    if spec.drops_constant_genes:
        if X.shape[0] < 2:
            raise TmeInputError(
                f"method '{method}' standardises genes across samples and needs at least 2 samples",
                fix="score more samples together, or use a single-sample method (ssgsea, singscore, mean)",
            )
        keep = X.std(axis=0, ddof=1) >= CONSTANT_SD
        if not keep.all():
            X, genes = X[:, keep], genes[keep]
    position = {g: i for i, g in enumerate(genes)}

    if not spec.directional:
        with_down = [s.name for s in sigs if s.down_genes]
        if with_down:
            warnings.warn(
                f"method '{method}' scores up/undirected genes only; down genes of {with_down} are ignored "
                "(use method='singscore' for up/down signatures)",
                TmeInputWarning,
                stacklevel=2,
            )
    cover = coverage(genes, sigs, directional=spec.directional)
    indexed = []
    for sig, used in zip(sigs, cover["n_genes_used"]):
        _warn_repeated_genes(sig, spec.directional)
        if used < max(1, min_genes):
            warnings.warn(
                f"signature '{sig.name}' skipped: {used} of its genes are in the data "
                f"(min_genes={min_genes}); see tme.scoring.coverage for the missing genes",
                TmeInputWarning,
                stacklevel=2,
            )
            continue
        if spec.rank_walk and used <= SMALL_SET:
            warnings.warn(
                f"signature '{sig.name}' has only {used} genes in the data; '{method}' is unstable for "
                "sets this small, prefer method='mean' or 'zscore'",
                TmeInputWarning,
                stacklevel=2,
            )
        if used >= X.shape[1] and spec.rank_walk:
            raise TmeInputError(
                f"signature '{sig.name}' contains every gene of the data; '{method}' needs genes outside the set",
                fix="score on the full transcriptome",
            )
        indexed.append(_indexed(sig, position, spec))

    if indexed:
        values = spec.func(X, indexed, n_jobs=n_jobs, **method_options)
    else:
        values = np.empty((X.shape[0], 0))
    result = pd.DataFrame(np.asarray(values, dtype=np.float64), index=samples, columns=[s.name for s in indexed])
    if adata is not None:
        adata.obsm[f"tme_{method}"] = result
        params = {"method": method, "reference": spec.reference, "min_genes": min_genes}
        params.update({k: v for k, v in method_options.items() if v is not None})
        if layer is not None:
            params["layer"] = layer
        params["coverage"] = cover
        adata.uns.setdefault("tme_scoring", {})[method] = params
    return result
