"""Derive ``src/tme/data/gene_map.tsv.gz`` from the shared NCBI Gene tables (org.Hs.eg.db 3.16.0).

Usage::

    python tools/make_gene_map.py [--reference ../shared/reference/genes] [--out src/tme/data/gene_map.tsv.gz]

The output is a long table, one row per (identifier, current symbol) pair, sorted, gzip-compressed
with ``mtime=0`` so that re-running the script reproduces the shipped file byte for byte.

Columns: ``id_type`` (``entrez``, ``ensembl``, ``alias``), ``id``, ``symbol``.

* ``entrez``: every NCBI Gene ID and its current symbol (so the ``symbol`` column of these rows
  is also the set of current symbols).
* ``alias``: alias -> current symbol, for aliases that are *not* themselves a current symbol (a
  current symbol always wins, so those rows could never be used). Aliases naming several genes
  keep one row per gene; the loader reports them as ambiguous.
* ``ensembl``: unversioned ENSG ID -> symbol. When NCBI cross-references one ENSG ID to several
  genes, the tie-break in :func:`resolve_ensembl` is applied here, at build time; what stays tied
  keeps one row per gene and is reported as ambiguous by the loader.
"""

from __future__ import annotations

import argparse
import gzip
import io
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_REFERENCE = ROOT.parent / "shared" / "reference" / "genes"
DEFAULT_OUT = ROOT / "src" / "tme" / "data" / "gene_map.tsv.gz"
GENES_FILE = "human_genes_org.Hs.eg.db_3.16.0.tsv"
ALIASES_FILE = "aliases_org.Hs.eg.db_3.16.0.tsv"


def _is_readthrough(symbol: str, others: set[str]) -> bool:
    """True if ``symbol`` looks like a readthrough ``A-B`` whose part A or B is another candidate."""
    parts = symbol.split("-")
    return len(parts) > 1 and any(
        "-".join(parts[:i]) in others or "-".join(parts[i:]) in others for i in range(1, len(parts))
    )


def resolve_ensembl(candidates: pd.DataFrame) -> pd.DataFrame:
    """Tie-break the genes NCBI cross-references to one Ensembl gene ID.

    ``candidates`` has columns ``symbol``, ``gene_type``, ``n_ensembl`` (how many ENSG IDs the
    gene has). Rules, applied in order while more than one symbol remains:

    1. drop NCBI ``LOC…`` placeholder records (uncharacterised loci) if a named gene remains;
    2. keep the genes with the fewest Ensembl IDs (the most specific cross-reference: a gene
       annotated to this ENSG ID only, e.g. the readthrough ZNF559-ZNF177 for ENSG00000270011);
    3. drop readthrough records ``A-B`` when ``A`` or ``B`` is itself a candidate
       (TBCEL-TECTA vs TECTA);
    4. keep protein-coding genes if any remain.

    Returns the surviving rows; more than one distinct symbol means the ID stays ambiguous.
    """
    keep = candidates
    steps = [
        lambda df: df[~df["symbol"].str.match(r"LOC\d+$")],
        lambda df: df[df["n_ensembl"] == df["n_ensembl"].min()],
        lambda df: df[[not _is_readthrough(s, set(df["symbol"]) - {s}) for s in df["symbol"]]],
        lambda df: df[df["gene_type"] == "protein-coding"],
    ]
    for step in steps:
        if keep["symbol"].nunique() <= 1:
            break
        narrowed = step(keep)
        if len(narrowed):
            keep = narrowed
    return keep


def build(reference: Path) -> pd.DataFrame:
    """Build the long identifier table from the two org.Hs.eg.db exports in ``reference``."""
    read = dict(sep="\t", dtype=str, keep_default_na=False)
    genes = pd.read_csv(reference / GENES_FILE, **read)
    aliases = pd.read_csv(reference / ALIASES_FILE, **read)

    entrez = pd.DataFrame({"id_type": "entrez", "id": genes["entrez_id"], "symbol": genes["symbol"]})

    current = set(genes["symbol"])
    alias = aliases[~aliases["alias"].isin(current)]
    alias = pd.DataFrame({"id_type": "alias", "id": alias["alias"], "symbol": alias["symbol"]})

    ens = genes.assign(
        ensembl=genes["ensembl_ids"].str.split(";"),
        n_ensembl=genes["ensembl_ids"].str.count(";") + 1,
    ).explode("ensembl")
    ens = ens[ens["ensembl"] != ""].drop_duplicates(["ensembl", "symbol"])
    shared = ens["ensembl"].duplicated(keep=False)
    resolved = [resolve_ensembl(group) for _, group in ens[shared].groupby("ensembl", sort=True)]
    ens = pd.concat([ens[~shared], *resolved])
    ensembl = pd.DataFrame({"id_type": "ensembl", "id": ens["ensembl"], "symbol": ens["symbol"]})

    table = pd.concat([entrez, ensembl, alias], ignore_index=True).drop_duplicates()
    bad = table["id"].str.contains(r"[\t\n]") | table["symbol"].str.contains(r"[\t\n]")
    if bad.any():
        raise ValueError(f"tab/newline inside identifiers: {table[bad].head()}")
    return table.sort_values(["id_type", "id", "symbol"], ignore_index=True)


def write_deterministic(table: pd.DataFrame, out: Path) -> None:
    """Write ``table`` as TSV, gzip level 9 with mtime=0 and no file name, so bytes are reproducible."""
    text = table.to_csv(sep="\t", index=False, lineterminator="\n")
    buffer = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, compresslevel=9, mtime=0) as gz:
        gz.write(text.encode("utf-8"))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(buffer.getvalue())


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reference", type=Path, default=DEFAULT_REFERENCE)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    table = build(args.reference)
    write_deterministic(table, args.out)
    counts = table.groupby("id_type").size().to_dict()
    print(f"wrote {args.out} ({args.out.stat().st_size:,} bytes): {counts}")


if __name__ == "__main__":
    main()
