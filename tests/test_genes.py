"""Gene identifier mapping (tme.genes) against known NCBI Gene facts, and Excel-date detection."""

from __future__ import annotations

import gzip
import hashlib
import importlib.util
import time
from importlib.resources import files
from pathlib import Path

import pandas as pd
import pytest

from tme.genes import COLUMNS, GeneMap, describe_excel_mangled, find_excel_mangled

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT.parent / "shared" / "reference" / "genes"


@pytest.fixture(scope="module")
def genemap() -> GeneMap:
    return GeneMap.load()


@pytest.mark.parametrize(
    ("input_id", "symbol", "id_type"),
    [
        ("ENSG00000125538.12", "IL1B", "ensembl"),  # versioned
        ("ENSG00000125538", "IL1B", "ensembl"),
        ("ENSG00000169429", "CXCL8", "ensembl"),
        ("ENSG00000182378.14_PAR_Y", "PLCXD1", "ensembl"),  # GENCODE chrY PAR copy
        ("3553", "IL1B", "entrez"),
        ("3576", "CXCL8", "entrez"),
        ("IL1B", "IL1B", "symbol"),
        (" IL1RN ", "IL1RN", "symbol"),  # surrounding whitespace ignored
        ("IL8", "CXCL8", "alias"),
        ("FYB", "FYB1", "alias"),
        ("C14orf102", "NRDE2", "alias"),
        ("DDX58", "RIGI", "alias"),
        ("SEPT1", "SEPTIN1", "alias"),
    ],
)
def test_known_identifiers_map_to_current_symbol(genemap, input_id, symbol, id_type):
    row = genemap.to_symbols([input_id]).iloc[0]
    assert (row["input_id"], row["symbol"], row["id_type"], row["status"]) == (input_id, symbol, id_type, "mapped")


def test_output_shape_and_order(genemap):
    ids = ["IL1B", "nonsense_gene", "3553", "IL8RA"]
    result = genemap.to_symbols(ids)
    assert tuple(result.columns) == COLUMNS
    assert result["input_id"].tolist() == ids
    assert result["status"].tolist() == ["mapped", "unmapped", "mapped", "ambiguous"]


def test_ambiguous_alias_is_left_unmapped_with_candidates(genemap):
    rows = genemap.to_symbols(["IL8RA", "HIST1H2BC", "DEC1"]).set_index("input_id")
    assert rows["status"].eq("ambiguous").all()
    assert rows["symbol"].isna().all()
    assert rows.loc["IL8RA", "candidates"] == "CXCR1;CXCR2"
    assert rows.loc["HIST1H2BC", "candidates"] == "H2BC4;H2BC5"


def test_current_symbol_wins_over_alias(genemap):
    # GAGE7 is a current symbol and also an alias of GAGE12F in NCBI Gene.
    aliases = pd.read_csv(REFERENCE / "aliases_org.Hs.eg.db_3.16.0.tsv", sep="\t", dtype=str)
    assert "GAGE7" in set(aliases["alias"])
    row = genemap.to_symbols(["GAGE7"]).iloc[0]
    assert (row["symbol"], row["id_type"]) == ("GAGE7", "symbol")


def test_ensembl_shared_by_several_genes(genemap):
    rows = genemap.to_symbols(["ENSG00000100197", "ENSG00000109927", "ENSG00000189064"]).set_index("input_id")
    assert rows.loc["ENSG00000100197", "symbol"] == "CYP2D6"  # vs LOC placeholders
    assert rows.loc["ENSG00000109927", "symbol"] == "TECTA"  # vs readthrough TBCEL-TECTA
    assert rows.loc["ENSG00000189064", "status"] == "ambiguous"  # five GAGE2 paralogues
    assert rows.loc["ENSG00000189064", "candidates"].count(";") == 4


def test_unmapped_types(genemap):
    rows = genemap.to_symbols(["999999999", "ENSG99999999999", "not_a_gene", ""])
    assert rows["status"].eq("unmapped").all()
    assert rows["id_type"].tolist() == ["entrez", "ensembl", "symbol", "symbol"]


def test_sixty_thousand_ids_under_one_second(genemap):
    table = pd.read_csv(files("tme") / "data" / "gene_map.tsv.gz", sep="\t", dtype=str)
    ids = table["id"].sample(60_000, random_state=0).tolist()
    genemap.to_symbols(ids[:10])
    start = time.perf_counter()
    result = genemap.to_symbols(ids)
    assert time.perf_counter() - start < 1.0
    assert len(result) == 60_000


@pytest.mark.parametrize(
    "mangled",
    [
        "1-Sep",
        "2-Mar",
        "1-Dec",
        "SEP-01",
        "01-Mar",
        "2006-09-01",
        "2006-09-01 00:00:00",
        "9/1/2006",
        "01/09/2006",
        "4-Oct",
        "Sep-2001",
    ],
)
def test_excel_mangled_detected(mangled):
    assert find_excel_mangled(["IL1B", mangled, "CXCL8"]) == [mangled]


def test_excel_message_names_the_original_genes():
    message = describe_excel_mangled(["1-Sep", "2-Mar", "1-Dec"])
    assert "SEPT1, now SEPTIN1" in message
    assert "MARCH2, now MARCHF2" in message
    assert "DEC1" in message and "BHLHE40" in message


def test_no_real_identifier_looks_excel_mangled(genemap):
    # Real aliases such as APR-1, Oct-4 and DEC-205 have a date shape but are genes.
    table = pd.read_csv(files("tme") / "data" / "gene_map.tsv.gz", sep="\t", dtype=str)
    assert find_excel_mangled(["APR-1", "Oct-4", "DEC-205"]) == []
    assert find_excel_mangled(pd.concat([table["id"], table["symbol"]]).unique()) == []


@pytest.mark.skipif(not REFERENCE.is_dir(), reason="shared reference genes not available")
def test_shipped_map_is_reproducible(tmp_path):
    spec = importlib.util.spec_from_file_location("make_gene_map", ROOT / "tools" / "make_gene_map.py")
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    out = tmp_path / "gene_map.tsv.gz"
    tool.main(["--reference", str(REFERENCE), "--out", str(out)])
    shipped = (files("tme") / "data" / "gene_map.tsv.gz").read_bytes()
    assert hashlib.sha256(out.read_bytes()).digest() == hashlib.sha256(shipped).digest()
    assert gzip.decompress(shipped).startswith(b"id_type\tid\tsymbol\n")
