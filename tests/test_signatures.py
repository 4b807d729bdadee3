"""The curated signature library against the published facts, and the gene-set readers' errors.

Published counts are written out here from the publications (as stated in
../shared/reference/README.md) or read from the shared source files, never from the library
itself, so the checks are independent of the code under test.
"""

from __future__ import annotations

import csv
import gzip
import importlib.util
import re
import warnings
from pathlib import Path

import pytest

from tme.errors import TmeInputError, TmeInputWarning
from tme.genes import GeneMap
from tme.geneset import Signature
from tme.scoring import METHODS
from tme.signatures import (
    collection_names,
    default_methods,
    load_library,
    read_gmt,
    read_signature_table,
    resolve_symbols,
)

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "reference"
needs_shared = pytest.mark.skipif(not SHARED.is_dir(), reason="../shared/reference not available")


@pytest.fixture(scope="module")
def library() -> dict[str, Signature]:
    return load_library()


def _sizes(library, prefix):
    return {n: len(s.genes) for n, s in library.items() if n.startswith(prefix)}


# --- published gene counts -------------------------------------------------------------------


def test_hallmark_immune_sets_have_published_sizes(library):
    expected = {
        "TNFA_SIGNALING_VIA_NFKB": 200,
        "INFLAMMATORY_RESPONSE": 200,
        "IL6_JAK_STAT3_SIGNALING": 87,
        "INTERFERON_GAMMA_RESPONSE": 200,
        "INTERFERON_ALPHA_RESPONSE": 97,
        "ALLOGRAFT_REJECTION": 200,
        "COMPLEMENT": 200,
        "IL2_STAT5_SIGNALING": 199,
        "G2M_CHECKPOINT": 200,
        "E2F_TARGETS": 200,
    }
    assert {n: len(library["HALLMARK_" + n].genes) for n in expected} == expected


@needs_shared
def test_hallmark_all_matches_the_gmt_set_by_set():
    gmt = {}
    with open(SHARED / "genesets" / "h.all.v7.5.1.symbols.gmt", newline="") as handle:
        for fields in csv.reader(handle, delimiter="\t"):
            gmt["HALLMARK_" + fields[0]] = len([g for g in fields[2:] if g])
    hallmark = load_library("hallmark_all")
    assert len(gmt) == 50
    assert {n: len(s.genes) for n, s in hallmark.items()} == gmt
    assert all(s.licence.startswith("CC BY 4.0") and "Liberzon" in s.citation for s in hallmark.values())


def test_reactome_il1_sizes_and_proteasome_free_subset(library):
    assert _sizes(library, "REACTOME_") == {
        "REACTOME_INTERLEUKIN_1_SIGNALING": 102,
        "REACTOME_INTERLEUKIN_1_FAMILY_SIGNALING": 140,
        "REACTOME_INTERLEUKIN_1_PROCESSING": 9,
        "REACTOME_INFLAMMASOMES": 21,
    }
    full = library["REACTOME_INTERLEUKIN_1_SIGNALING"].genes
    proteasome = [g for g in full if re.match(r"PSM|UB[BC]$|UBA52$|RPS27A$|SEM1$", g)]
    assert len(proteasome) == 49
    subset = library["TME_IL1_SIGNALING_NO_PROTEASOME"]
    assert set(subset.genes) == set(full) - set(proteasome) and len(subset.genes) == 53
    assert "proteasome" in library["REACTOME_INTERLEUKIN_1_SIGNALING"].note


