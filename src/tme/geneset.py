"""The in-memory form of a gene signature, shared by the library, the scorers and the reports."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType


@dataclass(frozen=True)
class Signature:
    """A named gene signature with the facts needed to score and cite it.

    Attributes
    ----------
    name
        Unique name, e.g. ``HALLMARK_INFLAMMATORY_RESPONSE``.
    genes
        Genes whose higher expression raises the score (all genes for an undirected set).
    down_genes
        Genes whose higher expression lowers the score (singscore up/down sets); empty otherwise.
    weights
        Published per-gene weights (e.g. Cristescu 2018 GEP weights), or ``None``.
    housekeeping
        Genes the authors normalise against (e.g. the 11 GEP housekeeping genes); empty otherwise.
    method
        Scoring method the authors used (a ``tme.score`` method name), or ``None``.
    source, citation, version, licence
        Provenance, carried into coverage tables and the report's methods section.
    collection
        The library file / user file the signature came from (e.g. ``msigdb_hallmark``).
    note
        Free-text caveat (e.g. "tme's curated candidates, not a published signature").
    """

    name: str
    genes: tuple[str, ...]
    down_genes: tuple[str, ...] = ()
    weights: Mapping[str, float] | None = None
    housekeeping: tuple[str, ...] = ()
    method: str | None = None
    source: str = ""
    citation: str = ""
    version: str = ""
    licence: str = ""
    collection: str = ""
    note: str = ""
    meta: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "genes", tuple(self.genes))
        object.__setattr__(self, "down_genes", tuple(self.down_genes))
        object.__setattr__(self, "housekeeping", tuple(self.housekeeping))
        if self.weights is not None:
            object.__setattr__(self, "weights", MappingProxyType(dict(self.weights)))
        object.__setattr__(self, "meta", MappingProxyType(dict(self.meta)))

    @property
    def all_genes(self) -> tuple[str, ...]:
        """Up and down genes together (not housekeeping)."""
        return self.genes + self.down_genes
