"""Derive the gene lists of tme's curated signature library from ../shared/reference.

Usage::

    python tools/make_signature_library.py [--reference ../shared/reference] [--out src/tme/signatures]

Writes one TSV per source into ``src/tme/signatures/`` with columns
``signature, gene, direction, weight, role, published_gene``:

* ``gene`` is the current NCBI symbol (org.Hs.eg.db 3.16.0 via :class:`tme.genes.GeneMap`, or
  the curator decision in :data:`CURATOR_DECISIONS` where the alias is ambiguous); a symbol
  that maps to nothing is kept as distributed (scorers then report it as absent);
* ``published_gene`` is the symbol as the source distributed it, filled only when it differs;
* ``weight`` is copied verbatim from the source text (no float round trip);
* ``role`` is ``member`` or ``housekeeping`` (the 11 GEP normalisers).

Signature metadata (citation, licence, method, notes) is hand-curated in
``src/tme/signatures/library.yaml``; the decisions are explained in its README. Output is
deterministic: same inputs, same bytes.
"""

from __future__ import annotations

import argparse
import csv
import io
import re
from pathlib import Path

import pandas as pd

from tme.genes import GeneMap
from tme.signatures.readers import read_gmt

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_REFERENCE = ROOT.parent / "shared" / "reference"
DEFAULT_OUT = ROOT / "src" / "tme" / "signatures"
COLUMNS = ["signature", "gene", "direction", "weight", "role", "published_gene"]

#: Published symbol -> current symbol where the alias table names several genes.
CURATOR_DECISIONS = {
    # IL8RA is interleukin-8 receptor alpha = CXCR1 (IL8RB, beta, = CXCR2, listed separately in
    # the same Bindea set); org.Hs.eg.db lists IL8RA as an alias of both.
    "IL8RA": "CXCR1",
    # HGNC: H2BC4 has previous symbol HIST1H2BC; org.Hs.eg.db also lists it for H2BC5.
    "HIST1H2BC": "H2BC4",
}

#: (signature, gene in the shared file) -> symbol as published, where the shared file already
#: corrected the published symbol (its ``source`` column says so).
PUBLISHED_AS = {
    ("DANAHER2017_CD45", "PTPRC"): "PTRPC",  # typo in Danaher 2017 Table 1
    ("DANAHER2017_B_cells", "FAM30A"): "KIAA0125",
    ("AYERS_GEP_HOUSEKEEPING_11", "NRDE2"): "C14orf102",
}

#: Reactome IL-1 signalling members that belong to the proteasome / ubiquitin machinery.
PROTEASOME = re.compile(r"^(PSM[A-G]\d+|SEM1|UBB|UBC|UBA52|RPS27A)$")

IOBR_NAMES = {
    "IOBR_MDSC_Wang_et_al": "WANG2016_MDSC",
    "IOBR_MDSC_Peng_et_al": "TIDE_JIANG2018_MDSC",
    "IOBR_TAM_Peng_et_al": "TIDE_JIANG2018_TAM_M2",
    "IOBR_Neutrophils_Bindea_et_al": "BINDEA2013_Neutrophils",
    "IOBR_Macrophages_Bindea_et_al": "BINDEA2013_Macrophages",
    "IOBR_Neutrophils_Rooney_et_al": "ROONEY2015_Neutrophils",
    "IOBR_Mph_05_IL1B": "XUE2022_IL1B_Macrophages",
    "IOBR_Neu_02_S100A12": "XUE2022_S100A12_Neutrophils",
    "IOBR_Neu_06_PTGS2": "XUE2022_PTGS2_Neutrophils",
    "IOBR_IL_iCAF": "KIEFFER2020_IL_iCAF",
}


def _shared(reference: Path, name: str) -> pd.DataFrame:
    """One shared signature TSV (``signature, gene, weight, source``) as strings."""
    table = pd.read_csv(reference / "signatures" / name, sep="\t", dtype=str, keep_default_na=False)
    table["role"] = "member"
    table["published_gene"] = [PUBLISHED_AS.get((s, g), "") for s, g in zip(table["signature"], table["gene"])]
    return table[["signature", "gene", "weight", "role", "published_gene"]]


def _rename(table: pd.DataFrame, names: dict[str, str]) -> pd.DataFrame:
    """Rename signatures, refusing any source name the mapping does not know."""
    unknown = set(table["signature"]) - set(names)
    if unknown:
        raise ValueError(f"no tme name for {sorted(unknown)}")
    return table.assign(signature=table["signature"].map(names))


