"""The bad-input catalogue: every malformed, hostile or implausible input a trial's data manager can hand over.

Each case breaks one thing in a tiny valid cohort (:func:`tiny_cohort`). A bad case must stop the
run with one message naming the file (and line, column or config key where there is one) and the
fix; a "usable" case is a documented tolerance, and a usable case with ``warns`` a documented
warning. The cohort is pseudonymised with a key and an ID map outside ``results/``, so that every
case also shows that neither is written when a check fails.
"""

from __future__ import annotations

import gzip
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from nanostring_helpers import GENES as PANEL_GENES
from nanostring_helpers import rcc_text

GENES = ["IL1B", "CXCL8", "CD68", "CD163", "GZMA", "PRF1", "MKI67", "ACTB"]
PATIENTS = [("P1", "anakinra"), ("P2", "anakinra"), ("P3", "usual_care"), ("P4", "usual_care")]
SAMPLES = [f"{p}-{t}" for p, _ in PATIENTS for t in ("pre", "post")]


def tiny_cohort(root: Path) -> dict:
    """Four patients, pre and post, eight genes, two immune measures; returns its config.

    Sheet lines: header 1, then P1-pre (2), P1-post (3), … P4-post (9). Counts of gene g (row g + 2)
    in sample s (column order as SAMPLES): 100 (g + 1) + 7 s. Immune: per sample CD68 then sTILs.
    """
    sheet = ["sample_id\tpatient_id\tarm\ttimepoint\tdays_from_baseline\ttumour_cellularity"]
    for patient, arm in PATIENTS:
        for tp, day in (("pre", 0), ("post", 15)):
            sheet.append(f"{patient}-{tp}\t{patient}\t{arm}\t{tp}\t{day}\t50")
    (root / "samples.tsv").write_text("\n".join(sheet) + "\n")
    rows = ["gene\t" + "\t".join(SAMPLES)]
    for g, gene in enumerate(GENES):
        rows.append(gene + "\t" + "\t".join(str(100 * (g + 1) + 7 * s) for s in range(len(SAMPLES))))
    (root / "counts.tsv").write_text("\n".join(rows) + "\n")
    immune = ["sample_id\tmeasure\tvalue\tunit"]
    for s, sample in enumerate(SAMPLES):
        immune += [f"{sample}\tCD68\t{100 + s}\tcells/mm2", f"{sample}\tsTILs\t{5 + s}\t%"]
    (root / "immune.tsv").write_text("\n".join(immune) + "\n")
    (root / "sets.gmt").write_text("MY_SET\tdesc\tIL1B\tCXCL8\tCD68\n")
    secure = root.parent / "secure"
    return {
        "samples": str(root / "samples.tsv"),
        "expression": {"path": str(root / "counts.tsv"), "format": "counts", "min_library_size": 0},
        "immune": {"path": str(root / "immune.tsv")},
        "scoring": {"gene_sets": [str(root / "sets.gmt")]},
        "pseudonymise_ids": True,
        "pseudonymisation": {"key_file": str(secure / "key"), "mapping_file": str(secure / "ids.tsv")},
    }


@dataclass
class Case:
    """One catalogue entry.

    ``break_it(root, config)`` edits the cohort files or the config dict in place; ``config_text``,
    when set, writes the config file's text itself (YAML-level cases). ``fragments`` must all
    appear in the message. ``whole_file``: the problem concerns the whole file, so the message
    names no line, column or key. ``snakemake_reads_first``: Snakemake parses the config file
    itself before tme's code runs and gives its own message (documented; ``tme run`` and
    ``tme validate`` give tme's).
    """

    break_it: Callable[[Path, dict], None] = lambda root, config: None
    fragments: list[str] = field(default_factory=list)
    usable: bool = False
    warns: str | None = None
    config_text: Callable[[dict], str] | None = None
    whole_file: bool = False
    snakemake_reads_first: bool = False


# ----------------------------------------------------------------------------- editing helpers


def edit_line(path: Path, line: int, old: str, new: str) -> None:
    lines = path.read_text().split("\n")
    assert old in lines[line - 1], (path, line, lines[line - 1])
    lines[line - 1] = lines[line - 1].replace(old, new, 1)
    path.write_text("\n".join(lines))


def append(path: Path, text: str) -> None:
    with path.open("a") as handle:
        handle.write(text)


def replace(name: str, old: str, new: str, count: int = -1):
    def apply(root, config):
        path = root / name
        text = path.read_text()
        assert old in text, (name, old)
        path.write_text(text.replace(old, new, count))

    return apply


def setting(*keys_and_value):
    """``setting("expression", "format", "xlsx")`` sets config["expression"]["format"]."""
    *keys, value = keys_and_value

    def apply(root, config):
        target = config
        for key in keys[:-1]:
            target = target.setdefault(key, {})
        target[keys[-1]] = value

    return apply


def both(*edits):
    def apply(root, config):
        for edit in edits:
            edit(root, config)

    return apply


def drop_lines(name: str, predicate):
    def apply(root, config):
        path = root / name
        path.write_text("\n".join(line for line in path.read_text().split("\n") if not predicate(line)))

    return apply


def drop_sheet_lines(predicate):
    return drop_lines("samples.tsv", predicate)


def add_sheet_column(name: str, values: list[str]):
    """Append a column to the sheet (``values`` for the 8 rows)."""

    def apply(root, config):
        lines = (root / "samples.tsv").read_text().strip().split("\n")
        lines = [lines[0] + f"\t{name}"] + [line + f"\t{v}" for line, v in zip(lines[1:], values)]
        (root / "samples.tsv").write_text("\n".join(lines) + "\n")

    return apply


def _nfcore(root, config, fmt="nfcore_salmon_tpm"):
    name = "salmon.merged.gene_tpm.tsv" if fmt.endswith("tpm") else "salmon.merged.gene_counts.tsv"
    text = "gene_id\tgene_name\t" + (root / "counts.tsv").read_text().split("\n", 1)[0].split("\t", 1)[1] + "\n"
    for line in (root / "counts.tsv").read_text().strip().split("\n")[1:]:
        gene, rest = line.split("\t", 1)
        text += f"ENSG_{gene}\t{gene}\t{rest}\n"
    (root / name).write_text(text)
    config["expression"] = {"path": str(root / name), "format": fmt}


def nfcore(fmt="nfcore_salmon_tpm", then=None):
    def apply(root, config):
        _nfcore(root, config, fmt)
        if then:
            then(root, config)

    return apply


def _symlink_loop(root, config):
    (root / "loop_a.tsv").symlink_to(root / "loop_b.tsv")
    (root / "loop_b.tsv").symlink_to(root / "loop_a.tsv")
    config["samples"] = str(root / "loop_a.tsv")


