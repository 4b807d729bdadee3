"""Read user gene sets: GMT files and long signature tables.

Both readers are strict about what would silently change a score and lenient about harmless
formatting, and every problem names the file and the 1-based line (the header is line 1):

=========================================  ==============================================
input                                      result
=========================================  ==============================================
UTF-8 BOM, CRLF line ends, blank lines     accepted
empty fields in a GMT line (padding tabs)  ignored
leading/trailing spaces in a gene name     stripped, with a :class:`TmeInputWarning`
the same gene twice in one set             kept once, with a :class:`TmeInputWarning`, and
                                           recorded in ``meta["duplicated_genes"]`` (the
                                           coverage table lists it); an error if the copies
                                           disagree on weight, direction or role (the score
                                           would be ambiguous)
empty signature name or gene               :class:`TmeInputError`
signature name used twice (GMT), or names  :class:`TmeInputError` (two names that differ only
equal up to case / spaces (both formats)   by case would collide in output columns)
GMT line with no genes                     :class:`TmeInputError`
non-numeric or non-finite weight           :class:`TmeInputError`
weights for some genes of a set only,      :class:`TmeInputError` ("weights given for genes
or on housekeeping rows                    not in the set": a weight applies to a scored member)
direction other than up/down               :class:`TmeInputError`
Excel date-mangled gene names (``1-Sep``)  :class:`TmeInputError` naming the original genes
=========================================  ==============================================
"""

from __future__ import annotations

import csv
import math
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from tme.errors import TmeInputError, TmeInputWarning
from tme.genes import describe_excel_mangled, find_excel_mangled
from tme.geneset import Signature
from tme.io import read_text

ROLES = ("member", "housekeeping")
DIRECTIONS = ("up", "down")
TABLE_COLUMNS = ("signature", "gene", "weight", "direction", "role")


class _Row(NamedTuple):
    """One gene of a signature as read: its weight, direction, role and source line."""

    weight: float | None
    direction: str
    role: str
    line: int


@dataclass
class _Draft:
    """A signature being assembled row by row, remembering where each gene came from."""

    name: str
    first_line: int
    rows: dict[str, _Row] = field(default_factory=dict)
    published: dict[str, str] = field(default_factory=dict)  # gene -> symbol as published
    duplicated: dict[str, None] = field(default_factory=dict)  # genes listed more than once

    def add(self, gene: str, row: _Row, file: str | Path) -> None:
        """Add one gene; a repeat is dropped with a warning, or refused if it disagrees."""
        old = self.rows.get(gene)
        if old is None:
            self.rows[gene] = row
            return
        if old[:3] != row[:3]:
            raise TmeInputError(
                f"gene '{gene}' is listed twice in signature '{self.name}' (also line "
                f"{old.line}) with a different weight, direction or role",
                file=file,
                line=row.line,
                fix="keep one row per gene and signature",
            )
        self.duplicated[gene] = None
        warnings.warn(
            f"{file}, line {row.line}: gene '{gene}' is listed twice in signature "
            f"'{self.name}' (also line {old.line}); it is used once (R GSVA would count it twice)",
            TmeInputWarning,
            stacklevel=4,
        )

    def build(self, file: str | Path, *, meta: Mapping[str, str] | None = None, **provenance: str) -> Signature:
        """Check the weights and return the :class:`Signature` (``provenance``: its text fields)."""
        members = {g: r for g, r in self.rows.items() if r.role == "member"}
        weighted = [g for g, r in members.items() if r.weight is not None]
        for gene, row in self.rows.items():
            if row.role == "housekeeping" and row.weight is not None:
                raise TmeInputError(
                    f"a weight is given for housekeeping gene '{gene}' of signature "
                    f"'{self.name}', but weights apply to scored members only (weights given "
                    "for genes not in the set)",
                    file=file,
                    line=row.line,
                    column="weight",
                    fix="leave the weight empty",
                )
        if not members:
            raise TmeInputError(
                f"signature '{self.name}' has no member genes (only housekeeping rows)",
                file=file,
                line=self.first_line,
                column="role",
            )
        if weighted and len(weighted) != len(members):
            line = next(r.line for r in members.values() if r.weight is None)
            raise TmeInputError(
                f"signature '{self.name}' gives weights for {len(weighted)} of its {len(members)} genes",
                file=file,
                line=line,
                column="weight",
                fix="give a weight for every gene of the signature, or for none",
            )
        meta = dict(meta or {})
        renamed = [f"{p}->{g}" for g, p in self.published.items() if p != g]
        if renamed:
            meta["published_genes"] = ";".join(renamed)
        if self.duplicated:
            meta["duplicated_genes"] = ";".join(self.duplicated)
        return Signature(
            name=self.name,
            genes=[g for g, r in members.items() if r.direction == "up"],
            down_genes=[g for g, r in members.items() if r.direction == "down"],
            weights={g: members[g].weight for g in weighted} if weighted else None,
            housekeeping=[g for g, r in self.rows.items() if r.role == "housekeeping"],
            meta=meta,
            **provenance,
        )


