"""The bad-input catalogue: every malformed input a trial's data manager can hand over.

Each case breaks one thing in a tiny valid cohort. A bad case must make ``tme validate`` exit ≠ 0
with one message naming the file (and line/column where there is one) and the fix; a "usable" case
(a documented tolerance, e.g. a byte-order mark) must pass. Every input check runs when Snakemake
reads the config or in the workflow's first rule, on which every other rule depends, so a bad input
leaves nothing under results/: the cases marked ``SNAKEMAKE`` (at least one per kind of input) also
run the real workflow and assert exactly that.
"""

from __future__ import annotations

import gzip
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import pytest

import yaml

from conftest import run_workflow
from tme.cli import main as tme_main

pytestmark = pytest.mark.workflow

GENES = ["IL1B", "CXCL8", "CD68", "CD163", "GZMA", "PRF1", "MKI67", "ACTB"]
PATIENTS = [("P1", "anakinra"), ("P2", "anakinra"), ("P3", "usual_care"), ("P4", "usual_care")]


def tiny_cohort(root: Path) -> dict:
    """Four patients, pre and post, eight genes, two immune measures; returns its config."""
    sheet = ["sample_id\tpatient_id\tarm\ttimepoint\tdays_from_baseline\ttumour_cellularity"]
    samples = []
    for patient, arm in PATIENTS:
        for tp, day in (("pre", 0), ("post", 15)):
            samples.append(f"{patient}-{tp}")
            sheet.append(f"{patient}-{tp}\t{patient}\t{arm}\t{tp}\t{day}\t50")
    (root / "samples.tsv").write_text("\n".join(sheet) + "\n")
    rows = ["gene\t" + "\t".join(samples)]
    for g, gene in enumerate(GENES):
        rows.append(gene + "\t" + "\t".join(str(100 * (g + 1) + 7 * s) for s in range(len(samples))))
    (root / "counts.tsv").write_text("\n".join(rows) + "\n")
    immune = ["sample_id\tmeasure\tvalue\tunit"]
    for s, sample in enumerate(samples):
        immune += [f"{sample}\tCD68\t{100 + s}\tcells/mm2", f"{sample}\tsTILs\t{5 + s}\t%"]
    (root / "immune.tsv").write_text("\n".join(immune) + "\n")
    (root / "sets.gmt").write_text("MY_SET\tdesc\tIL1B\tCXCL8\tCD68\n")
    return {"samples": str(root / "samples.tsv"),
            "expression": {"path": str(root / "counts.tsv"), "format": "counts", "min_library_size": 0},
            "immune": {"path": str(root / "immune.tsv")},
            "scoring": {"gene_sets": [str(root / "sets.gmt")]}}


def edit_line(path: Path, line: int, old: str, new: str) -> None:
    lines = path.read_text().split("\n")
    assert old in lines[line - 1], (path, line, lines[line - 1])
    lines[line - 1] = lines[line - 1].replace(old, new, 1)
    path.write_text("\n".join(lines))


def append(path: Path, text: str) -> None:
    with path.open("a") as handle:
        handle.write(text)


@dataclass
class Case:
    break_it: Callable[[Path, dict], None]
    fragments: list[str] = field(default_factory=list)  # all must appear in the message
    usable: bool = False


def _set(section, key, value):
    def apply(root, config):
        if section:
            config[section][key] = value
        else:
            config[key] = value
    return apply


def _nfcore(root, config, cell="1"):
    text = "gene_id\tgene_name\t" + (root / "counts.tsv").read_text().split("\n", 1)[0].split("\t", 1)[1] + "\n"
    for line in (root / "counts.tsv").read_text().strip().split("\n")[1:]:
        gene, rest = line.split("\t", 1)
        text += f"ENSG_{gene}\t{gene}\t{rest}\n"
    (root / "salmon.merged.gene_tpm.tsv").write_text(text)
    config["expression"] = {"path": str(root / "salmon.merged.gene_tpm.tsv"), "format": "nfcore_salmon_tpm"}


def _symlink_loop(root, config):
    (root / "loop_a.tsv").symlink_to(root / "loop_b.tsv")
    (root / "loop_b.tsv").symlink_to(root / "loop_a.tsv")
    config["samples"] = str(root / "loop_a.tsv")


