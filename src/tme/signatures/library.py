"""tme's curated signature library: loading, methods, symbol updates.

Gene lists are the TSV files next to this module, metadata is ``library.yaml``; both are
described in ``README.md`` in this folder (sources, licences, decisions).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from functools import cache
from importlib.resources import as_file, files
from pathlib import Path

import yaml

from tme.errors import TmeInputError
from tme.genes import GeneMap
from tme.geneset import Signature
from tme.scoring import METHODS
from tme.signatures.readers import _parse_table

#: Below this many genes a rank walk is unstable (shared/notes/scoring.md): default to a mean.
MIN_GENES_RANK_METHOD = 10
_FIELDS = ("source", "citation", "version", "licence", "method", "note")
_NOT_META = (*_FIELDS, "file", "signatures")


def _package_file(name: str):
    """A data file shipped next to this module."""
    return files("tme.signatures") / name


@cache
def _metadata() -> dict:
    """The parsed ``library.yaml``."""
    with _package_file("library.yaml").open("r", encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def collection_names() -> list[str]:
    """Names of the shipped collections, in library order (e.g. ``hallmark_all``)."""
    return list(_metadata()["collections"])


def _meta_text(value) -> str:
    """Meta values are strings; lists are joined with ``;``."""
    return ";".join(map(str, value)) if isinstance(value, list) else str(value)


@cache
def _load_collection(name: str) -> dict[str, Signature]:
    """Parse one collection's TSV and attach its metadata (cached per process)."""
    spec = _metadata()["collections"][name]
    path = _package_file(spec["file"])
    with as_file(path) as real_path:
        drafts = _parse_table(Path(real_path))
    overrides = spec.get("signatures") or {}
    unknown = set(overrides) - set(drafts)
    if unknown:
        raise RuntimeError(f"library.yaml names signatures not in {spec['file']}: {sorted(unknown)}")
    signatures = {}
    for signame, draft in drafts.items():
        merged = {k: v for k, v in spec.items() if k != "signatures"} | (overrides.get(signame) or {})
        if merged["method"] not in METHODS:  # tme.scoring's registry
            raise RuntimeError(f"library.yaml: unknown method {merged['method']!r} for {signame}")
        meta = {k: _meta_text(v) for k, v in merged.items() if k not in _NOT_META}
        signatures[signame] = draft.build(
            spec["file"], collection=name, meta=meta, **{k: str(merged[k]) for k in _FIELDS}
        )
    return signatures


def load_library(collections: Iterable[str] | str | None = None) -> dict[str, Signature]:
    """The shipped signatures, all or from the chosen collections, keyed by name.

    Parameters
    ----------
    collections
        Collection names (see :func:`collection_names`: ``tme_il1``, ``reactome_il1``,
        ``hallmark_all``, ``ayers_gep``, ``cyt``, ``danaher2017``, ``mcpcounter``,
        ``estimate``, ``myeloid_il1``), or ``None`` for all.

    Each :class:`~tme.geneset.Signature` carries source, citation, version, licence, the
    authors' method (or tme's default, see ``meta["method_basis"]``), and in ``meta`` the
    ``alt_methods`` and, where a symbol was updated, ``published_genes`` (``old->new;…``).

    Example
    -------
    >>> lib = load_library(["ayers_gep"])
    >>> lib["AYERS_TCELL_INFLAMED_GEP_18"].method, len(lib["AYERS_TCELL_INFLAMED_GEP_18"].housekeeping)
    ('weighted', 11)
    """
    known = collection_names()
    chosen = known if collections is None else [collections] if isinstance(collections, str) else list(collections)
    for name in chosen:
        if name not in known:
            raise TmeInputError(
                f"unknown signature collection '{name}'", column="collections", fix=f"use one of {', '.join(known)}"
            )
    library: dict[str, Signature] = {}
    for name in chosen:
        library.update(_load_collection(name))
    return library


def default_methods(signature: Signature) -> list[str]:
    """Methods to score ``signature`` with, the first being the primary one.

    For a library signature: its ``method`` (the authors' when ``meta["method_basis"]`` is
    ``authors``) followed by ``meta["alt_methods"]``. For a user signature without a method:
    ``["ssgsea", "singscore"]`` from :data:`MIN_GENES_RANK_METHOD` (10) genes up, else
    ``["mean", "zscore"]`` (rank walks are unstable on small sets).
    """
    if signature.method:
        alternatives = [m for m in signature.meta.get("alt_methods", "").split(";") if m]
        return [signature.method, *[m for m in alternatives if m != signature.method]]
    if len(signature.all_genes) >= MIN_GENES_RANK_METHOD:
        return ["ssgsea", "singscore"]
    return ["mean", "zscore"]


def resolve_symbols(signatures: Mapping[str, Signature], genemap: GeneMap | None = None) -> dict[str, Signature]:
    """Map every gene of every signature to its current symbol with :class:`~tme.genes.GeneMap`.

    Ensembl, Entrez and alias names that map to one gene are replaced; ambiguous and unknown
    names are kept as given. A changed signature records in ``meta``: ``published_genes``
    (``old->new;…``, appended to any earlier record), ``unresolved_genes`` (names kept as
    given, ``NAME (ambiguous: A;B)`` where relevant) and ``merged_genes`` (``old=new`` when two
    names became one symbol: the first occurrence and its weight are kept).
    """
    genemap = GeneMap.load() if genemap is None else genemap
    names = sorted({g for s in signatures.values() for g in (*s.all_genes, *s.housekeeping)})
    table = genemap.to_symbols(names)
    mapped = table["status"] == "mapped"
    current = dict(zip(table["input_id"], table["symbol"].where(mapped, table["input_id"])))
    unresolved = {
        row.input_id: row.input_id + (f" (ambiguous: {row.candidates})" if row.candidates else "")
        for row in table[~mapped].itertuples()
    }
    return {key: _resolve_one(s, current, unresolved) for key, s in signatures.items()}


def _resolve_one(signature: Signature, current: Mapping[str, str], unresolved: Mapping[str, str]) -> Signature:
    """Apply the name mapping ``current`` to one signature, recording what changed."""
    seen: set[str] = set()
    renamed: list[str] = []
    merged: list[str] = []

    def update(genes: tuple[str, ...]) -> list[str]:
        kept = []
        for gene in genes:
            new = current[gene]
            if new != gene:
                renamed.append(f"{gene}->{new}")
            if new in seen:
                merged.append(f"{gene}={new}")
                continue
            seen.add(new)
            kept.append(new)
        return kept

    genes, down, housekeeping = map(update, (signature.genes, signature.down_genes, signature.housekeeping))
    missing = [unresolved[g] for g in (*signature.all_genes, *signature.housekeeping) if g in unresolved]
    if not (renamed or merged or missing):
        return signature
    weights = None
    if signature.weights is not None:
        weights = {}
        for gene, weight in signature.weights.items():
            weights.setdefault(current[gene], weight)
    meta = dict(signature.meta)
    for key, items in (("published_genes", renamed), ("unresolved_genes", missing), ("merged_genes", merged)):
        if items:
            meta[key] = ";".join(filter(None, [meta.get(key, ""), *items]))
    return replace(signature, genes=genes, down_genes=down, housekeeping=housekeeping, weights=weights, meta=meta)
