"""The phenotype map: from the software's class labels or marker calls to the trial's cell types.

The config names each cell type with a rule (``cells.phenotypes``; order kept)::

    phenotypes:
      CD8+ T: {CD8: "+"}                              # marker calls (HALO, inForm, QuPath classes)
      IL-1β+ macrophage: {CD68: "+", IL1B: "+"}
      CD68+ TAM: {CD68: "+", CD163: "-", IL1B: "-"}
      tumour cell: {labels: [Tumor, "CK+"], markers: {PanCK: "+"}}
      other: "*"                                      # every cell no other rule takes

A rule is a label (string), a list of labels, a mapping of markers to ``+`` / ``-`` (all must
hold), or a mapping with ``labels`` and/or ``markers`` (either part may match, so one map serves
exports of several tools), or ``"*"`` for the rest. Labels are the exact class / phenotype text
(QuPath ``Class``, inForm ``Phenotype``). Marker calls come from HALO ``<marker> Positive
Classification`` and inForm ``Phenotype <marker>`` columns; a QuPath composite class such as
``CD68: IL1B`` names its positive markers (others negative). Marker names match the export's
exactly or before a parenthesis (``CD8`` matches ``CD8 (Opal 570)``), ignoring case.

Every cell must match exactly one rule: a cell matching none (with no ``"*"`` rule) or several is
an error naming its line, so no cell is silently dropped or counted twice.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from tme.cells.exports import CellExport
from tme.errors import TmeInputError

REST = "*"


@dataclass(frozen=True)
class Rule:
    """How one cell type is recognised (see the module docstring)."""

    cell_type: str
    labels: tuple[str, ...] = ()
    markers: tuple[tuple[str, bool], ...] = ()
    rest: bool = False


def _sign(value, key: str) -> bool:
    text = str(value).strip()
    if text in ("+", "pos", "positive", "True", "true"):
        return True
    if text in ("-", "neg", "negative", "False", "false"):
        return False
    raise TmeInputError(f"marker call {value!r} is not '+' or '-'", column=key, fix="write each marker as '+' or '-'")


def _rule(cell_type: str, spec, key: str) -> Rule:
    if isinstance(spec, str):
        return Rule(cell_type, rest=True) if spec.strip() == REST else Rule(cell_type, labels=(spec.strip(),))
    if isinstance(spec, (list, tuple)) and all(isinstance(s, str) for s in spec) and spec:
        return Rule(cell_type, labels=tuple(s.strip() for s in spec))
    if isinstance(spec, Mapping) and spec:
        if set(spec) <= {"labels", "markers"}:
            labels = spec.get("labels", [])
            labels = [labels] if isinstance(labels, str) else list(labels)
            markers = spec.get("markers", {}) or {}
        else:
            labels, markers = [], spec
        return Rule(
            cell_type,
            labels=tuple(str(s).strip() for s in labels),
            markers=tuple((str(m).strip(), _sign(v, f"{key}.{m}")) for m, v in markers.items()),
        )
    raise TmeInputError(
        f"the rule of cell type {cell_type!r} is not a label, a list of labels, a marker mapping or '*'",
        column=key,
        fix="e.g. 'CD8+ T: {CD8: \"+\"}', 'tumour cell: [Tumor, CK+]' or 'other: \"*\"'",
    )


def _norm(marker: str) -> str:
    return marker.split("(")[0].strip().lower()


class PhenotypeMap:
    """Cell types in config order, each with its :class:`Rule`."""

    def __init__(self, rules: list[Rule]) -> None:
        if not rules:
            raise TmeInputError(
                "the phenotype map is empty",
                column="cells.phenotypes",
                fix="name at least the tumour cells and the immune cell types",
            )
        if sum(r.rest for r in rules) > 1:
            raise TmeInputError(
                "more than one cell type takes the rest ('*')",
                column="cells.phenotypes",
                fix="keep '*' for one catch-all type such as 'other'",
            )
        self.rules = rules

    @classmethod
    def from_config(cls, mapping: Mapping, key: str = "cells.phenotypes") -> PhenotypeMap:
        """Build from the config mapping ``cell type → rule``."""
        if not isinstance(mapping, Mapping):
            raise TmeInputError(
                "the phenotype map must be a mapping of cell type to rule",
                column=key,
                fix="see the cells section of the README",
            )
        return cls([_rule(str(t), spec, f"{key}.{t}") for t, spec in mapping.items()])

    @property
    def types(self) -> list[str]:
        return [r.cell_type for r in self.rules]

    def _marker_table(self, export: CellExport) -> pd.DataFrame | None:
        """Boolean calls of every marker the map uses, named as in the map (``None``: none used)."""
        wanted = list(dict.fromkeys(m for r in self.rules for m, _ in r.markers))
        if not wanted:
            return None
        if export.markers_from_labels:
            codes, uniques = pd.factorize(export.labels)
            parts = [{_norm(p) for p in str(u).split(":")} for u in uniques]
            return pd.DataFrame({m: np.array([_norm(m) in p for p in parts], dtype=bool)[codes] for m in wanted})
        if export.markers is None:
            return None
        by_name = {_norm(c): c for c in export.markers.columns}
        table = {}
        for marker in wanted:
            column = marker if marker in export.markers.columns else by_name.get(_norm(marker))
            if column is None:
                raise TmeInputError(
                    f"the phenotype map uses marker {marker!r}, which this export has no call for",
                    file=export.path,
                    line=1,
                    fix=f"use the export's markers ({', '.join(export.markers.columns)}) in cells.phenotypes",
                )
            table[marker] = export.markers[column].to_numpy()
        return pd.DataFrame(table)

    def _matches(self, export: CellExport) -> np.ndarray:
        """Cells × rules boolean matrix (the rest rule left false)."""
        markers = self._marker_table(export)
        out = np.zeros((len(export), len(self.rules)), dtype=bool)
        for k, rule in enumerate(self.rules):
            if rule.labels and export.labels is not None:
                out[:, k] |= export.labels.isin(rule.labels).to_numpy()
            if rule.markers and markers is not None:
                hit = np.ones(len(export), dtype=bool)
                for marker, positive in rule.markers:
                    hit &= markers[marker].to_numpy() == positive
                out[:, k] |= hit
        return out

    def _describe(self, export: CellExport, row: int) -> str:
        parts = []
        if export.labels is not None:
            parts.append(f"{export.label_column} {export.labels.iloc[row]!r}")
        if export.markers is not None:
            calls = export.markers.iloc[row]
            parts.append("markers " + " ".join(f"{m}{'+' if v else '-'}" for m, v in calls.items()))
        return ", ".join(parts)

    def assign(self, export: CellExport) -> np.ndarray:
        """Index into :attr:`types` of each cell's type; errors for unmatched or ambiguous cells."""
        matches = self._matches(export)
        n_hits = matches.sum(axis=1)
        column = export.label_column or next(iter(export.marker_columns.values()), None)
        if (n_hits > 1).any():
            row = int(np.flatnonzero(n_hits > 1)[0])
            both = [self.types[k] for k in np.flatnonzero(matches[row])]
            raise TmeInputError(
                f"the cell ({self._describe(export, row)}) matches several cell types ({', '.join(both)})",
                file=export.path,
                line=row + 2,
                column=column,
                fix="make the rules in cells.phenotypes exclusive (add '-' conditions)",
            )
        codes = np.where(n_hits == 1, matches.argmax(axis=1), -1)
        rest = [k for k, r in enumerate(self.rules) if r.rest]
        if rest:
            codes[codes < 0] = rest[0]
        if (codes < 0).any():
            unmatched = np.flatnonzero(codes < 0)
            row = int(unmatched[0])
            seen = ""
            if export.labels is not None:
                counts = export.labels.iloc[unmatched].value_counts()
                seen = "; unmapped: " + ", ".join(f"{k!r} ({v} cells)" for k, v in counts.head(5).items())
            raise TmeInputError(
                f"phenotype ({self._describe(export, row)}) is not in the phenotype map, "
                f"{len(unmatched)} cell(s){seen}",
                file=export.path,
                line=row + 2,
                column=column,
                fix='add a rule for it in cells.phenotypes (or a catch-all such as other: "*")',
            )
        return codes.astype(np.int16)
