"""Human gene identifiers: map Ensembl, Entrez and legacy symbols to current gene symbols.

The map is NCBI Gene as exported by Bioconductor ``org.Hs.eg.db`` 3.16.0 (public domain), shipped
as ``tme/data/gene_map.tsv.gz`` and derived by ``tools/make_gene_map.py`` (origin, rules and
counts in ``tme/data/README.md``).

Rules of :meth:`GeneMap.to_symbols`, in order, for each input (surrounding whitespace ignored):

* ``ENSG…`` (optionally ``.version`` and/or GENCODE's ``_PAR_Y`` suffix) → id type ``ensembl``;
  the version and ``_PAR_Y`` are dropped before lookup, so the chrY pseudo-autosomal copy maps to
  the same symbol as the chrX copy (the caller collapses the duplicate rows).
* all digits → ``entrez``.
* anything else is a ``symbol`` if it is a current NCBI symbol (case-sensitive); a current
  symbol always wins over an alias reading of the same string;
* otherwise an ``alias`` (legacy or alternative symbol) if the alias table knows it.

Status: ``mapped`` (one current symbol), ``ambiguous`` (an alias, or an Ensembl ID NCBI
cross-references to several genes even after the build-time tie-break; the symbol is left
missing and the candidates are listed — tme never guesses between genes), ``unmapped``.

Example
-------
>>> from tme.genes import GeneMap
>>> GeneMap.load().to_symbols(["ENSG00000125538.12", "3553", "IL8", "FYB"])["symbol"].tolist()
['IL1B', 'IL1B', 'CXCL8', 'FYB1']
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from pathlib import Path

import pandas as pd

SOURCE = "NCBI Gene via Bioconductor org.Hs.eg.db 3.16.0 (public domain)"

ENSEMBL_PATTERN = r"^(ENS[A-Z]*G\d+)(?:\.\d+)?(?:_PAR_Y)?(?:\.\d+)?$"

#: Output columns of :meth:`GeneMap.to_symbols`.
COLUMNS = ("input_id", "symbol", "id_type", "status", "candidates")


@dataclass(frozen=True)
class _Lookup:
    """Identifier → symbol for one identifier type; ambiguous keys map to a missing symbol."""

    symbol: pd.Series  # index: identifier; value: symbol, or None when ambiguous
    candidates: pd.Series  # index: identifier; value: ";"-joined sorted candidate symbols

    @classmethod
    def from_pairs(cls, pairs: pd.DataFrame) -> _Lookup:
        """Build from rows ``id, symbol`` (one row per identifier–gene pair)."""
        pairs = pairs.drop_duplicates(["id", "symbol"])
        shared = pairs["id"].duplicated(keep=False)
        single = pd.Series(pairs["symbol"][~shared].to_numpy(), index=pairs["id"][~shared])
        joined = pairs[shared].sort_values("symbol").groupby("id")["symbol"].agg(";".join)
        return cls(
            symbol=pd.concat([single, pd.Series(None, index=joined.index, dtype=object)]),
            candidates=pd.concat([single, joined]),
        )


class GeneMap:
    """Lookup of human gene identifiers (Ensembl, Entrez, symbol, alias) to current symbols.

    Use :meth:`load` (cached) rather than the constructor.
    """

    source = SOURCE

    def __init__(self, table: pd.DataFrame) -> None:
        """``table`` has columns ``id_type, id, symbol`` as in ``tme/data/gene_map.tsv.gz``."""
        by_type = {kind: rows[["id", "symbol"]] for kind, rows in table.groupby("id_type")}
        self._entrez = _Lookup.from_pairs(by_type["entrez"])
        self._ensembl = _Lookup.from_pairs(by_type["ensembl"])
        self._alias = _Lookup.from_pairs(by_type["alias"])
        current = pd.Index(by_type["entrez"]["symbol"].unique())
        self._symbol = _Lookup(symbol=pd.Series(current, index=current), candidates=pd.Series(current, index=current))

    @classmethod
    def load(cls, path: str | Path | None = None) -> GeneMap:
        """The shipped map (or the table at ``path``), parsed once per process."""
        return _load(None if path is None else str(path))

    @property
    def symbols(self) -> pd.Index:
        """All current symbols."""
        return self._symbol.symbol.index

    def to_symbols(self, ids: Iterable[str]) -> pd.DataFrame:
        """Map identifiers to current gene symbols, vectorised.

        Parameters
        ----------
        ids
            Gene identifiers of any supported type, mixed types allowed.

        Returns
        -------
        pandas.DataFrame
            One row per input in input order, columns ``input_id`` (as given), ``symbol``
            (current symbol; missing unless ``status == "mapped"``), ``id_type`` (``ensembl``,
            ``entrez``, ``symbol``, ``alias``; an unknown non-numeric, non-Ensembl string is
            typed ``symbol``), ``status`` (``mapped``, ``ambiguous``, ``unmapped``) and
            ``candidates`` (``;``-joined current symbols an ambiguous ID could mean, else empty).
        """
        raw = pd.Series(list(ids), dtype=object)
        key = raw.astype(str).str.strip()
        ensembl_key = key.str.extract(ENSEMBL_PATTERN, expand=False)
        is_ensembl = ensembl_key.notna()
        is_entrez = ~is_ensembl & key.str.fullmatch(r"\d+")
        is_current = ~is_ensembl & ~is_entrez & key.isin(self._symbol.symbol.index)
        is_alias = ~is_ensembl & ~is_entrez & ~is_current & key.isin(self._alias.symbol.index)

        id_type = pd.Series("symbol", index=key.index, dtype=object)
        id_type[is_ensembl] = "ensembl"
        id_type[is_entrez] = "entrez"
        id_type[is_alias] = "alias"

        symbol = pd.Series(None, index=key.index, dtype=object)
        candidates = pd.Series("", index=key.index, dtype=object)
        for mask, lookup_key, lookup in (
            (is_ensembl, ensembl_key, self._ensembl),
            (is_entrez, key, self._entrez),
            (is_current, key, self._symbol),
            (is_alias, key, self._alias),
        ):
            if mask.any():
                symbol[mask] = lookup_key[mask].map(lookup.symbol)
                candidates[mask] = lookup_key[mask].map(lookup.candidates)

        known = candidates.notna() & (candidates != "")
        mapped = known & symbol.notna()
        status = pd.Series("unmapped", index=key.index, dtype=object)
        status[known & ~mapped] = "ambiguous"
        status[mapped] = "mapped"
        candidates = candidates.where(status == "ambiguous", "")
        symbol = symbol.where(mapped, None)
        return pd.DataFrame(
            {"input_id": raw, "symbol": symbol, "id_type": id_type, "status": status, "candidates": candidates}
        )


@cache
def _load(path: str | None) -> GeneMap:
    """Parse the gzip table once (``None`` = the shipped ``tme/data/gene_map.tsv.gz``)."""
    source = files("tme") / "data" / "gene_map.tsv.gz" if path is None else Path(path)
    with source.open("rb") as handle:
        table = pd.read_csv(handle, sep="\t", dtype=str, keep_default_na=False, compression="gzip")
    return GeneMap(table)


# --- Excel date mangling (Zeeberg et al., BMC Bioinformatics 2004;5:80; Ziemann et al., Genome
# Biol 2016;17:177): Excel turns SEPT1 into "1-Sep", MARCH1 into "1-Mar", DEC1 into "1-Dec", and
# depending on locale/format into "Sep-01", "2006-09-01", "9/1/2006" or "01/09/2006".

_MONTHS = "jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec"
_MONTH_NUMBER = {m: i for i, m in enumerate(_MONTHS.replace("|sept", "").split("|"), start=1)}
_MANGLED = re.compile(
    rf"^(?:\d{{1,2}}-(?:{_MONTHS})|(?:{_MONTHS})-(?:\d{{1,2}}|\d{{4}})"  # 1-Sep, Sep-01
    r"|\d{4}[-/]\d{1,2}[-/]\d{1,2}(?:[ T]\d{1,2}:\d{2}(?::\d{2})?)?"  # 2006-09-01 (00:00:00)
    r"|\d{1,2}/\d{1,2}/\d{2,4})$",  # 9/1/2006, 01/09/06
    re.IGNORECASE,
)
#: Month → the gene family Excel mangles into it (old symbol, current symbol).
_FAMILY = {9: ("SEPT", "SEPTIN"), 3: ("MARCH", "MARCHF"), 12: ("DEC", None), 10: ("OCT", None)}


def find_excel_mangled(ids: Iterable[str]) -> list[str]:
    """Return the identifiers that look like Excel-converted dates (``1-Sep``, ``2006-09-01`` …).

    Strings that are real symbols or aliases in the gene map (``APR-1``, ``Oct-4``, ``DEC-205``)
    are not reported. Pair with :func:`describe_excel_mangled` for the error message.
    """
    hits = [i for i in map(str, ids) if _MANGLED.match(i.strip())]
    if not hits:
        return []
    known = GeneMap.load().to_symbols(hits)["status"] != "unmapped"
    return [hit for hit, is_known in zip(hits, known) if not is_known]


def excel_original(mangled: str) -> str:
    """Best guess of the gene an Excel date stood for, e.g. ``'1-Sep'`` → ``'SEPT1, now SEPTIN1'``.

    Day/month order of slash dates is ambiguous; the US order (month/day/year) is assumed when
    both readings are possible.
    """
    text = mangled.strip().lower()
    numbers = [int(n) for n in re.findall(r"\d+", text)]
    word = re.search(_MONTHS, text)
    if word:
        month = _MONTH_NUMBER[word.group(0)[:3]]
        day = numbers[0] % 100 if numbers else 0  # Sep-2001 (mmm-yyyy) is SEPT1 too
    elif re.match(r"\d{4}", text):  # ISO year-month-day
        month, day = numbers[1], numbers[2]
    else:  # m/d/y, or d/m/y when the first number cannot be a month
        month, day = (numbers[0], numbers[1]) if numbers[0] <= 12 else (numbers[1], numbers[0])
    old, new = _FAMILY.get(month, (None, None))
    if old is None:
        return "an unknown gene (Excel date)"
    if old == "DEC":
        return f"DEC{day}, an alias of BHLHE40 or DELEC1"
    if old == "OCT":
        return f"OCT{day}, a POU-family alias (OCT4 = POU5F1)"
    return f"{old}{day}, now {new}{day}"


def describe_excel_mangled(mangled: Sequence[str], limit: int = 10) -> str:
    """One sentence naming Excel-mangled IDs and the genes they were, for an error message."""
    shown = "; ".join(f"'{m}' = {excel_original(m)}" for m in mangled[:limit])
    more = f" and {len(mangled) - limit} more" if len(mangled) > limit else ""
    return f"{len(mangled)} gene name(s) were turned into dates by Excel ({shown}{more})"