@needs_shared
def test_gep_genes_housekeeping_and_cristescu_weights(library):
    gep = library["AYERS_TCELL_INFLAMED_GEP_18"]
    with open(SHARED / "signatures" / "ayers_cristescu_gep.tsv", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    published = {r["gene"]: float(r["weight"]) for r in rows if r["signature"] == "AYERS_TCELL_INFLAMED_GEP_18"}
    assert len(gep.genes) == 18 and len(gep.housekeeping) == 11
    assert dict(gep.weights) == published
    assert gep.weights["STAT1"] == 0.250229 and gep.weights["CD276"] == -0.0239
    assert gep.method == "weighted" and "NRDE2" in gep.housekeeping
    assert len(library["AYERS_IFNG_6"].genes) == 6
    assert len(library["AYERS_EXPANDED_IMMUNE_18"].genes) == 18


def test_cell_type_sets_have_published_sizes(library):
    assert library["CYT_ROONEY2015"].genes == ("GZMA", "PRF1")
    assert library["CYT_ROONEY2015"].method == "cyt"
    assert _sizes(library, "ESTIMATE_") == {"ESTIMATE_StromalSignature": 141, "ESTIMATE_ImmuneSignature": 141}
    danaher = _sizes(library, "DANAHER2017_")
    assert (len(danaher), sum(danaher.values())) == (14, 60)
    mcp = _sizes(library, "MCPCOUNTER_")
    assert (len(mcp), sum(mcp.values())) == (10, 111)
    assert {n: len(s.genes) for n, s in load_library("tme_il1").items()} == {
        "TME_IL1_AXIS_CORE": 21,
        "TME_IL1_INDUCED": 33,
    }
    assert len(load_library("myeloid_il1")) == 10


def test_authors_methods(library):
    by_prefix = {"DANAHER2017_": "mean", "MCPCOUNTER_": "mcpcounter", "ESTIMATE_": "estimate"}
    for prefix, method in by_prefix.items():
        assert {s.method for n, s in library.items() if n.startswith(prefix)} == {method}
        assert {s.meta["method_basis"] for n, s in library.items() if n.startswith(prefix)} == {"authors"}


def test_every_signature_is_cited_and_has_a_known_method(library):
    for name, signature in library.items():
        assert signature.source and signature.citation and signature.version, name
        assert signature.licence and signature.collection, name
        assert signature.method in METHODS, name
        assert signature.meta["method_basis"] in ("authors", "tme"), name
        assert set(default_methods(signature)) <= set(METHODS), name


def test_caveats_are_stated(library):
    for name in ("TME_IL1_AXIS_CORE", "TME_IL1_INDUCED", "TME_IL1_SIGNALING_NO_PROTEASOME"):
        assert "NOT a" in library[name].note
    for name in ("TIDE_JIANG2018_MDSC", "TIDE_JIANG2018_TAM_M2"):
        assert "NOT a cell-marker list" in library[name].note
    assert "CD4" in library["DANAHER2017_T_cells"].note


def test_legacy_symbols_resolved_and_recorded(library):
    immune = library["ESTIMATE_ImmuneSignature"]
    assert "FYB1" in immune.genes and "FYB" not in immune.genes
    assert "FYB->FYB1" in immune.meta["published_genes"]
    bindea = library["BINDEA2013_Neutrophils"]
    assert {"CXCR1", "CXCR2", "H2BC4", "FPR2"} <= set(bindea.genes)
    assert "IL8RA->CXCR1" in bindea.meta["published_genes"]
    assert "RIGI" in library["HALLMARK_TNFA_SIGNALING_VIA_NFKB"].genes
    assert "PTRPC->PTPRC" in library["DANAHER2017_CD45"].meta["published_genes"]


def test_library_genes_are_current_symbols(library):
    genes = sorted({g for s in library.values() for g in (*s.all_genes, *s.housekeeping)})
    mapped = GeneMap.load().to_symbols(genes)
    not_current = mapped[(mapped["id_type"] != "symbol") | (mapped["status"] != "mapped")]
    # withdrawn / clone-based names kept as distributed (documented in the README)
    assert set(not_current["input_id"]) == {"MGC40069", "FLJ11151", "CTB-92J24.3"}


def test_collections(library):
    assert "hallmark_all" in collection_names()
    assert len(library) == sum(len(load_library(c)) for c in collection_names())  # unique names
    assert len(load_library(["hallmark_all", "cyt"])) == 51
    with pytest.raises(TmeInputError, match="unknown signature collection 'nope'"):
        load_library(["nope"])
    assert default_methods(library["AYERS_TCELL_INFLAMED_GEP_18"]) == ["weighted"]
    assert default_methods(library["CYT_ROONEY2015"])[0] == "cyt"


def test_default_methods_for_user_sets():
    assert default_methods(Signature("BIG", tuple(f"G{i}" for i in range(12))))[0] == "ssgsea"
    assert default_methods(Signature("SMALL", ("A", "B", "C")))[0] == "mean"


@needs_shared
def test_library_files_are_reproducible(tmp_path):
    spec = importlib.util.spec_from_file_location(
        "make_signature_library", ROOT / "tools" / "make_signature_library.py"
    )
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    tool.main(["--reference", str(SHARED), "--out", str(tmp_path)])
    shipped = ROOT / "src" / "tme" / "signatures"
    written = sorted(p.name for p in tmp_path.glob("*.tsv"))
    assert written == sorted(p.name for p in shipped.glob("*.tsv"))
    for name in written:
        assert (tmp_path / name).read_bytes() == (shipped / name).read_bytes(), name


# --- resolve_symbols ---------------------------------------------------------------------------


def test_resolve_symbols_maps_aliases_and_ids():
    user = {
        "S": Signature(
            "S",
            ("IL8", "ENSG00000125538.12", "FYB", "IL8RA", "NOT_A_GENE", "CXCL8"),
            weights={"IL8": 1.0, "ENSG00000125538.12": 2.0, "FYB": 3.0, "IL8RA": 4.0, "NOT_A_GENE": 5.0, "CXCL8": 6.0},
        )
    }
    out = resolve_symbols(user, GeneMap.load())["S"]
    assert out.genes == ("CXCL8", "IL1B", "FYB1", "IL8RA", "NOT_A_GENE")
    assert out.weights["CXCL8"] == 1.0  # the first of IL8 / CXCL8 wins
    assert "IL8->CXCL8" in out.meta["published_genes"]
    assert out.meta["unresolved_genes"] == "IL8RA (ambiguous: CXCR1;CXCR2);NOT_A_GENE"
    assert out.meta["merged_genes"] == "CXCL8=CXCL8"
    unchanged = {"T": Signature("T", ("IL1B", "CXCL8"))}
    assert resolve_symbols(unchanged)["T"] is unchanged["T"]


# --- readers: good input -----------------------------------------------------------------------


def _write(tmp_path, name, text, encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def test_read_gmt_tolerates_bom_crlf_and_padding(tmp_path):
    path = _write(tmp_path, "sets.gmt", "\ufeffSET_A\tdesc a\tIL1B\tCXCL8\t\t\r\n\r\nSET_B\tdesc b\tGZMA\tPRF1\r\n")
    sets = read_gmt(path)
    assert list(sets) == ["SET_A", "SET_B"]
    assert sets["SET_A"].genes == ("IL1B", "CXCL8") and sets["SET_A"].note == "desc a"
    assert sets["SET_A"].collection == "sets"


def test_read_signature_table_full_format(tmp_path):
    path = _write(
        tmp_path,
        "sigs.tsv",
        "\ufeffSignature\tGene\tWeight\tDirection\tRole\tsource\r\n"
        "S1\tIL1B\t1.5\tup\t\tx\r\nS1\tIL10\t-0.5\tDOWN\t\tx\r\n"
        "S1\tACTB\t\t\thousekeeping\tx\r\nS2\tGZMA\r\nS2\tPRF1\r\n",
    )
    sigs = read_signature_table(path)
    assert sigs["S1"].genes == ("IL1B",) and sigs["S1"].down_genes == ("IL10",)
    assert dict(sigs["S1"].weights) == {"IL1B": 1.5, "IL10": -0.5}
    assert sigs["S1"].housekeeping == ("ACTB",)
    assert sigs["S2"].genes == ("GZMA", "PRF1") and sigs["S2"].weights is None


def test_trailing_spaces_are_stripped_with_a_warning(tmp_path):
    gmt = _write(tmp_path, "s.gmt", "S\td\tIL1B \tCXCL8\n")
    with pytest.warns(TmeInputWarning, match=r"s\.gmt, line 1: spaces around gene name 'IL1B'"):
        assert read_gmt(gmt)["S"].genes == ("IL1B", "CXCL8")
    table = _write(tmp_path, "s.tsv", "signature\tgene\nS\t IL1B\n")
    with pytest.warns(TmeInputWarning, match="line 2"):
        assert read_signature_table(table)["S"].genes == ("IL1B",)


def test_duplicated_gene_is_used_once_with_a_warning(tmp_path):
    gmt = _write(tmp_path, "s.gmt", "S\td\tIL1B\tCXCL8\tIL1B\n")
    with pytest.warns(TmeInputWarning, match="'IL1B' is listed twice"):
        sig = read_gmt(gmt)["S"]
    assert sig.genes == ("IL1B", "CXCL8") and sig.meta["duplicated_genes"] == "IL1B"
    table = _write(tmp_path, "s.tsv", "signature\tgene\tweight\nS\tIL1B\t1\nS\tCXCL8\t2\nS\tIL1B\t1\n")
    with pytest.warns(TmeInputWarning, match="line 4"):
        sig = read_signature_table(table)["S"]
    assert sig.genes == ("IL1B", "CXCL8") and sig.meta["duplicated_genes"] == "IL1B"


# --- readers: every bad input names file and line ----------------------------------------------

GMT_ERRORS = {
    "empty_name": ("S\td\tIL1B\n\td\tCXCL8\n", 2, "empty signature name"),
    "duplicate_name": ("S\td\tIL1B\nT\td\tGZMA\nS\td\tCXCL8\n", 3, "defined twice (also line 1)"),
    "case_collision": ("IL1_core\td\tIL1B\nIL1_CORE\td\tCXCL8\n", 2, "differ only by case"),
    "no_genes": ("S\td\tIL1B\nT\tdescription only\t\t\n", 2, "'T' has no genes"),
    "name_only": ("S\n", 1, "'S' has no genes"),
    "excel": ("S\td\tIL1B\n T\td\tCXCL8\t1-Sep\t2-Mar\n", 2, "SEPT1, now SEPTIN1"),
}


@pytest.mark.parametrize("case", GMT_ERRORS)
def test_gmt_errors_name_file_and_line(tmp_path, case):
    text, line, message = GMT_ERRORS[case]
    path = _write(tmp_path, "bad.gmt", text)
    with pytest.raises(TmeInputError) as error:
        read_gmt(path)
    assert error.value.file == str(path) and error.value.line == line
    assert message in str(error.value) and f"bad.gmt, line {line}" in str(error.value)


TABLE_ERRORS = {
    "no_gene_column": ("signature\tsymbol\nS\tIL1B\n", 1, "no 'gene' column"),
    "empty_name": ("signature\tgene\nS\tIL1B\n\tCXCL8\n", 3, "empty signature name"),
    "case_collision": ("signature\tgene\nabc\tIL1B\nABC\tCXCL8\n", 3, "differ only by case"),
    "empty_gene": ("signature\tgene\nS\tIL1B\nS\t  \n", 3, "empty gene name"),
    "text_weight": ("signature\tgene\tweight\nS\tIL1B\t1\nS\tCXCL8\thigh\n", 3, "weight 'high' is not a finite number"),
    "nan_weight": ("signature\tgene\tweight\nS\tIL1B\tNaN\n", 2, "not a finite number"),
    "comma_decimal": ("signature\tgene\tweight\nS\tIL1B\t0,5\n", 2, "not a finite number"),
    "partial_weights": ("signature\tgene\tweight\nS\tIL1B\t1\nS\tCXCL8\t\n", 3, "gives weights for 1 of its 2 genes"),
    "weight_on_housekeeping": (
        "signature\tgene\tweight\trole\nS\tIL1B\t1\t\nS\tACTB\t1\thousekeeping\n",
        3,
        "weights given for genes not in the set",
    ),
    "bad_direction": (
        "signature\tgene\tdirection\nS\tIL1B\tupregulated\n",
        2,
        "direction 'upregulated' is not one of up, down",
    ),
    "bad_role": ("signature\tgene\trole\nS\tIL1B\tcontrol\n", 2, "role 'control'"),
    "conflicting_duplicate": (
        "signature\tgene\tweight\nS\tIL1B\t1\nS\tIL1B\t2\n",
        3,
        "listed twice in signature 'S' (also line 2)",
    ),
    "only_housekeeping": ("signature\tgene\trole\nS\tACTB\thousekeeping\n", 2, "no member genes"),
    "no_rows": ("signature\tgene\n", 2, "no signature rows"),
    "excel": ("signature\tgene\nS\tIL1B\nS\t1-Dec\n", 3, "DEC1"),
}


@pytest.mark.parametrize("case", TABLE_ERRORS)
def test_table_errors_name_file_and_line(tmp_path, case):
    text, line, message = TABLE_ERRORS[case]
    path = _write(tmp_path, "bad.tsv", text)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TmeInputWarning)
        with pytest.raises(TmeInputError) as error:
            read_signature_table(path)
    assert error.value.file == str(path) and error.value.line == line
    assert message in str(error.value) and f"bad.tsv, line {line}" in str(error.value)


def test_missing_empty_gzipped_and_non_utf8_files(tmp_path):
    with pytest.raises(TmeInputError, match="does not exist"):
        read_gmt(tmp_path / "absent.gmt")
    with pytest.raises(TmeInputError, match="is a directory"):
        read_gmt(tmp_path)
    with pytest.raises(TmeInputError, match="empty.tsv: the gene-set file is empty"):
        read_signature_table(_write(tmp_path, "empty.tsv", ""))
    path = _write(tmp_path, "latin.tsv", "signature\tgene\nS\tIL1B\nS\tCXCL8é\n", encoding="latin-1")
    with pytest.raises(TmeInputError, match="line 3: the gene-set file is not UTF-8"):
        read_signature_table(path)
    packed = gzip.compress("".join(f"S{i}\tdesc\tIL1B\tCXCL8\tGZMA\n" for i in range(500)).encode(), mtime=0)
    (tmp_path / "sets.gmt.gz").write_bytes(packed)
    assert list(read_gmt(tmp_path / "sets.gmt.gz")) == [f"S{i}" for i in range(500)]
    (tmp_path / "cut.gmt.gz").write_bytes(packed[: len(packed) // 2])
    with pytest.raises(TmeInputError, match="truncated gzip"):
        read_gmt(tmp_path / "cut.gmt.gz")


def test_config_accepts_exactly_the_registered_methods_and_formats():
    from tme.expression import FORMATS
    from tme.schema import load_schema

    config = load_schema("config")["properties"]
    assert config["scoring"]["properties"]["methods"]["oneOf"][1]["items"]["enum"] == list(METHODS)
    assert config["expression"]["properties"]["format"]["enum"] == list(FORMATS)