def collections(reference: Path) -> dict[str, pd.DataFrame]:
    """The library's gene lists per output file, with source symbols (not yet resolved)."""
    il1 = _rename(
        _shared(reference, "il1_curated_candidates.tsv"),
        {
            "CURATED_IL1_AXIS_CORE": "TME_IL1_AXIS_CORE",
            "CURATED_IL1_INDUCED_CANDIDATES": "TME_IL1_INDUCED",
        },
    )

    reactome = _shared(reference, "reactome_il1_pathways.tsv")
    reactome["signature"] = reactome["signature"].str.replace(r"_R-HSA-\d+$", "", regex=True)
    signalling = reactome[reactome["signature"] == "REACTOME_INTERLEUKIN_1_SIGNALING"]
    subset = signalling[~signalling["gene"].str.match(PROTEASOME)].assign(signature="TME_IL1_SIGNALING_NO_PROTEASOME")
    reactome = pd.concat([reactome, subset])

    gmt = read_gmt(reference / "genesets" / "h.all.v7.5.1.symbols.gmt")
    hallmark = pd.DataFrame(
        [("HALLMARK_" + name, gene, "", "member", "") for name, s in gmt.items() for gene in s.genes],
        columns=["signature", "gene", "weight", "role", "published_gene"],
    )
    immune = _shared(reference, "msigdb_hallmark_immune_inflammation_v7.5.1.tsv")
    check = hallmark[hallmark["signature"].isin(set(immune["signature"]))]
    if not check.reset_index(drop=True).equals(immune.reset_index(drop=True)):
        raise ValueError("Hallmark GMT and the shared immune Hallmark TSV disagree")

    ayers = _shared(reference, "ayers_cristescu_gep.tsv")
    housekeeping = ayers["signature"] == "AYERS_GEP_HOUSEKEEPING_11"
    ayers.loc[housekeeping, ["signature", "role"]] = ["AYERS_TCELL_INFLAMED_GEP_18", "housekeeping"]

    myeloid = _rename(_shared(reference, "myeloid_il1_related_from_iobr.tsv"), IOBR_NAMES)
    return {
        "tme_il1.tsv": il1,
        "reactome_il1.tsv": reactome,
        "msigdb_hallmark_v7.5.1.tsv": hallmark,
        "ayers_gep.tsv": ayers,
        "cyt_rooney2015.tsv": _shared(reference, "cytolytic_activity_rooney2015.tsv"),
        "danaher2017.tsv": _shared(reference, "danaher2017_immune_cell_types.tsv"),
        "mcpcounter.tsv": _shared(reference, "mcpcounter_markers.tsv"),
        "estimate.tsv": _shared(reference, "estimate_si_geneset.tsv"),
        "myeloid_il1.tsv": myeloid,
    }


def resolve(table: pd.DataFrame, genemap: GeneMap) -> pd.DataFrame:
    """Replace source symbols by current ones and fill ``published_gene`` where they differ."""
    mapped = genemap.to_symbols(table["gene"])
    current = mapped["symbol"].where(mapped["status"] == "mapped")
    current = table["gene"].map(CURATOR_DECISIONS).fillna(current).fillna(table["gene"])
    published = table["published_gene"].where(table["published_gene"] != "", table["gene"])
    out = table.assign(gene=current.to_numpy(), direction="up")
    out["published_gene"] = published.where(published != out["gene"], "")
    duplicated = out.duplicated(["signature", "gene"], keep=False)
    if duplicated.any():
        raise ValueError(f"symbols collide after resolution:\n{out[duplicated]}")
    return out[COLUMNS]


def write_tsv(table: pd.DataFrame, path: Path) -> None:
    """Write with LF line ends and no quoting, so the bytes depend on the content only."""
    buffer = io.StringIO()
    table.to_csv(buffer, sep="\t", index=False, lineterminator="\n", quoting=csv.QUOTE_NONE)
    path.write_text(buffer.getvalue(), encoding="utf-8", newline="")


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reference", type=Path, default=DEFAULT_REFERENCE)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    genemap = GeneMap.load()
    for name, table in collections(args.reference).items():
        resolved = resolve(table, genemap)
        write_tsv(resolved, args.out / name)
        renamed = resolved[resolved["published_gene"] != ""]
        print(
            f"{name}: {resolved['signature'].nunique()} signatures, {len(resolved)} rows; "
            f"renamed {dict(zip(renamed['published_gene'], renamed['gene']))}"
        )


if __name__ == "__main__":
    main()