def _truncated_gzip(root, config):
    data = gzip.compress((root / "counts.tsv").read_bytes() * 20)
    (root / "counts.tsv.gz").write_bytes(data[: len(data) // 2])
    config["expression"]["path"] = str(root / "counts.tsv.gz")


def _bom_crlf(root, config):
    path = root / "samples.tsv"
    path.write_bytes(b"\xef\xbb\xbf" + path.read_text().replace("\n", "\r\n").encode())


def _wide_immune(root, config, units):
    (root / "wide.tsv").write_text("sample_id\tCD68\n" + "".join(f"{p}-{t}\t{i}\n" for i, (p, _) in enumerate(PATIENTS * 2)
                                                                for t in ("pre",) if False) +
                                   "".join(f"{p}-{t}\t100\n" for p, _ in PATIENTS for t in ("pre", "post")))
    config["immune"] = {"path": str(root / "wide.tsv"), "format": "wide", "units": units}


CASES: dict[str, Case] = {
    # --- sample sheet ---
    "sheet: missing required column": Case(lambda r, c: (r / "samples.tsv").write_text((r / "samples.tsv").read_text().replace("\ttimepoint", "\ttp", 1)), ["samples.tsv", "'timepoint'"]),
    "sheet: duplicate sample_id": Case(lambda r, c: edit_line(r / "samples.tsv", 3, "P1-post", "P1-pre"), ["samples.tsv", "line 3", "'sample_id'"]),
    "sheet: two pre samples": Case(lambda r, c: append(r / "samples.tsv", "P1-pre2\tP1\tanakinra\tpre\t0\t50\n"), ["samples.tsv", "line 10", "usable 'pre' samples"]),
    "sheet: patient reused across arms": Case(lambda r, c: edit_line(r / "samples.tsv", 3, "anakinra", "usual_care"), ["samples.tsv", "'arm'", "more than one arm"]),
    "sheet: unknown arm": Case(lambda r, c: edit_line(r / "samples.tsv", 4, "anakinra", "placebo"), ["samples.tsv", "line 4", "'placebo'"]),
    "sheet: unknown timepoint": Case(lambda r, c: edit_line(r / "samples.tsv", 4, "\tpre\t", "\tbaseline\t"), ["samples.tsv", "line 4", "'baseline'"]),
    "sheet: mixed-case arm label": Case(lambda r, c: edit_line(r / "samples.tsv", 2, "anakinra", "Anakinra"), ["samples.tsv", "line 2", "exactly as the config names it"]),
    "sheet: date in numeric column": Case(lambda r, c: edit_line(r / "samples.tsv", 3, "\t15\t", "\t2025-03-04\t"), ["samples.tsv", "line 3", "'days_from_baseline'"]),
    "sheet: unknown column": Case(lambda r, c: (r / "samples.tsv").write_text((r / "samples.tsv").read_text().replace("tumour_cellularity", "cellularity", 1)), ["samples.tsv", "'cellularity'"]),
    "sheet: comma-separated as .tsv": Case(lambda r, c: (r / "samples.tsv").write_text((r / "samples.tsv").read_text().replace("\t", ",")), ["samples.tsv", "line 1", "comma-separated"]),
    "sheet: empty file": Case(lambda r, c: (r / "samples.tsv").write_text(""), ["samples.tsv", "empty"]),
    "sheet: ragged row": Case(lambda r, c: edit_line(r / "samples.tsv", 5, "\t50", ""), ["samples.tsv", "line 5", "cells"]),
    "sheet: illegal characters in sample_id": Case(lambda r, c: edit_line(r / "samples.tsv", 2, "P1-pre", "P1 pre<script>"), ["samples.tsv", "line 2", "'sample_id'"]),
    "sheet: cellularity out of range": Case(lambda r, c: edit_line(r / "samples.tsv", 2, "\t50", "\t150"), ["samples.tsv", "line 2", "'tumour_cellularity'"]),
    "sheet: arm with no usable post": Case(lambda r, c: (r / "samples.tsv").write_text("\n".join(l for l in (r / "samples.tsv").read_text().split("\n") if not ("usual_care\tpost" in l))), ["samples.tsv", "'usual_care' has no usable 'post'"]),
    "sheet: symlink loop": Case(_symlink_loop, ["loop_a.tsv", "'samples'", "symbolic link loop"]),
    "sheet: BOM and CRLF (usable)": Case(_bom_crlf, usable=True),
    "sheet: quoted headers (usable)": Case(lambda r, c: (r / "samples.tsv").write_text((r / "samples.tsv").read_text().replace("sample_id\tpatient_id", '"sample_id"\t"patient_id"', 1)), usable=True),
    # --- config ---
    "config: unknown key": Case(_set(None, "alpha", 0.1), ["config", "unknown key 'alpha'"]),
    "config: missing path": Case(_set("immune", "path", "/nonexistent/immune.tsv"), ["'immune.path'", "does not exist"]),
    "config: bad enum": Case(_set("expression", "format", "xlsx"), ["expression.format", "nfcore_salmon_counts"]),
    "config: wrong type": Case(_set(None, "seed", "abc"), ["'seed'", "integer"]),
    "config: covariate not allowed": Case(lambda r, c: c.update(design={"covariates": ["age"]}), ["design.covariates", "batch"]),
    "config: same arm twice": Case(lambda r, c: c.update(design={"reference_arm": "anakinra"}), ["same arm"]),
    "config: missing gene-set file": Case(lambda r, c: c["scoring"].update(gene_sets=[str(r / "none.gmt")]), ["scoring.gene_sets[0]", "does not exist"]),
    # --- expression: plain counts ---
    "counts: sample missing from matrix": Case(lambda r, c: (r / "counts.tsv").write_text("\n".join("\t".join(l.split("\t")[:-1]) for l in (r / "counts.tsv").read_text().strip().split("\n")) + "\n"), ["samples.tsv", "P4-post", "no column"]),
    "counts: column not in sheet": Case(lambda r, c: (r / "counts.tsv").write_text("\n".join(l + ("\tEXTRA" if i == 0 else "\t5") for i, l in enumerate((r / "counts.tsv").read_text().strip().split("\n"))) + "\n"), ["counts.tsv", "'EXTRA'", "extra_samples: ignore"]),
    "counts: non-numeric": Case(lambda r, c: edit_line(r / "counts.tsv", 3, "\t200\t", "\tlow\t"), ["counts.tsv", "line 3", "'P1-pre'"]),
    "counts: negative": Case(lambda r, c: edit_line(r / "counts.tsv", 3, "\t200\t", "\t-200\t"), ["counts.tsv", "line 3", "negative count"]),
    "counts: non-integer": Case(lambda r, c: edit_line(r / "counts.tsv", 3, "\t200\t", "\t200.5\t"), ["counts.tsv", "line 3", "non-integer"]),
    "counts: NA": Case(lambda r, c: edit_line(r / "counts.tsv", 4, "\t300\t", "\tNA\t"), ["counts.tsv", "line 4", "missing or infinite"]),
    "counts: inf": Case(lambda r, c: edit_line(r / "counts.tsv", 4, "\t300\t", "\tinf\t"), ["counts.tsv", "line 4", "missing or infinite"]),
    "counts: empty file": Case(lambda r, c: (r / "counts.tsv").write_text(""), ["counts.tsv", "empty"]),
    "counts: duplicated gene id": Case(lambda r, c: edit_line(r / "counts.tsv", 3, "CXCL8", "IL1B"), ["counts.tsv", "line 3", "'IL1B'"]),
    "counts: Excel-mangled names": Case(lambda r, c: edit_line(r / "counts.tsv", 8, "MKI67", "1-Mar"), ["counts.tsv", "line 8", "Excel"]),
    "counts: truncated gzip": Case(_truncated_gzip, ["counts.tsv.gz", "truncated"]),
    "counts: duplicate sample column": Case(lambda r, c: edit_line(r / "counts.tsv", 1, "P1-post", "P1-pre"), ["counts.tsv", "line 1", "'P1-pre'"]),
    "counts: wrong delimiter": Case(lambda r, c: (r / "counts.tsv").write_text((r / "counts.tsv").read_text().replace("\t", ";")), ["counts.tsv", "semicolon"]),
    "counts: gene names with trailing spaces (usable)": Case(lambda r, c: edit_line(r / "counts.tsv", 2, "IL1B", "IL1B  "), usable=True),
    # --- expression: nf-core and normalised ---
    "nfcore: missing gene_name": Case(lambda r, c: (_nfcore(r, c), (r / "salmon.merged.gene_tpm.tsv").write_text((r / "salmon.merged.gene_tpm.tsv").read_text().replace("gene_name", "name", 1))), ["salmon.merged.gene_tpm.tsv", "gene_name"]),
    "nfcore: negative TPM": Case(lambda r, c: (_nfcore(r, c), edit_line(r / "salmon.merged.gene_tpm.tsv", 2, "\t107\t", "\t-1\t")), ["salmon.merged.gene_tpm.tsv", "negative TPM"]),
    "normalised: negative on a linear scale": Case(lambda r, c: (c["expression"].update(format="normalised", scale="linear"), edit_line(r / "counts.tsv", 2, "\t107\t", "\t-1\t")), ["counts.tsv", "linear"]),
    "normalised: text cell": Case(lambda r, c: (c["expression"].update(format="normalised"), edit_line(r / "counts.tsv", 2, "\t107\t", "\tn/a\t")), ["counts.tsv", "line 2", "missing or infinite"]),
    # --- immune ---
    "immune: two units": Case(lambda r, c: edit_line(r / "immune.tsv", 3, "5\t%", "0.05\tfraction"), ["immune.tsv", "more than one unit", "'unit'"]),
    "immune: percent above 100": Case(lambda r, c: edit_line(r / "immune.tsv", 3, "5\t%", "105\t%"), ["immune.tsv", "line 3", "above the maximum"]),
    "immune: sample not in sheet": Case(lambda r, c: append(r / "immune.tsv", "\nP9-pre\tCD68\t5\tcells/mm2\n"), ["immune.tsv", "'P9-pre'"]),
    "immune: non-numeric value": Case(lambda r, c: edit_line(r / "immune.tsv", 2, "\t100\t", "\t>100\t"), ["immune.tsv", "line 2", "'value'"]),
    "immune: unknown unit": Case(lambda r, c: edit_line(r / "immune.tsv", 2, "cells/mm2", "cells/field"), ["immune.tsv", "line 2", "'unit'"]),
    "immune: duplicate measure": Case(lambda r, c: append(r / "immune.tsv", "\nP1-pre\tCD68\t5\tcells/mm2\n"), ["immune.tsv", "more than once"]),
    "immune: wide without unit": Case(lambda r, c: _wide_immune(r, c, {}), ["wide.tsv", "'CD68'", "immune.units"]),
    # --- gene sets ---
    "gmt: line with no genes": Case(lambda r, c: append(r / "sets.gmt", "EMPTY_SET\tdesc\n"), ["sets.gmt", "line 2"]),
    "gmt: duplicated set names": Case(lambda r, c: append(r / "sets.gmt", "MY_SET\tdesc\tGZMA\n"), ["sets.gmt", "line 2", "MY_SET"]),
    "gmt: name clashes with the library": Case(lambda r, c: append(r / "sets.gmt", "CYT_ROONEY2015\tdesc\tGZMA\tPRF1\n"), ["sets.gmt", "CYT_ROONEY2015"]),
    "gmt: duplicated genes (usable)": Case(lambda r, c: append(r / "sets.gmt", "DUP_SET\tdesc\tGZMA\tGZMA\tPRF1\n"), usable=True),
    "tsv gene set: non-numeric weight": Case(lambda r, c: ((r / "w.tsv").write_text("signature\tgene\tweight\nW\tGZMA\t0.5\nW\tPRF1\thigh\n"), c["scoring"].update(gene_sets=[str(r / "w.tsv")])), ["w.tsv", "line 3", "weight"]),
}


def test_catalogue_has_at_least_40_bad_inputs():
    assert sum(not case.usable for case in CASES.values()) >= 40


SNAKEMAKE = ["sheet: duplicate sample_id", "sheet: symlink loop", "sheet: BOM and CRLF (usable)", "config: unknown key",
             "counts: non-integer", "counts: truncated gzip", "nfcore: negative TPM", "normalised: text cell",
             "immune: two units", "gmt: line with no genes", "tsv gene set: non-numeric weight"]


def _broken(tmp_path, name):
    root = tmp_path / "inputs"
    root.mkdir()
    config = tiny_cohort(root)
    CASES[name].break_it(root, config)
    return config


@pytest.mark.parametrize("name", list(CASES))
def test_validate(tmp_path, capsys, name):
    case = CASES[name]
    config_path = tmp_path / "config.yaml"
    config_path.write_text(yaml.safe_dump(_broken(tmp_path, name)))
    code = tme_main(["validate", "--config", str(config_path)])
    text = capsys.readouterr()
    if case.usable:
        assert code == 0, text.err
        return
    assert code != 0
    message = text.err.strip()
    assert message.count("\n") == 0 and "Fix:" in message, message
    for fragment in case.fragments:
        assert fragment in message, (fragment, message)


@pytest.mark.parametrize("name", SNAKEMAKE)
def test_workflow_stops_without_output(tmp_path, name):
    case = CASES[name]
    config = _broken(tmp_path, name)
    workdir = tmp_path / "run"
    args = ("--until", "sample_flow") if case.usable else ()
    proc = run_workflow(workdir, config, *args)
    text = proc.stdout + proc.stderr
    if case.usable:
        assert proc.returncode == 0, text[-3000:]
        assert (workdir / "results" / "tables" / "sample_flow.tsv").exists()
        return
    assert proc.returncode != 0, text[-2000:]
    assert "Fix:" in text and "Traceback" not in text, text[-3000:]
    for fragment in case.fragments:
        assert fragment in text, (fragment, text[-3000:])
    leftovers = [p for p in (workdir / "results").rglob("*") if p.is_file()] if (workdir / "results").exists() else []
    assert leftovers == []