def _lines(path: Path) -> list[str]:
    """The file's lines (gzip, BOM and CRLF handled by :func:`tme.io.read_text`, which also names a
    missing, unreadable, truncated or non-UTF-8 file)."""
    return read_text(path, "gene-set").splitlines()


def _clean_gene(raw: str, file: Path, line: int) -> str:
    """Strip surrounding spaces from a gene name, warning when there were any."""
    gene = raw.strip()
    if gene != raw:
        warnings.warn(
            f"{file}, line {line}: spaces around gene name '{gene}' were removed", TmeInputWarning, stacklevel=3
        )
    return gene


def _check_name(name: str, seen: dict[str, tuple[str, int]], file: Path, line: int) -> None:
    """Refuse an empty name or one that collides (up to case) with an earlier, different one."""
    if not name:
        raise TmeInputError(
            "empty signature name", file=file, line=line, column="signature", fix="name every signature"
        )
    key = name.casefold()
    if key in seen and seen[key][0] != name:
        other, other_line = seen[key]
        raise TmeInputError(
            f"signature names '{name}' and '{other}' (line {other_line}) differ only by case",
            file=file,
            line=line,
            column="signature",
            fix="rename one of them",
        )
    seen.setdefault(key, (name, line))


def _check_excel(drafts: dict[str, _Draft], file: Path) -> None:
    """Refuse gene names Excel turned into dates, naming the genes they were."""
    genes = [g for d in drafts.values() for g in d.rows]
    mangled = find_excel_mangled(genes)
    if mangled:
        line = next(d.rows[mangled[0]].line for d in drafts.values() if mangled[0] in d.rows)
        raise TmeInputError(
            describe_excel_mangled(mangled),
            file=file,
            line=line,
            column="gene",
            fix="re-export the gene sets without opening them in Excel, or use Ensembl IDs",
        )


def read_gmt(path: str | Path, *, collection: str | None = None) -> dict[str, Signature]:
    """Read a GMT file (``name<TAB>description<TAB>gene…`` per line) into signatures.

    The description column is kept as ``Signature.note``. ``collection`` defaults to the file
    name without extension. Rules: see the module docstring.

    Example
    -------
    >>> sets = read_gmt("h.all.v7.5.1.symbols.gmt")  # doctest: +SKIP
    >>> len(sets["TNFA_SIGNALING_VIA_NFKB"].genes)  # doctest: +SKIP
    200
    """
    path = Path(path)
    drafts: dict[str, _Draft] = {}
    notes: dict[str, str] = {}
    seen: dict[str, tuple[str, int]] = {}
    for number, text in enumerate(_lines(path), start=1):
        if not text.strip():
            continue
        fields = text.split("\t")
        name = fields[0].strip()
        _check_name(name, seen, path, number)
        if name in drafts:
            raise TmeInputError(
                f"signature '{name}' is defined twice (also line {drafts[name].first_line})",
                file=path,
                line=number,
                fix="give each gene set a unique name",
            )
        genes = [_clean_gene(g, path, number) for g in fields[2:] if g.strip()]
        if not genes:
            raise TmeInputError(
                f"gene set '{name}' has no genes",
                file=path,
                line=number,
                fix="a GMT line is: name, description, then one gene per tab-separated field",
            )
        draft = _Draft(name, number)
        for gene in genes:
            draft.add(gene, _Row(None, "up", "member", number), path)
        drafts[name] = draft
        notes[name] = fields[1].strip() if len(fields) > 1 else ""
    if not drafts:
        raise TmeInputError("no gene sets in file", file=path, fix="check the file is a GMT")
    _check_excel(drafts, path)
    collection = path.stem if collection is None else collection
    return {n: d.build(path, collection=collection, note=notes[n], source=str(path)) for n, d in drafts.items()}