def _truncated_gzip(root, config):
    data = gzip.compress((root / "counts.tsv").read_bytes() * 20)
    (root / "counts.tsv.gz").write_bytes(data[: len(data) // 2])
    config["expression"]["path"] = str(root / "counts.tsv.gz")


def _gmt_gz(truncate: bool):
    def apply(root, config):
        data = gzip.compress(
            ((root / "sets.gmt").read_text() + "OTHER_SET\tdesc\tGZMA\tPRF1\tCD68\n").encode() * 50, mtime=0
        )
        (root / "sets.gmt.gz").write_bytes(data[: len(data) // 2] if truncate else data)
        if not truncate:  # the 50 copies repeat names: keep one of each
            (root / "sets.gmt.gz").write_bytes(
                gzip.compress(b"MY_SET\tdesc\tIL1B\tCXCL8\tCD68\nOTHER\tdesc\tGZMA\tPRF1\n", mtime=0)
            )
        config["scoring"]["gene_sets"] = [str(root / "sets.gmt.gz")]

    return apply


def _bom_crlf(root, config):
    path = root / "samples.tsv"
    path.write_bytes(b"\xef\xbb\xbf" + path.read_text().replace("\n", "\r\n").encode())


def _wide_immune(units, header="sample_id\tCD68"):
    def apply(root, config):
        rows = "".join(f"{p}-{t}\t100\n" for p, _ in PATIENTS for t in ("pre", "post"))
        (root / "wide.tsv").write_text(header + "\n" + rows)
        config["immune"] = {"path": str(root / "wide.tsv"), "format": "wide", "units": units}

    return apply


def _gene_set_table(text):
    def apply(root, config):
        (root / "w.tsv").write_text(text)
        config["scoring"]["gene_sets"] = [str(root / "w.tsv")]

    return apply


def _hostile_path(name):
    def apply(root, config):
        folder = root / name
        folder.mkdir(parents=True)
        (folder / "sets.gmt").write_text((root / "sets.gmt").read_text())
        config["scoring"]["gene_sets"] = [str(folder / "sets.gmt")]

    return apply


def _alias_bomb(config):
    text = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n"
    for i in range(1, 9):
        text += f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]\n"
    return yaml.safe_dump(config) + text


def _library_below(root, config):
    """Every usual-care post sample below the library-size threshold (gene rows scaled down)."""
    lines = (root / "counts.tsv").read_text().strip().split("\n")
    header = lines[0].split("\t")
    low = {header.index("P3-post"), header.index("P4-post")}
    out = [lines[0]]
    for line in lines[1:]:
        cells = line.split("\t")
        out.append("\t".join(c if i not in low else "1" for i, c in enumerate(cells)))
    (root / "counts.tsv").write_text("\n".join(out) + "\n")
    config["expression"]["min_library_size"] = 1000


def _cut_mid_row(root, config):
    text = (root / "counts.tsv").read_text()
    (root / "counts.tsv").write_text(text[: text.index("\n", text.index("GZMA")) - 20])


def _five_megabytes(name, line):
    def apply(root, config):
        lines = (root / name).read_text().split("\n")
        cells = lines[line - 1].split("\t")
        cells[-1] = "x" * 5_000_000
        lines[line - 1] = "\t".join(cells)
        (root / name).write_text("\n".join(lines))

    return apply


def _percent_as_fraction(root, config):
    """sTILs written as fractions (0.05 …) under the unit %."""
    lines = (root / "immune.tsv").read_text().split("\n")
    (root / "immune.tsv").write_text(
        "\n".join(
            "\t".join([*line.split("\t")[:2], f"0.0{i % 9 + 1}", "%"]) if line.endswith("\t%") else line
            for i, line in enumerate(lines)
        )
    )


def _patients_sheet(text):
    """A patients sheet with an ``age`` column, used as a baseline covariate."""

    def apply(root, config):
        (root / "patients.tsv").write_text(text)
        config["analysis_plan"] = {
            "patients": {"path": str(root / "patients.tsv"), "columns": {"age": "number"}},
            "covariates": ["age"],
        }

    return apply


def _unmapped(root, config):
    lines = (root / "counts.tsv").read_text().strip().split("\n")
    out = [lines[0]] + [f"NOT_A_GENE_{i}\t" + line.split("\t", 1)[1] for i, line in enumerate(lines[1:])]
    (root / "counts.tsv").write_text("\n".join(out) + "\n")


PLANNED_ENDPOINTS = [
    {"name": "tam", "feature": "CD68", "role": "primary"},
    {"name": "tils", "feature": "sTILs", "role": "primary"},
    {"name": "il1b", "feature": "gene|IL1B", "role": "key_secondary"},
]
PLANNING_TARGETS = {"tam": {"effect": 0.67, "scale": "ln"}, "tils": {"effect": 10}}


def _planning(targets=None, plan=True, **settings):
    """A plan with two primary endpoints (CD68, sTILs) and a key-secondary one, and a planning section
    (``targets`` replace the valid ones; ``settings`` are further planning keys)."""

    def apply(root, config):
        if plan:
            config["analysis_plan"] = {"endpoints": PLANNED_ENDPOINTS}
        config["planning"] = {"targets": PLANNING_TARGETS if targets is None else targets, **settings}

    return apply


def rcc(then=None, **options):
    """The tiny cohort's expression as a folder of RCC files (one per sample, ``<sample_id>.RCC``, the
    6-gene test panel of tests/nanostring_helpers.py), with ``expression.nanostring`` ``options``; then ``then``."""

    def apply(root, config):
        (root / "rcc").mkdir()
        for s, sample in enumerate(SAMPLES):
            (root / "rcc" / f"{sample}.RCC").write_text(rcc_text(sample, {"IL1B": 400 + 37 * s}))
        config["expression"] = {"path": str(root / "rcc"), "format": "nanostring_rcc", "nanostring": dict(options)}
        if then:
            then(root, config)

    return apply


def _rcc_edit(sample: str, edit):
    def apply(root, config):
        path = root / "rcc" / f"{sample}.RCC"
        path.write_text(edit(path.read_text()))

    return apply


def _rcc_every_file(edit):
    def apply(root, config):
        for sample in SAMPLES:
            _rcc_edit(sample, edit)(root, config)

    return apply


def _cut_code_summary(text):
    return "\n".join(text.split("\n")[:30])


def _drop_code_summary(text):
    start, end = text.index("<Code_Summary>"), text.index("</Code_Summary>") + len("</Code_Summary>")
    return text[:start] + text[end:]


def _other_panel(root, config):
    probes = PANEL_GENES[:2] + [("Endogenous", "CD163", "NM_004244.4")] + PANEL_GENES[3:]
    (root / "rcc" / "P3-pre.RCC").write_text(rcc_text("P3-pre", probes=probes, gene_rlf="OTHER_PANEL"))


def _endpoint_below_coverage(root, config):
    config["analysis_plan"] = {
        "endpoints": [{"name": "gep", "feature": "AYERS_TCELL_INFLAMED_GEP_18|weighted", "role": "primary"}]
    }


# ----------------------------------------------------------------------------- multiplex-IF cell exports

#: Cells of every tiny export: (x µm, y µm, cell type, region). Line 2 is a tumour cell in the tumour.
CELLS = [(10.0, 10.0, "tumour", "Tumor"), (40.0, 12.0, "tumour", "Tumor"), (30.0, 25.0, "CD8", "Tumor"),
         (80.0, 70.0, "CD8", "Stroma"), (90.0, 90.0, "other", "Stroma")]  # fmt: skip
CELL_TOOL = {"P1": "qupath", "P2": "halo", "P3": "qupath", "P4": "inform"}


def _cell_export(tool: str) -> str:
    """One tiny slide as the tool writes it (HALO and inForm in pixels of 0.5 µm)."""
    marker = {"tumour": ("PanCK",), "CD8": ("CD8",), "other": ()}
    if tool == "qupath":
        rows = [f"s.tif\t\t{': '.join(marker[t]) or 'Other'}\t{r}\tPolygon\t{x}\t{y}" for x, y, t, r in CELLS]
        return "Image\tName\tClass\tParent\tROI\tCentroid X µm\tCentroid Y µm\n" + "\n".join(rows) + "\n"
    if tool == "halo":
        head = "XMin\tXMax\tYMin\tYMax\tPanCK Positive Classification\tCD8 Positive Classification\tClassifier Label"
        box = "{:g}\t{:g}\t{:g}\t{:g}\t{:d}\t{:d}\t{}"
        rows = [box.format(2 * x - 4, 2 * x + 4, 2 * y - 4, 2 * y + 4, t == "tumour", t == "CD8", r)
                for x, y, t, r in CELLS]  # fmt: skip
        return head + "\n" + "\n".join(rows) + "\n"
    head = "Cell X Position\tCell Y Position\tPhenotype PanCK\tPhenotype CD8\tTissue Category"
    rows = [f"{2 * x:g}\t{2 * y:g}\tPanCK{'+' if t == 'tumour' else '-'}\tCD8{'+' if t == 'CD8' else '-'}\t{r.lower()}"
            for x, y, t, r in CELLS]  # fmt: skip
    return head + "\n" + "\n".join(rows) + "\n"


def _tiny_cells(root: Path, config: dict) -> None:
    """The tiny cohort with a cells section: one export per biopsy (P1, P3 QuPath; P2 HALO; P4 inForm)
    under cells/, manifest.tsv (lines 2–9 in sheet order) and regions.tsv (Tumor then Stroma per
    biopsy: lines 2–17). Pseudonymisation off: it does not cover cell exports."""
    (root / "cells").mkdir()
    manifest = ["sample_id\tfile\tsoftware\tpixel_size_um"]
    regions = ["sample_id\tregion\tarea_mm2"]
    for sample in SAMPLES:
        tool = CELL_TOOL[sample.split("-")[0]]
        name = f"{sample}_cell_seg_data.txt" if tool == "inform" else f"{sample}.tsv"
        (root / "cells" / name).write_text(_cell_export(tool), encoding="utf-8")
        manifest.append(f"{sample}\tcells/{name}\t{tool}\t{'' if tool == 'qupath' else 0.5}")
        regions += [f"{sample}\tTumor\t0.004", f"{sample}\tStroma\t0.006"]
    (root / "manifest.tsv").write_text("\n".join(manifest) + "\n")
    (root / "regions.tsv").write_text("\n".join(regions) + "\n")
    config["pseudonymise_ids"] = False
    config["cells"] = {
        "manifest": str(root / "manifest.tsv"),
        "regions": str(root / "regions.tsv"),
        "phenotypes": {
            "tumour cell": {"PanCK": "+", "CD8": "-"},
            "CD8+ T": {"CD8": "+", "PanCK": "-"},
            "other": {"labels": ["Other"], "markers": {"PanCK": "-", "CD8": "-"}},
        },  # fmt: skip
        "populations": {},
        "ratios": [],
        "proportions": [],
    }


def cells(*edits):
    """The tiny cohort with cell exports, then ``edits`` (functions of root, config)."""

    def apply(root, config):
        _tiny_cells(root, config)
        for edit in edits:
            edit(root, config)

    return apply


def _cell_line(name: str, line: int, old: str, new: str):
    return lambda root, config: edit_line(root / name, line, old, new)


HOSTILE_LABELS = {
    "RST raw directive": ".. raw:: html\n\n   <script>alert(1)</script>",
    "RST include directive": ".. include:: /etc/hostname",
    "RST link to javascript": "`click <javascript:alert(1)>`_",
    "trailing underscore (RST reference)": "anakinra_",
    "HTML": "<b>anakinra</b>",
    "over 40 characters": "a" * 41,
}

CASES: dict[str, Case] = {
    # --- sample sheet ---
    "sheet: missing required column": Case(
        replace("samples.tsv", "\ttimepoint", "\ttp", 1), ["samples.tsv", "'timepoint'"]
    ),
    "sheet: duplicate sample_id": Case(
        lambda r, c: edit_line(r / "samples.tsv", 3, "P1-post", "P1-pre"), ["samples.tsv", "line 3", "'sample_id'"]
    ),
    "sheet: two pre samples": Case(
        lambda r, c: append(r / "samples.tsv", "P1-pre2\tP1\tanakinra\tpre\t0\t50\n"),
        ["samples.tsv", "line 10", "usable 'pre' samples"],
    ),
    "sheet: patient reused across arms": Case(
        lambda r, c: edit_line(r / "samples.tsv", 3, "anakinra", "usual_care"),
        ["samples.tsv", "'arm'", "more than one arm"],
    ),
    "sheet: unknown arm": Case(
        lambda r, c: edit_line(r / "samples.tsv", 4, "anakinra", "placebo"), ["samples.tsv", "line 4", "'placebo'"]
    ),
    "sheet: unknown timepoint": Case(
        lambda r, c: edit_line(r / "samples.tsv", 4, "\tpre\t", "\tbaseline\t"), ["samples.tsv", "line 4", "'baseline'"]
    ),
    "sheet: mixed-case arm label": Case(
        lambda r, c: edit_line(r / "samples.tsv", 2, "anakinra", "Anakinra"),
        ["samples.tsv", "line 2", "exactly as the config names it"],
    ),
    "sheet: date in numeric column": Case(
        lambda r, c: edit_line(r / "samples.tsv", 3, "\t15\t", "\t2025-03-04\t"),
        ["samples.tsv", "line 3", "'days_from_baseline'"],
    ),
    "sheet: unknown column": Case(
        replace("samples.tsv", "tumour_cellularity", "cellularity", 1), ["samples.tsv", "'cellularity'"]
    ),
    "sheet: comma-separated as .tsv": Case(
        replace("samples.tsv", "\t", ","), ["samples.tsv", "line 1", "comma-separated"]
    ),
    "sheet: empty file": Case(
        lambda r, c: (r / "samples.tsv").write_text(""), ["samples.tsv", "empty"], whole_file=True
    ),
    "sheet: header only": Case(
        lambda r, c: (r / "samples.tsv").write_text((r / "samples.tsv").read_text().split("\n")[0] + "\n"),
        ["samples.tsv", "no rows"],
        whole_file=True,
    ),
    "sheet: ragged row": Case(
        lambda r, c: edit_line(r / "samples.tsv", 5, "\t50", ""), ["samples.tsv", "line 5", "cells"]
    ),
    "sheet: illegal characters in sample_id": Case(
        lambda r, c: edit_line(r / "samples.tsv", 2, "P1-pre", "P1 pre<script>"),
        ["samples.tsv", "line 2", "'sample_id'"],
    ),
    "sheet: illegal characters in patient_id": Case(
        lambda r, c: edit_line(r / "samples.tsv", 2, "\tP1\t", '\tP1"onload=x\t'),
        ["samples.tsv", "line 2", "'patient_id'"],
    ),
    "sheet: cellularity out of range": Case(
        lambda r, c: edit_line(r / "samples.tsv", 2, "\t50", "\t150"), ["samples.tsv", "line 2", "'tumour_cellularity'"]
    ),
    "sheet: negative days": Case(
        lambda r, c: edit_line(r / "samples.tsv", 3, "\t15\t", "\t-15\t"),
        ["samples.tsv", "line 3", "'days_from_baseline'"],
    ),
    "sheet: nan in a numeric column": Case(
        lambda r, c: edit_line(r / "samples.tsv", 4, "\t50", "\tnan"),
        ["samples.tsv", "line 4", "'tumour_cellularity'", "not a number"],
    ),
    "sheet: infinite days": Case(
        lambda r, c: edit_line(r / "samples.tsv", 5, "\t15\t", "\tinf\t"),
        ["samples.tsv", "line 5", "'days_from_baseline'"],
    ),
    "sheet: subtype outside its list": Case(
        add_sheet_column("subtype", ["TNBC"] * 7 + ["HER2+"]), ["samples.tsv", "line 9", "'subtype'", "ER-low"]
    ),
    "sheet: sample_type outside its list": Case(
        add_sheet_column("sample_type", ["core"] * 7 + ["biopsy"]),
        ["samples.tsv", "line 9", "'sample_type'", "resection"],
    ),
    "sheet: post on the day of pre": Case(
        lambda r, c: edit_line(r / "samples.tsv", 5, "\t15\t", "\t0\t"),
        ["samples.tsv", "line 5", "'days_from_baseline'", "not after"],
    ),
    "sheet: resection labelled pre (warning)": Case(
        add_sheet_column("sample_type", ["resection", "resection"] + ["core", "resection"] * 3),
        usable=True,
        warns="resection",
    ),
    "sheet: 5 MB cell": Case(_five_megabytes("samples.tsv", 4), ["samples.tsv", "line 4", "cannot be split"]),
    "sheet: empty column name": Case(
        replace("samples.tsv", "tumour_cellularity\n", "tumour_cellularity\t\n", 1), ["samples.tsv", "line 1"]
    ),
    "sheet: duplicated column": Case(
        replace("samples.tsv", "tumour_cellularity", "timepoint", 1), ["samples.tsv", "line 1", "'timepoint'"]
    ),
    "sheet: not UTF-8": Case(
        lambda r, c: (r / "samples.tsv").write_bytes(
            (r / "samples.tsv").read_bytes().replace(b"P2-pre", b"P2-pr\xe9", 1)
        ),
        ["samples.tsv", "line 4", "UTF-8"],
    ),
    "sheet: arm with no usable post": Case(
        drop_sheet_lines(lambda line: "usual_care\tpost" in line),
        ["samples.tsv", "'usual_care' has no usable 'post'"],
        whole_file=True,
    ),
    "sheet: every post of an arm excluded": Case(
        both(add_sheet_column("exclude_reason", ["", "", "", "", "", "tumour absent", "", "tumour absent"])),
        ["samples.tsv", "'usual_care' has no usable 'post'", "2 × tumour absent"],
        whole_file=True,
    ),
    "sheet: symlink loop": Case(_symlink_loop, ["loop_a.tsv", "'samples'", "symbolic link loop"]),
    "sheet: covariate is not a column": Case(
        setting("analysis_plan", "covariates", ["batch"]),
        ["samples.tsv", "line 1", "'batch'", "analysis_plan.covariates"],
    ),
    "sheet: covariate empty at a pre sample": Case(
        both(
            add_sheet_column("batch", ["b1", "b2", "b2", "b2", "", "b1", "b2", "b2"]),
            setting("analysis_plan", "covariates", ["batch"]),
        ),
        ["samples.tsv", "line 6", "'batch'", "no baseline value"],
    ),
    "sheet: covariate confounded with arm": Case(
        both(add_sheet_column("batch", ["b1"] * 4 + ["b2"] * 4), setting("analysis_plan", "covariates", ["batch"])),
        ["'batch' is confounded with arm", "covariates"],
    ),
    "plan: post-randomisation covariate": Case(
        both(
            add_sheet_column("sample_type", ["core", "resection"] * 4),
            setting("analysis_plan", "covariates", ["sample_type"]),
        ),
        ["samples.tsv", "'sample_type'", "post-randomisation", "post_covariates"],
    ),
    "plan: stratum with one patient": Case(
        both(
            add_sheet_column("subtype", ["TNBC"] * 6 + ["ER-low"] * 2), setting("analysis_plan", "strata", ["subtype"])
        ),
        ["'subtype'", "one patient", "'ER-low'"],
    ),
    "plan: endpoint names a feature the run does not produce": Case(
        setting("analysis_plan", "endpoints", [{"name": "tam", "feature": "CD86", "role": "primary"}]),
        ["analysis_plan.endpoints", "'CD86'", "nearest", "'CD68'"],
    ),
    "plan: two endpoints with one name": Case(
        setting(
            "analysis_plan",
            "endpoints",
            [
                {"name": "tam", "feature": "CD68", "role": "primary"},
                {"name": "tam", "feature": "sTILs", "role": "primary"},
            ],
        ),
        ["analysis_plan.endpoints", "name 'tam'"],
    ),
    "plan: no primary endpoint": Case(
        setting("analysis_plan", "endpoints", [{"name": "tam", "feature": "CD68", "role": "exploratory"}]),
        ["analysis_plan.endpoints", "role 'primary'"],
    ),
    "plan: hierarchy names an unknown endpoint": Case(
        both(
            setting("analysis_plan", "endpoints", [{"name": "tam", "feature": "CD68", "role": "primary"}]),
            setting("analysis_plan", "hierarchy", ["tils"]),
        ),
        ["analysis_plan.hierarchy", "'tils'", "tam"],
    ),
    "plan: unknown multiplicity procedure": Case(
        setting("analysis_plan", "multiplicity", {"primary": "sidak"}), ["analysis_plan.multiplicity.primary", "holm"]
    ),
    "plan: stratum also a covariate": Case(
        both(
            add_sheet_column("subtype", ["TNBC", "TNBC", "ER-low", "ER-low"] * 2),
            setting("analysis_plan", "strata", ["subtype"]),
            setting("analysis_plan", "covariates", ["subtype"]),
        ),
        ["analysis_plan.covariates", "'subtype'", "stratification factor"],
    ),
    "plan: per-protocol column not declared": Case(
        setting("analysis_plan", "per_protocol", {"column": "doses", "min": 12}),
        ["analysis_plan.per_protocol.column", "'doses'"],
    ),
    "plan: patients sheet misses a patient": Case(
        _patients_sheet("patient_id\tage\nP1\t51\nP2\t60\nP3\t47\n"), ["patients.tsv", "no row", "'P4'"]
    ),
    "plan: patients sheet has an unknown patient": Case(
        _patients_sheet("patient_id\tage\nP1\t51\nP2\t60\nP3\t47\nP4\t55\nP9\t70\n"),
        ["patients.tsv", "line 6", "'P9'", "not in the sample sheet"],
    ),
    "plan: patients sheet repeats a patient": Case(
        _patients_sheet("patient_id\tage\nP1\t51\nP2\t60\nP3\t47\nP4\t55\nP2\t61\n"),
        ["patients.tsv", "line 6", "'P2'", "more than one row"],
    ),
    "plan: patients sheet text in a number column": Case(
        _patients_sheet("patient_id\tage\nP1\t51\nP2\tfifty\nP3\t47\nP4\t55\n"),
        ["patients.tsv", "line 3", "'age'", "not a number"],
    ),
    "plan: patient-level covariate (usable)": Case(
        _patients_sheet("patient_id\tage\nP1\t51\nP2\t60\nP3\t47\nP4\t55\n"), usable=True
    ),
    "sheet: BOM and CRLF (usable)": Case(_bom_crlf, usable=True),
    "sheet: quoted headers (usable)": Case(
        replace("samples.tsv", "sample_id\tpatient_id", '"sample_id"\t"patient_id"', 1), usable=True
    ),
    "sheet: comments and blank lines (usable)": Case(
        lambda r, c: (r / "samples.tsv").write_text("# OZM-034 sheet\n" + (r / "samples.tsv").read_text() + "\n\n"),
        usable=True,
    ),
    # --- config values ---
    "config: unknown key": Case(setting("alpha", 0.1), ["config", "unknown key 'alpha'"]),
    "config: missing path": Case(
        setting("immune", "path", "/nonexistent/immune.tsv"), ["'immune.path'", "does not exist"]
    ),
    "config: bad enum": Case(setting("expression", "format", "xlsx"), ["expression.format", "nfcore_salmon_counts"]),
    "config: wrong type": Case(setting("seed", "abc"), ["'seed'", "integer"]),
    "config: covariate not allowed": Case(
        setting("analysis_plan", "covariates", ["age"]), ["analysis_plan.covariates", "'age'", "patients-sheet"]
    ),
    "config: same arm twice": Case(setting("design", "reference_arm", "anakinra"), ["same arm"]),
    "config: same timepoint twice": Case(setting("design", "post", "pre"), ["same timepoint"]),
    "config: no data section": Case(
        lambda r, c: (c.pop("expression"), c.pop("immune")), ["config", "none of the config keys"]
    ),
    "config: confidence level above 1": Case(
        setting("statistics", "confidence_level", 1.5), ["statistics.confidence_level"]
    ),
    "config: negative bootstrap count": Case(
        setting("statistics", "n_bootstrap", -1), ["statistics.n_bootstrap", "minimum"]
    ),
    "config: endpoint names an unknown signature": Case(
        setting("analysis_plan", "endpoints", [{"name": "x", "feature": "NOT_A_SIGNATURE|ssgsea", "role": "primary"}]),
        ["analysis_plan.endpoints", "'NOT_A_SIGNATURE|ssgsea'"],
    ),
    "config: unknown collection": Case(
        setting("scoring", "collections", ["hallmarks"]), ["scoring.collections", "'hallmarks'", "hallmark_all"]
    ),
    "config: unknown scoring method": Case(setting("scoring", "methods", ["ssgsea", "gsea"]), ["scoring.methods"]),
    "config: transform for an unknown measure": Case(
        setting("immune", "transforms", {"CD8": "log1p"}), ["immune.transforms", "'CD8'", "CD68"]
    ),
    "config: missing gene-set file": Case(
        lambda r, c: c["scoring"].update(gene_sets=[str(r / "none.gmt")]), ["scoring.gene_sets[0]", "does not exist"]
    ),
    "config: gene-set path is a directory": Case(
        lambda r, c: c["scoring"].update(gene_sets=[str(r)]), ["scoring.gene_sets[0]", "directory"]
    ),
    "config: sample-sheet path is a directory": Case(lambda r, c: c.update(samples=str(r)), ["'samples'", "directory"]),
    "config: 5 MB string value": Case(setting("seed", "9" * 5_000_000), ["'seed'", "more characters"]),
    "config: ID map inside results": Case(
        setting("pseudonymisation", "mapping_file", "results/ids.tsv"), ["pseudonymisation.mapping_file", "results/"]
    ),
    "config: key file not a key": Case(
        lambda r, c: (
            Path(c["pseudonymisation"]["key_file"]).parent.mkdir(),
            Path(c["pseudonymisation"]["key_file"]).write_text("secret\n"),
        ),
        ["key", "hex key"],
        whole_file=True,
    ),
    # --- config text (YAML level) ---
    "yaml: duplicated top-level key": Case(
        config_text=lambda c: (
            yaml.safe_dump(c) + f"expression:\n  path: {c['expression']['path']}\n  format: normalised\n"
        ),
        fragments=["config.yaml", "'expression' is given twice"],
    ),
    "yaml: duplicated nested key": Case(
        config_text=lambda c: yaml.safe_dump(c) + "design:\n  pre: pre\n  post: post\n  pre: baseline\n",
        fragments=["config.yaml", "'pre' is given twice"],
    ),
    "yaml: python object tag": Case(
        config_text=lambda c: yaml.safe_dump(c) + "seed: !!python/object/apply:os.system ['touch canary']\n",
        fragments=["config.yaml", "tag"],
        snakemake_reads_first=True,
    ),
    "yaml: YTE templating": Case(
        config_text=lambda c: "__use_yte__: true\n" + yaml.safe_dump(c),
        fragments=["config.yaml", "'__use_yte__'", "runs code"],
    ),
    "yaml: alias bomb": Case(
        config_text=_alias_bomb, fragments=["config.yaml", "100,000 values", "aliases"], whole_file=True
    ),
    "yaml: empty file": Case(
        config_text=lambda c: "", fragments=["config.yaml", "empty"], whole_file=True, snakemake_reads_first=True
    ),
    "yaml: a list at the top": Case(
        config_text=lambda c: "- samples: x\n", fragments=["config.yaml", "not a mapping"], snakemake_reads_first=True
    ),
    "yaml: tab indentation": Case(
        config_text=lambda c: yaml.safe_dump(c) + "design:\n\tpre: pre\n",
        fragments=["config.yaml", "not valid YAML", "line"],
        snakemake_reads_first=True,
    ),
    "yaml: not UTF-8": Case(
        config_text=lambda c: yaml.safe_dump(c) + "# \udce9\n",
        fragments=["config.yaml", "UTF-8"],
        whole_file=True,
        snakemake_reads_first=True,
    ),
    # --- labels and paths that reach the HTML report (injection routes) ---
    **{
        f"label: arm label with {what}": Case(
            setting("design", "treatment_arm", label), ["design.treatment_arm", "not allowed", "HTML report"]
        )
        for what, label in HOSTILE_LABELS.items()
    },
    "label: timepoint label with an RST directive": Case(
        setting("design", "post", ".. raw:: html"), ["design.post", "not allowed"]
    ),
    "label: hostile arm label in a blinded run": Case(
        both(setting("blinded", True), setting("design", "reference_arm", "`x <javascript:alert(1)>`_")),
        ["design.reference_arm", "not allowed"],
    ),
    "path: gene-set path with </script>": Case(
        _hostile_path("x</script><script>alert(1)</script>"), ["scoring.gene_sets[0]", "'<'"]
    ),
    "path: sample-sheet path with a wildcard brace": Case(
        lambda r, c: (
            Path(str(r / "samples{x}.tsv")).write_text((r / "samples.tsv").read_text()),
            c.update(samples=str(r / "samples{x}.tsv")),
        ),
        ["'samples'", "'{'"],
    ),
    "path: immune path with a quote": Case(
        lambda r, c: (
            Path(str(r / "imm'une.tsv")).write_text((r / "immune.tsv").read_text()),
            c["immune"].update(path=str(r / "imm'une.tsv")),
        ),
        ["'immune.path'", '"\'"'],
    ),
    "path: ID-map path with a newline": Case(
        setting("pseudonymisation", "mapping_file", "/tmp/ids\n.tsv"), ["pseudonymisation.mapping_file", "'\\n'"]
    ),
    "path: odd but harmless characters (usable)": Case(
        _hostile_path("dir with spaces (v2) $HOME #1 %20 é"), usable=True
    ),
    # --- planning the next trial (config key planning) ---
    "planning: target effect of zero": Case(
        _planning({"tam": {"effect": 0}, "tils": {"effect": 10}}), ["planning.targets.tam", "difference of 0"]
    ),
    "planning: target fold change of 1": Case(
        _planning({"tam": {"effect": 1, "scale": "ln"}, "tils": {"effect": 10}}),
        ["planning.targets.tam", "fold change of 1"],
    ),
    "planning: negative fold change": Case(
        _planning({"tam": {"effect": -0.5, "scale": "ln"}, "tils": {"effect": 10}}),
        ["planning.targets.tam", "not a positive fold change"],
    ),
    "planning: unknown target scale": Case(
        _planning({"tam": {"effect": 0.67, "scale": "log10"}, "tils": {"effect": 10}}),
        ["planning.targets.tam.scale", "difference, log2, ln"],
    ),
    "planning: power not above alpha": Case(_planning(power=0.04), ["planning.power", "alpha (0.05)", "0.8"]),
    "planning: alpha of 1": Case(_planning(alpha=1), ["planning.alpha", "it must be < 1"]),
    "planning: target names an endpoint not in the plan": Case(
        _planning({**PLANNING_TARGETS, "tams": {"effect": 0.5, "scale": "ln"}}),
        ["planning.targets", "'tams'", "did you mean 'tam'"],
    ),
    "planning: target for a key-secondary endpoint": Case(
        _planning({**PLANNING_TARGETS, "il1b": {"effect": 0.5, "scale": "log2"}}),
        ["planning.targets", "'il1b'", "key_secondary", "tam, tils"],
    ),
    "planning: a primary endpoint without a target": Case(
        _planning({"tam": {"effect": 0.67, "scale": "ln"}}), ["planning.targets", "no target effect", "tils"]
    ),
    "planning: no primary endpoint in the plan": Case(_planning(plan=False), ["'planning'", "no primary endpoint"]),
    "planning: single-arm study": Case(
        both(_planning(), setting("design", "reference_arm", None)), ["'planning'", "two arms"]
    ),
    "planning: prior correlation of 1": Case(
        _planning(priors={"tam": {"rho": 1}}), ["planning.priors.tam.rho", "it must be < 1"]
    ),
    "planning: prior for an endpoint not in the plan": Case(
        _planning(priors={"tim": {"rho": 0.5}}), ["planning.priors", "'tim'", "did you mean"]
    ),
    "planning: too few pairs to estimate the correlation": Case(
        _planning(), ["'planning'", "'tam'", "2 (reference arm) and 2 (treatment arm)", "planning.priors", "rho"]
    ),
    "planning: prior correlations for too few pairs (usable)": Case(
        _planning(priors={"tam": {"rho": 0.5}, "tils": {"rho": 0.3}}), usable=True
    ),
    # --- expression: plain counts ---
    "counts: sample missing from matrix": Case(
        lambda r, c: (r / "counts.tsv").write_text(
            "\n".join("\t".join(row.split("\t")[:-1]) for row in (r / "counts.tsv").read_text().strip().split("\n"))
            + "\n"
        ),
        ["samples.tsv", "P4-post", "no column"],
    ),
    "counts: column not in sheet": Case(
        lambda r, c: (r / "counts.tsv").write_text(
            "\n".join(
                row + ("\tEXTRA" if i == 0 else "\t5")
                for i, row in enumerate((r / "counts.tsv").read_text().strip().split("\n"))
            )
            + "\n"
        ),
        ["counts.tsv", "'EXTRA'", "extra_samples: ignore"],
    ),
    "counts: non-numeric": Case(
        lambda r, c: edit_line(r / "counts.tsv", 3, "\t200\t", "\tlow\t"), ["counts.tsv", "line 3", "'P1-pre'"]
    ),
    "counts: negative": Case(
        lambda r, c: edit_line(r / "counts.tsv", 3, "\t200\t", "\t-200\t"), ["counts.tsv", "line 3", "negative count"]
    ),
    "counts: non-integer (TPM declared as counts)": Case(
        lambda r, c: edit_line(r / "counts.tsv", 3, "\t200\t", "\t200.5\t"), ["counts.tsv", "line 3", "non-integer"]
    ),
    "counts: NA": Case(
        lambda r, c: edit_line(r / "counts.tsv", 4, "\t300\t", "\tNA\t"),
        ["counts.tsv", "line 4", "missing or infinite"],
    ),
    "counts: inf": Case(
        lambda r, c: edit_line(r / "counts.tsv", 4, "\t300\t", "\tinf\t"),
        ["counts.tsv", "line 4", "missing or infinite"],
    ),
    "counts: empty file": Case(
        lambda r, c: (r / "counts.tsv").write_text(""), ["counts.tsv", "empty"], whole_file=True
    ),
    "counts: header only": Case(
        lambda r, c: (r / "counts.tsv").write_text((r / "counts.tsv").read_text().split("\n")[0] + "\n"),
        ["counts.tsv", "line 2", "no gene rows"],
    ),
    "counts: no sample columns": Case(
        lambda r, c: (r / "counts.tsv").write_text(
            "\n".join(row.split("\t")[0] for row in (r / "counts.tsv").read_text().strip().split("\n")) + "\n"
        ),
        ["counts.tsv", "line 1", "no sample columns"],
    ),
    "counts: file cut mid-row": Case(_cut_mid_row, ["counts.tsv", "line 6", "missing or infinite"]),
    "counts: no identifier maps to a gene": Case(
        _unmapped, ["counts.tsv", "none of the matrix's 8 gene identifiers", "Ensembl"]
    ),
    "counts: every post of an arm below the library size": Case(
        _library_below,
        ["counts.tsv", "'usual_care' has no usable 'post'", "library size", "min_library_size"],
        whole_file=True,
    ),
    "counts: duplicated gene id": Case(
        lambda r, c: edit_line(r / "counts.tsv", 3, "CXCL8", "IL1B"), ["counts.tsv", "line 3", "'IL1B'"]
    ),
    "counts: Excel-mangled names": Case(
        lambda r, c: edit_line(r / "counts.tsv", 8, "MKI67", "1-Mar"), ["counts.tsv", "line 8", "Excel"]
    ),
    "counts: truncated gzip": Case(_truncated_gzip, ["counts.tsv.gz", "truncated"], whole_file=True),
    "counts: duplicate sample column": Case(
        lambda r, c: edit_line(r / "counts.tsv", 1, "P1-post", "P1-pre"), ["counts.tsv", "line 1", "'P1-pre'"]
    ),
    "counts: wrong delimiter": Case(replace("counts.tsv", "\t", ";"), ["counts.tsv", "semicolon"]),
    "counts: 5 MB header cell": Case(_five_megabytes("counts.tsv", 1), ["counts.tsv", "line 1", "cannot be split"]),
    "counts: gene names with trailing spaces (usable)": Case(
        lambda r, c: edit_line(r / "counts.tsv", 2, "IL1B", "IL1B  "), usable=True
    ),
    "counts: blank lines at the end (usable)": Case(lambda r, c: append(r / "counts.tsv", "\n\n"), usable=True),
    # --- expression: nf-core and normalised ---
    "nfcore: missing gene_name": Case(
        nfcore(then=replace("salmon.merged.gene_tpm.tsv", "gene_name", "name", 1)),
        ["salmon.merged.gene_tpm.tsv", "gene_name"],
    ),
    "nfcore: missing gene_id": Case(
        nfcore("nfcore_salmon_counts", replace("salmon.merged.gene_counts.tsv", "gene_id", "id", 1)),
        ["salmon.merged.gene_counts.tsv", "gene_id"],
    ),
    "nfcore: negative TPM": Case(
        nfcore(then=lambda r, c: edit_line(r / "salmon.merged.gene_tpm.tsv", 2, "\t107\t", "\t-1\t")),
        ["salmon.merged.gene_tpm.tsv", "negative TPM"],
    ),
    "nfcore: negative estimated count": Case(
        nfcore(
            "nfcore_salmon_counts",
            lambda r, c: edit_line(r / "salmon.merged.gene_counts.tsv", 2, "\t107\t", "\t-3.5\t"),
        ),
        ["salmon.merged.gene_counts.tsv", "line 2", "negative count"],
    ),
    "normalised: negative on a linear scale": Case(
        both(
            setting("expression", "format", "normalised"),
            setting("expression", "scale", "linear"),
            lambda r, c: edit_line(r / "counts.tsv", 2, "\t107\t", "\t-1\t"),
        ),
        ["counts.tsv", "linear"],
    ),
    "normalised: text cell": Case(
        both(
            setting("expression", "format", "normalised"),
            lambda r, c: edit_line(r / "counts.tsv", 2, "\t107\t", "\tn/a\t"),
        ),
        ["counts.tsv", "line 2", "missing or infinite"],
    ),
    "normalised: counts declared as log2": Case(
        setting("expression", "format", "normalised"), ["counts.tsv", "log2 scale", "expression.scale: linear"]
    ),
    "normalised: counts declared as log10": Case(
        both(setting("expression", "format", "normalised"), setting("expression", "scale", "log10")),
        ["counts.tsv", "log10 scale"],
    ),
    # --- expression: NanoString RCC files ---
    "rcc: folder of RCC files (usable)": Case(rcc(), usable=True),
    "rcc: CRLF and gzip files (usable)": Case(
        rcc(
            lambda r, c: (
                (r / "rcc" / "P1-pre.RCC").write_bytes((r / "rcc" / "P1-pre.RCC").read_bytes().replace(b"\n", b"\r\n")),
                (r / "rcc" / "P2-pre.RCC.gz").write_bytes(gzip.compress((r / "rcc" / "P2-pre.RCC").read_bytes())),
                (r / "rcc" / "P2-pre.RCC").unlink(),
            )
        ),
        usable=True,
    ),
    "rcc: file cut mid-section": Case(
        rcc(_rcc_edit("P1-post", _cut_code_summary)),
        ["P1-post.RCC", "line 30", "ends inside <Code_Summary>", "copy the RCC file"],
    ),
    "rcc: missing <Code_Summary>": Case(
        rcc(_rcc_edit("P2-pre", _drop_code_summary)), ["P2-pre.RCC", "line", "section <Code_Summary> is missing"]
    ),
    "rcc: two files for one sample": Case(
        rcc(_rcc_edit("P2-post", lambda t: t.replace("ID,P2-post", "ID,P2-pre")), match_by="sample_attribute_id"),
        ["P2-pre.RCC", "line 7", "two files for sample 'P2-pre'", "P2-post.RCC", "match by file_name"],
    ),
    "rcc: file not in the sheet (extra_samples error)": Case(
        rcc(lambda r, c: (r / "rcc" / "P9-pre.RCC").write_text(rcc_text("P9-pre"))),
        ["P9-pre.RCC", "sample 'P9-pre'", "not in the sample sheet", "extra_samples: ignore"],
        whole_file=True,  # matched by file name: the name is the field, there is no line
    ),
    "rcc: sample in the sheet without a file": Case(
        rcc(lambda r, c: (r / "rcc" / "P4-post.RCC").unlink()),
        ["samples.tsv", "line 9", "no RCC file", "P4-post", "exclude_reason"],
    ),
    "rcc: panel without housekeepers": Case(
        rcc(_rcc_every_file(lambda t: t.replace("Housekeeping,", "Endogenous,"))),
        ["P1-pre.RCC", "line 26", "no Housekeeping probes", "expression.nanostring.housekeepers"],
    ),
    "rcc: panel without positive controls": Case(
        rcc(_rcc_every_file(lambda t: "\n".join(x for x in t.split("\n") if not x.startswith("Positive,")))),
        ["P1-pre.RCC", "line 26", "no Positive probes"],
    ),
    "rcc: mixed panels in one folder": Case(
        rcc(_other_panel),
        ["P3-pre.RCC", "line 30", "probe 'CD163' (Endogenous) is not on the panel", "one CodeSet per run"],
    ),
    "rcc: a matrix format pointed at the folder": Case(
        rcc(setting("expression", "format", "normalised")), ["'expression.path'", "directory", "nanostring_rcc"]
    ),
    "plan: endpoint below the coverage rule": Case(
        _endpoint_below_coverage,
        ["analysis_plan.endpoints", "'gep'", "covers 0/18; housekeepers 0/11", "cannot silently vanish"],
    ),
    # --- immune ---
    "immune: H-score above 300": Case(
        lambda r, c: edit_line(r / "immune.tsv", 2, "CD68\t100\tcells/mm2", "IL1B\t310\thscore"),
        ["immune.tsv", "line 2", "column 'value'", "310 is above the maximum of an H-score"],
    ),
    "immune: intensity 2++": Case(
        lambda r, c: edit_line(r / "immune.tsv", 2, "CD68\t100\tcells/mm2", "NLRP3\t2++\tintensity"),
        ["immune.tsv", "line 2", "column 'value'", "'2++' is not an IHC intensity grade", "0, 1+, 2+ or 3+"],
    ),
    "immune: IHC scores (usable)": Case(
        lambda r, c: append(
            r / "immune.tsv",
            "".join(
                f"{s}\tIL1B\t{60 + 9 * i}\thscore\n{s}\tNLRP3\t{i % 4}+\tintensity\n" for i, s in enumerate(SAMPLES)
            ).replace("0+", "0"),
        ),
        usable=True,
    ),
    "immune: two units": Case(
        lambda r, c: edit_line(r / "immune.tsv", 3, "5\t%", "0.05\tfraction"),
        ["immune.tsv", "more than one unit", "'unit'"],
    ),
    "immune: percent above 100": Case(
        lambda r, c: edit_line(r / "immune.tsv", 3, "5\t%", "105\t%"), ["immune.tsv", "line 3", "above the maximum"]
    ),
    "immune: fraction above 1": Case(
        lambda r, c: replace("immune.tsv", "\t%", "\tfraction")(r, c), ["immune.tsv", "line 3", "fraction"]
    ),
    "immune: negative density": Case(
        lambda r, c: edit_line(r / "immune.tsv", 2, "\t100\t", "\t-100\t"), ["immune.tsv", "line 2", "'value'"]
    ),
    "immune: sample not in sheet": Case(
        lambda r, c: append(r / "immune.tsv", "\nP9-pre\tCD68\t5\tcells/mm2\n"), ["immune.tsv", "'P9-pre'"]
    ),
    "immune: non-numeric value": Case(
        lambda r, c: edit_line(r / "immune.tsv", 2, "\t100\t", "\t>100\t"), ["immune.tsv", "line 2", "'value'"]
    ),
    "immune: NA value": Case(
        lambda r, c: edit_line(r / "immune.tsv", 2, "\t100\t", "\tNA\t"), ["immune.tsv", "line 2", "leave out the row"]
    ),
    "immune: unknown unit": Case(
        lambda r, c: edit_line(r / "immune.tsv", 2, "cells/mm2", "cells/field"), ["immune.tsv", "line 2", "'unit'"]
    ),
    "immune: missing unit column": Case(
        replace("immune.tsv", "\tunit", "\tunits", 1), ["immune.tsv", "line 1", "'unit'"]
    ),
    "immune: measure name with markup": Case(
        lambda r, c: edit_line(r / "immune.tsv", 2, "\tCD68\t", "\t<b>CD68</b>\t"),
        ["immune.tsv", "line 2", "'measure'"],
    ),
    "immune: duplicate measure": Case(
        lambda r, c: append(r / "immune.tsv", "\nP1-pre\tCD68\t5\tcells/mm2\n"), ["immune.tsv", "more than once"]
    ),
    "immune: logit on a density": Case(
        setting("immune", "transforms", {"CD68": "logit"}), ["immune.tsv", "'CD68'", "logit", "log1p"]
    ),
    "immune: wide without unit": Case(_wide_immune({}), ["wide.tsv", "'CD68'", "immune.units"]),
    "immune: wide without sample_id": Case(
        _wide_immune({"CD68": "cells/mm2"}, header="sample\tCD68"), ["wide.tsv", "line 1", "'sample_id'"]
    ),
    "immune: wide with an unknown unit": Case(_wide_immune({"CD68": "cells per mm2"}), ["wide.tsv", "'unit'"]),
    "immune: fractions declared as percent (warning)": Case(_percent_as_fraction, usable=True, warns="lies in [0, 1]"),
    # --- multiplex-IF cell exports ---
    "cells: coordinate missing": Case(
        cells(_cell_line("cells/P1-pre.tsv", 3, "\t40.0\t", "\t\t")),
        ["P1-pre.tsv", "line 3", "'Centroid X µm'", "missing"],
    ),
    "cells: coordinate not a number": Case(
        cells(_cell_line("cells/P3-post.tsv", 2, "\t10.0\t", "\t10,5\t")),
        ["P3-post.tsv", "line 2", "'Centroid X µm'", "not a number"],
    ),
    "cells: pixel coordinates without a pixel size": Case(
        cells(_cell_line("manifest.tsv", 4, "\thalo\t0.5", "\thalo\t")),
        ["P2-pre.tsv", "line 1", "'XMin'", "pixel size"],
    ),
    "cells: phenotype not in the map": Case(
        cells(_cell_line("cells/P2-post.tsv", 6, "\t0\t0\t", "\t1\t1\t")),
        ["P2-post.tsv", "line 6", "'PanCK Positive Classification'", "PanCK+ CD8+", "not in the phenotype map"],
    ),
    "cells: cell outside every region": Case(
        cells(_cell_line("cells/P3-pre.tsv", 4, "\tTumor\t", "\tRoot object (Image)\t")),
        ["P3-pre.tsv", "line 4", "'Parent'", "outside every annotated region"],
    ),
    "cells: region label not mapped": Case(
        cells(_cell_line("cells/P4-pre_cell_seg_data.txt", 5, "\tstroma", "\tmargin")),
        ["P4-pre_cell_seg_data.txt", "line 5", "'Tissue Category'", "cells.compartments"],
    ),
    "cells: region with zero area": Case(
        cells(_cell_line("regions.tsv", 3, "\t0.006", "\t0")), ["regions.tsv", "line 3", "'area_mm2'", "area 0"]
    ),
    "cells: compartment without an area": Case(
        cells(drop_lines("regions.tsv", lambda line: line.startswith("P2-post\tStroma"))),
        ["regions.tsv", "'P2-post'", "'stroma'", "no area"],
    ),
    "cells: two exports for one biopsy": Case(
        cells(lambda r, c: append(r / "manifest.tsv", "P1-pre\tcells/P1-post.tsv\tqupath\t\n")),
        ["manifest.tsv", "line 10", "'sample_id'", "two exports"],
    ),
    "cells: export for a biopsy not in the sheet": Case(
        cells(lambda r, c: append(r / "manifest.tsv", "P9-pre\tcells/P1-post.tsv\tqupath\t\n")),
        ["manifest.tsv", "line 10", "'P9-pre'", "not in the sample sheet"],
    ),
    "cells: export that does not exist": Case(
        cells(_cell_line("manifest.tsv", 3, "cells/P1-post.tsv", "cells/P1-post.csv")),
        ["manifest.tsv", "line 3", "'file'", "does not exist"],
    ),
    "cells: unknown software": Case(
        cells(_cell_line("manifest.tsv", 6, "\tqupath\t", "\tvectra\t")),
        ["manifest.tsv", "line 6", "'software'", "vectra"],
    ),
    "cells: HALO marker call not 0 or 1": Case(
        cells(_cell_line("cells/P2-post.tsv", 2, "\t1\t0\t", "\tyes\t0\t")),
        ["P2-post.tsv", "line 2", "'PanCK Positive Classification'"],
    ),
    "cells: two exports in the directory for one biopsy": Case(
        cells(
            lambda r, c: (r / "cells" / "P4-pre.tsv").write_text(_cell_export("qupath"), encoding="utf-8"),
            lambda r, c: c["cells"].update({"directory": str(r / "cells"), "pixel_size_um": 0.5}),
            lambda r, c: c["cells"].pop("manifest"),
        ),
        ["cells", "'P4-pre' has two exports"],
        whole_file=True,
    ),
    "cells: pseudonymised IDs": Case(
        cells(setting("pseudonymise_ids", True)), ["config", "pseudonymise_ids", "cell exports"]
    ),
    "cells: neither manifest nor directory": Case(
        cells(lambda r, c: c["cells"].pop("manifest")), ["config", "'cells'", "neither of cells.manifest"]
    ),
    "cells: ratio of an unknown cell type": Case(
        cells(setting("cells", "ratios", [["CD8+ T", "FOXP3+ Treg"]])),
        ["config", "'FOXP3+ Treg' is neither a cell type", "'cells.ratios'"],
    ),
    "cells: region column not in the export": Case(
        cells(setting("cells", "region_column", "Tissue")), ["P1-post.tsv", "line 1", "cells.region_column"]
    ),
    "cells: phenotype marker not in the export": Case(
        cells(setting("cells", "phenotypes", "CD8+ T", {"CD8": "+", "PanCK": "-", "CD68": "-"})),
        ["P2-post.tsv", "line 1", "'CD68'", "no call for", "cells.phenotypes"],
    ),
    "cells: endpoint naming an unknown cell metric": Case(
        cells(
            setting(
                "analysis_plan", "endpoints", [{"name": "cd8", "feature": "density|CD8+ T|margin", "role": "primary"}]
            )
        ),
        ["config", "'density|CD8+ T|margin'", "does not produce", "density|CD8+ T|stroma"],
    ),
    "cells: gzipped export (usable)": Case(
        cells(
            lambda r, c: (r / "cells" / "P1-pre.tsv.gz").write_bytes(
                gzip.compress((r / "cells" / "P1-pre.tsv").read_bytes(), mtime=0)
            ),
            _cell_line("manifest.tsv", 2, "cells/P1-pre.tsv", "cells/P1-pre.tsv.gz"),
        ),
        usable=True,
    ),
    "cells: µm export with a pixel size (warning)": Case(
        cells(_cell_line("manifest.tsv", 2, "\tqupath\t", "\tqupath\t0.5")), usable=True, warns="already in µm"
    ),
    # --- gene sets ---
    "gmt: line with no genes": Case(lambda r, c: append(r / "sets.gmt", "EMPTY_SET\tdesc\n"), ["sets.gmt", "line 2"]),
    "gmt: duplicated set names": Case(
        lambda r, c: append(r / "sets.gmt", "MY_SET\tdesc\tGZMA\n"), ["sets.gmt", "line 2", "MY_SET"]
    ),
    "gmt: names differing by case": Case(
        lambda r, c: append(r / "sets.gmt", "my_set\tdesc\tGZMA\n"), ["sets.gmt", "line 2", "differ only by case"]
    ),
    "gmt: empty set name": Case(
        lambda r, c: append(r / "sets.gmt", "\tdesc\tGZMA\n"), ["sets.gmt", "line 2", "empty signature name"]
    ),
    "gmt: name clashes with the library": Case(
        lambda r, c: append(r / "sets.gmt", "CYT_ROONEY2015\tdesc\tGZMA\tPRF1\n"), ["sets.gmt", "CYT_ROONEY2015"]
    ),
    "gmt: Excel-mangled gene": Case(
        lambda r, c: append(r / "sets.gmt", "DATES\tdesc\t1-Sep\tGZMA\n"), ["sets.gmt", "line 2", "Excel"]
    ),
    "gmt: not UTF-8": Case(
        lambda r, c: (r / "sets.gmt").write_bytes(b"MY_SET\tdesc\tIL1B\nSET_\xe9\tdesc\tGZMA\n"),
        ["sets.gmt", "line 2", "UTF-8"],
    ),
    "gmt: empty file": Case(lambda r, c: (r / "sets.gmt").write_text(""), ["sets.gmt", "empty"], whole_file=True),
    "gmt: truncated .gmt.gz": Case(_gmt_gz(truncate=True), ["sets.gmt.gz", "truncated"], whole_file=True),
    "gmt: gzipped (usable)": Case(_gmt_gz(truncate=False), usable=True),
    "gmt: duplicated genes (warning)": Case(
        lambda r, c: append(r / "sets.gmt", "DUP_SET\tdesc\tGZMA\tGZMA\tPRF1\n"), usable=True, warns="listed twice"
    ),
    "tsv gene set: non-numeric weight": Case(
        _gene_set_table("signature\tgene\tweight\nW\tGZMA\t0.5\nW\tPRF1\thigh\n"), ["w.tsv", "line 3", "weight"]
    ),
    "tsv gene set: infinite weight": Case(
        _gene_set_table("signature\tgene\tweight\nW\tGZMA\t0.5\nW\tPRF1\tinf\n"), ["w.tsv", "line 3", "weight"]
    ),
    "tsv gene set: weights for some genes only": Case(
        _gene_set_table("signature\tgene\tweight\nW\tGZMA\t0.5\nW\tPRF1\t\n"),
        ["w.tsv", "line 3", "weights for 1 of its 2 genes"],
    ),
    "tsv gene set: unknown direction": Case(
        _gene_set_table("signature\tgene\tdirection\nW\tGZMA\tup\nW\tPRF1\tsideways\n"),
        ["w.tsv", "line 3", "'direction'"],
    ),
    "tsv gene set: no gene column": Case(_gene_set_table("signature\tsymbol\nW\tGZMA\n"), ["w.tsv", "line 1", "gene"]),
}
