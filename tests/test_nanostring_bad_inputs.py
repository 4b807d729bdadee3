"""Bad RCC input: each case breaks one thing in a valid 3-patient folder; ``read_nanostring`` must raise one
TmeInputError naming the file, the line and the fix, and write nothing."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import pytest

from tme.config import Design
from tme.errors import TmeInputError
from tme.nanostring import read_nanostring
from tme.samplesheet import read_samplesheet

from nanostring_helpers import GENES, rcc_text, write_folder

PATIENTS = (("P1", "anakinra"), ("P2", "usual_care"), ("P3", "usual_care"))
SAMPLES = [f"{p}-{tp}" for p, _ in PATIENTS for tp in ("pre", "post")]


def _replace(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new, 1))


def _line_of(path: Path, needle: str) -> int:
    return next(i for i, line in enumerate(path.read_text().split("\n"), start=1) if needle in line)


def cut_mid_section(root, settings):
    path = root / "rcc" / "P1-post.RCC"
    lines = path.read_text().split("\n")
    path.write_text("\n".join(lines[:30]))  # stops inside <Code_Summary>
    return ["P1-post.RCC", "line 30", "ends inside <Code_Summary> (opened on line 26)", "cut off", "copy the RCC file"]


def truncated_gzip(root, settings):
    path = root / "rcc" / "P1-post.RCC"
    data = gzip.compress(path.read_bytes(), mtime=0)
    path.unlink()
    (root / "rcc" / "P1-post.RCC.gz").write_bytes(data[: len(data) // 2])
    return ["P1-post.RCC.gz", "damaged or truncated gzip", "gzip -t"]


def missing_code_summary(root, settings):
    path = root / "rcc" / "P2-pre.RCC"
    text = path.read_text()
    start, end = text.index("<Code_Summary>"), text.index("</Code_Summary>") + len("</Code_Summary>")
    path.write_text(text[:start] + text[end:])
    return ["P2-pre.RCC", "line", "section <Code_Summary> is missing", "Fix:"]


def misspelt_tag(root, settings):
    path = root / "rcc" / "P2-pre.RCC"
    path.write_text(path.read_text().replace("Code_Summary>", "Code_summary>"))
    return ["P2-pre.RCC", "<Code_Summary> is missing", "found <Code_summary> on line 26", "case-sensitive"]


def non_numeric_count(root, settings):
    path = root / "rcc" / "P3-pre.RCC"
    _replace(path, "CD68,NM_001251.2,700", "CD68,NM_001251.2,7O0")
    return ["P3-pre.RCC", f"line {_line_of(path, 'CD68')}", "column 'Count'", "'7O0'", "not a whole number"]


def fractional_count(root, settings):
    path = root / "rcc" / "P3-pre.RCC"
    _replace(path, "IL1B,NM_000576.2,500", "IL1B,NM_000576.2,500.5")
    return ["P3-pre.RCC", "line 28", "'500.5'", "not a whole number"]


def negative_count(root, settings):
    path = root / "rcc" / "P3-pre.RCC"
    _replace(path, "IL1B,NM_000576.2,500", "IL1B,NM_000576.2,-5")
    return ["P3-pre.RCC", "line 28", "negative count -5"]


def three_fields(root, settings):
    _replace(root / "rcc" / "P3-pre.RCC", "CXCL8,NM_000584.2,600", "CXCL8,600")
    return ["P3-pre.RCC", "line 29", "3 comma-separated fields instead of 4"]


def duplicate_probe(root, settings):
    _replace(root / "rcc" / "P3-pre.RCC", "Endogenous,CXCL8,NM_000584.2,600", "Endogenous,IL1B,NM_000576.2,600")
    return ["P3-pre.RCC", "line 29", "listed twice (lines 28 and 29)"]


def wrong_code_summary_header(root, settings):
    _replace(root / "rcc" / "P3-pre.RCC", "CodeClass,Name,Accession,Count", "CodeClass,Name,Count")
    return ["P3-pre.RCC", "line 27", "not 'CodeClass,Name,Accession,Count'"]


def missing_fov_count(root, settings):
    _replace(root / "rcc" / "P1-pre.RCC", "FovCount,280\n", "")
    return ["P1-pre.RCC", "line 15", "<Lane_Attributes> has no FovCount line", "imaging QC"]


def binding_density_not_a_number(root, settings):
    _replace(root / "rcc" / "P1-pre.RCC", "BindingDensity,0.85", "BindingDensity,n/a")
    return ["P1-pre.RCC", "line 21", "column 'BindingDensity'", "'n/a' is not a number"]


def text_outside_sections(root, settings):
    _replace(root / "rcc" / "P1-pre.RCC", "\n\n<Lane_Attributes>", "\nsaved by nSolver\n<Lane_Attributes>")
    return ["P1-pre.RCC", "line 14", "outside any <Section>"]


def empty_file(root, settings):
    (root / "rcc" / "P1-pre.RCC").write_text("\n\n")
    return ["P1-pre.RCC", "the RCC file is empty", "Fix:"]


def two_files_for_one_sample(root, settings):
    for sample in SAMPLES:
        (root / "rcc" / f"{sample}.RCC").rename(root / "rcc" / f"20250301_C1_{sample}_01.RCC")
    shutil.copy(root / "rcc" / "20250301_C1_P2-pre_01.RCC", root / "rcc" / "20250308_C2_P2-pre_05.RCC")
    settings["nanostring"] = {"pattern": r"^\d{8}_[^_]+_(?P<sample>.+)_\d{2}$"}
    return [
        "20250308_C2_P2-pre_05.RCC",
        "two files for sample 'P2-pre'",
        "20250301_C1_P2-pre_01.RCC",
        "keep one file per sample",
    ]


def reused_instrument_id(root, settings):
    _replace(root / "rcc" / "P2-post.RCC", "ID,P2-post", "ID,P2-pre")
    settings["nanostring"] = {"match_by": "sample_attribute_id"}
    return ["P2-pre.RCC", "line 7", "two files for sample 'P2-pre'", "match by file_name"]


def file_not_in_sheet(root, settings):
    write_folder(root / "rcc", ["P4-pre"])
    return ["P4-pre.RCC", "sample 'P4-pre'", "not in the sample sheet", "extra_samples: ignore"]


def sample_without_file(root, settings):
    (root / "rcc" / "P3-post.RCC").unlink()
    return ["samples.tsv", "line 7", "column 'sample_id'", "1 sample(s) have no RCC file", "P3-post", "exclude_reason"]


def panel_without_housekeepers(root, settings):
    probes = [("Endogenous", n, a) for _, n, a in GENES]
    write_folder(root / "rcc", SAMPLES, probes=probes)
    return ["P1-pre.RCC", "line 26", "no Housekeeping probes", "expression.nanostring.housekeepers"]


def panel_without_positive_controls(root, settings):
    for sample in SAMPLES:
        path = root / "rcc" / f"{sample}.RCC"
        path.write_text("\n".join(line for line in path.read_text().split("\n") if not line.startswith("Positive,")))
    return ["P1-pre.RCC", "line 26", "no Positive probes", "POS_A"]


def mixed_panels(root, settings):
    probes = GENES[:2] + [("Endogenous", "CD163", "NM_004244.4")] + GENES[3:]
    (root / "rcc" / "P3-pre.RCC").write_text(rcc_text("P3-pre", probes=probes, gene_rlf="OTHER_PANEL"))
    return [
        "P3-pre.RCC",
        "line 30",
        "probe 'CD163' (Endogenous) is not on the panel of P1-post.RCC",
        "GeneRLF 'OTHER_PANEL' here, 'TEST_PANEL'",
        "one CodeSet per run",
    ]


def pattern_does_not_match(root, settings):
    settings["nanostring"] = {"pattern": r"^(?P<sample>P\d-(pre|post))_\d+$"}
    return ["P1-post.RCC", "does not match expression.nanostring.pattern", "adjust the pattern"]


def rlf_without_a_probe(root, settings):
    (root / "TEST_PANEL.rlf").write_text(
        "[Header]\nClassName0=Endogenous\n[Content]\nColumnCount=8\nRecordCount=1\n"
        "Columns=Classification,TargetSeq,BarCode,GeneName,ProbeID,Species,Accession,Comments\n"
        "Record0=0,NA,NNNNNN,IL1B,x,Hs,NM_000576.2,x\n"
    )
    settings["nanostring"] = {"rlf": str(root / "TEST_PANEL.rlf")}
    return [
        "P1-post.RCC",
        "line 29",
        "probe 'CXCL8' (NM_000584.2) is not in the RLF",
        "the CodeSet these files were run on",
    ]


CASES = [
    cut_mid_section,
    truncated_gzip,
    missing_code_summary,
    misspelt_tag,
    non_numeric_count,
    fractional_count,
    negative_count,
    three_fields,
    duplicate_probe,
    wrong_code_summary_header,
    missing_fov_count,
    binding_density_not_a_number,
    text_outside_sections,
    empty_file,
    two_files_for_one_sample,
    reused_instrument_id,
    file_not_in_sheet,
    sample_without_file,
    panel_without_housekeepers,
    panel_without_positive_controls,
    mixed_panels,
    pattern_does_not_match,
    rlf_without_a_probe,
]


@pytest.mark.parametrize("case", CASES, ids=[c.__name__ for c in CASES])
def test_bad_rcc_input_is_named_with_line_and_fix(tmp_path, case):
    lines = ["sample_id\tpatient_id\tarm\ttimepoint"] + [
        f"{p}-{tp}\t{p}\t{arm}\t{tp}" for p, arm in PATIENTS for tp in ("pre", "post")
    ]
    (tmp_path / "samples.tsv").write_text("\n".join(lines) + "\n")
    write_folder(tmp_path / "rcc", SAMPLES)
    settings = {"path": str(tmp_path / "rcc")}
    fragments = case(tmp_path, settings)
    samples = read_samplesheet(tmp_path / "samples.tsv", Design())
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    with pytest.raises(TmeInputError) as info:
        read_nanostring(settings, samples)
    message = str(info.value)
    for fragment in fragments:
        assert fragment in message, (fragment, message)
    assert "Fix: " in message and info.value.file is not None
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before  # nothing written