def _parse_table(path: Path) -> dict[str, _Draft]:
    """Parse a long signature table into drafts (shared by the user reader and the library).

    Known columns are :data:`TABLE_COLUMNS` and the library's ``published_gene`` (the symbol as
    the source distributed it); any other column is ignored.
    """
    lines = _lines(path)
    if not lines or not lines[0].strip():
        raise TmeInputError(
            "empty file (no header line)", file=path, line=1, fix="start with a header: signature<TAB>gene[<TAB>weight]"
        )
    rows = list(csv.reader(lines, delimiter="\t", quoting=csv.QUOTE_NONE))
    header = [h.strip().lower() for h in rows[0]]
    for required in ("signature", "gene"):
        if required not in header:
            raise TmeInputError(
                f"no '{required}' column in the header (found: {', '.join(header)})",
                file=path,
                line=1,
                fix="name the columns signature, gene[, weight][, direction]",
            )
    index = {c: header.index(c) for c in (*TABLE_COLUMNS, "published_gene") if c in header}
    drafts: dict[str, _Draft] = {}
    seen: dict[str, tuple[str, int]] = {}
    for number, fields in enumerate(rows[1:], start=2):
        if not any(f.strip() for f in fields):
            continue
        value = {c: (fields[i] if i < len(fields) else "") for c, i in index.items()}
        name = value["signature"].strip()
        _check_name(name, seen, path, number)
        gene = _clean_gene(value["gene"], path, number)
        if not gene:
            raise TmeInputError(
                "empty gene name", file=path, line=number, column="gene", fix="fill in the gene or delete the row"
            )
        weight = _parse_weight(value.get("weight", ""), path, number)
        direction = _parse_choice(value.get("direction", ""), DIRECTIONS, "direction", path, number)
        role = _parse_choice(value.get("role", ""), ROLES, "role", path, number)
        draft = drafts.setdefault(name, _Draft(name, number))
        draft.add(gene, _Row(weight, direction, role, number), path)
        if value.get("published_gene", "").strip():
            draft.published[gene] = value["published_gene"].strip()
    if not drafts:
        raise TmeInputError(
            "no signature rows under the header", file=path, line=2, fix="add one row per signature and gene"
        )
    _check_excel(drafts, path)
    return drafts


def read_signature_table(path: str | Path, *, collection: str | None = None) -> dict[str, Signature]:
    """Read a long TSV ``signature, gene[, weight][, direction][, role]`` into signatures.

    One row per signature and gene, in any order; header names are case-insensitive and other
    columns are ignored. ``weight`` is a number (for all genes of a signature or none);
    ``direction`` is ``up`` (default) or ``down``; ``role`` is ``member`` (default) or
    ``housekeeping``. Rules: see the module docstring.

    Example
    -------
    A file with the rows ``IL1_CORE  IL1B  1.5  up`` and ``IL1_CORE  IL1RN  -0.5  up`` gives
    ``Signature(name="IL1_CORE", genes=("IL1B", "IL1RN"), weights={"IL1B": 1.5, "IL1RN": -0.5})``.
    """
    path = Path(path)
    drafts = _parse_table(path)
    collection = path.stem if collection is None else collection
    return {n: d.build(path, collection=collection, source=str(path)) for n, d in drafts.items()}


def _parse_weight(text: str, file: Path, line: int) -> float | None:
    """A finite float, or ``None`` for an empty cell."""
    text = text.strip()
    if not text:
        return None
    try:
        weight = float(text)
    except ValueError:
        weight = math.nan
    if not math.isfinite(weight):
        raise TmeInputError(
            f"weight '{text}' is not a finite number",
            file=file,
            line=line,
            column="weight",
            fix="use a decimal number such as 0.25 or -1e-2",
        )
    return weight


def _parse_choice(text: str, allowed: tuple[str, ...], column: str, file: Path, line: int) -> str:
    """A value from ``allowed`` (case-insensitive); empty means the first (the default)."""
    text = text.strip().lower()
    if not text:
        return allowed[0]
    if text not in allowed:
        raise TmeInputError(
            f"{column} '{text}' is not one of {', '.join(allowed)}",
            file=file,
            line=line,
            column=column,
            fix=f"use {' or '.join(allowed)} (empty means {allowed[0]})",
        )
    return text
