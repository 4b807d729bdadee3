"""NanoString nCounter ``.RCC`` files: one parser, one cohort of files on one panel.

An RCC file (Reporter Code Count, written by the nCounter Digital Analyzer / SPRINT) is text in
tagged sections, each ``<Name>`` … ``</Name>``::

    <Header>             FileVersion, SoftwareVersion
    <Sample_Attributes>  ID, Owner, Comments, Date, GeneRLF, SystemAPF
    <Lane_Attributes>    ID, FovCount, FovCounted, ScannerID, StagePosition, BindingDensity,
                         CartridgeID, CartridgeBarcode
    <Code_Summary>       CodeClass,Name,Accession,Count   (one probe per line)
    <Messages>           free text (optional)

Attribute lines are ``key,value`` (the value may contain commas). Positive and negative control
names may carry their spike-in concentration in fM, ``POS_A(128)``; the label is removed from the
name and kept as the probe's concentration, as Bioconductor NanoStringQCPro's ``readRcc`` does.
Without a label, the nCounter standard concentrations by letter are used (POS_A–F = 128, 32, 8, 2,
0.5, 0.125 fM; NanoString MAN-C0011). Gzip-compressed files, a UTF-8 byte-order mark, CRLF line
endings and Latin-1 comments are accepted.

Every defect a user can fix raises :class:`~tme.errors.TmeInputError` naming the file, the line and
the fix: a section cut off (file truncated), a missing required section, a ``<Code_Summary>``
header that is not ``CodeClass,Name,Accession,Count``, a row without four fields, a count that is
not a non-negative integer, a probe listed twice, lane attributes missing or not numeric, and, in
a cohort, files measured on different panels (probe sets).
"""

from __future__ import annotations

import glob
import gzip
import os
import re
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tme.errors import TmeInputError

SECTIONS = ("Header", "Sample_Attributes", "Lane_Attributes", "Code_Summary", "Messages")
REQUIRED_SECTIONS = SECTIONS[:4]
CODE_SUMMARY_HEADER = "CodeClass,Name,Accession,Count"
#: Lane attributes the QC needs, with the name used in tme's tables.
LANE_NUMBERS = {"FovCount": "fov_count", "FovCounted": "fov_counted", "BindingDensity": "binding_density"}
#: nCounter positive-control spike-in concentrations (fM in the 30 µL hybridisation), MAN-C0011.
STANDARD_POSITIVE_FM = {"POS_A": 128.0, "POS_B": 32.0, "POS_C": 8.0, "POS_D": 2.0, "POS_E": 0.5, "POS_F": 0.125}
CONTROL_CLASSES = ("Positive", "Negative")
_LABEL = re.compile(r"^(?P<name>[^(]+)\((?P<conc>[^)]*)\)$")
_TAG = re.compile(r"^<(/?)([A-Za-z_][A-Za-z0-9_]*)>$")
_RCC_SUFFIXES = (".rcc", ".rcc.gz")
_COUNT_FIX = "counts are non-negative integers as the instrument writes them; copy the file from the instrument again"


@dataclass
class RccFile:
    """One parsed ``.RCC`` file.

    ``header``, ``sample`` and ``lane`` hold the attribute sections as written (strings);
    ``code_class``, ``name``, ``accession``, ``count`` the ``<Code_Summary>`` rows (control names
    without their concentration label, which is in ``concentration``, NaN for other probes);
    ``lines`` maps ``section`` and ``section:key`` to line numbers, and ``probe_lines`` gives each
    probe's line, for messages.
    """

    path: Path
    header: dict[str, str]
    sample: dict[str, str]
    lane: dict[str, str]
    code_class: list[str]
    name: list[str]
    accession: list[str]
    count: np.ndarray
    concentration: np.ndarray
    messages: list[str]
    lines: dict[str, int] = field(default_factory=dict)
    probe_lines: list[int] = field(default_factory=list)

    @property
    def probe_keys(self) -> list[tuple[str, str, str]]:
        """``(CodeClass, Name, Accession)`` per probe, the identity of a probe across files."""
        return list(zip(self.code_class, self.name, self.accession))


def decode_rcc_bytes(raw: bytes, path: Path) -> str:
    """Text of an RCC file's bytes: gunzipped if needed, UTF-8 (Latin-1 fallback), ``\\n`` line ends."""
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (EOFError, OSError, zlib.error):
            raise TmeInputError(
                "the RCC file is a damaged or truncated gzip archive",
                file=path,
                fix="copy the file from the instrument again and check it with 'gzip -t'",
            ) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:  # comments typed on a Windows instrument PC
        text = raw.decode("latin-1")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _split_sections(lines: list[str], path: Path) -> dict[str, tuple[int, list[tuple[int, str]]]]:
    """Section name → (line of its opening tag, [(line number, text)] of its body)."""
    sections: dict[str, tuple[int, list[tuple[int, str]]]] = {}
    current, start, body = None, 0, []
    for number, raw in enumerate(lines, start=1):
        text = raw.strip()
        tag = _TAG.match(text) if text.startswith("<") else None
        if current is None:
            if not text:
                continue
            if tag is None or tag.group(1):
                raise TmeInputError(
                    f"line outside any <Section> … </Section> block: {text[:40]!r}",
                    file=path,
                    line=number,
                    fix="an RCC file has only tagged sections; copy the file from the instrument again",
                )
            current, start, body = tag.group(2), number, []
            if current in sections:
                raise TmeInputError(
                    f"section <{current}> appears twice (lines {sections[current][0]} and {number})",
                    file=path,
                    line=number,
                    fix="keep one copy of each section (was the file concatenated?)",
                )
        elif tag is not None:
            if tag.group(1) and tag.group(2) == current:
                sections[current] = (start, body)
                current = None
            else:
                raise TmeInputError(
                    f"<{current}> opened on line {start} is not closed before {text}",
                    file=path,
                    line=number,
                    fix=f"the file is damaged: add </{current}> or copy the file from the instrument again",
                )
        else:
            body.append((number, raw))
    if current is not None:
        raise TmeInputError(
            f"the file ends inside <{current}> (opened on line {start}): it is cut off",
            file=path,
            line=len(lines),
            fix="the copy is incomplete; copy the RCC file from the instrument again",
        )
    return sections


def _attributes(section: str, body: list[tuple[int, str]], lines: dict[str, int]) -> dict[str, str]:
    values = {}
    for number, raw in body:
        if not raw.strip():
            continue
        key, _, value = raw.partition(",")
        key = key.strip()
        values[key] = value.strip()
        lines[f"{section}:{key}"] = number
    return values


def split_control_label(code_class: str, name: str, path: Path, number: int) -> tuple[str, float]:
    """Control name without its ``(concentration)`` label, and the concentration (NaN if none)."""
    match = _LABEL.match(name)
    if code_class not in CONTROL_CLASSES:
        return name, np.nan
    if match is None:
        return name, STANDARD_POSITIVE_FM.get(name, np.nan) if code_class == "Positive" else 0.0
    try:
        return match["name"], float(match["conc"])
    except ValueError:
        raise TmeInputError(
            f"control {name!r} has a concentration label that is not a number",
            file=path,
            line=number,
            column="Name",
            fix="write the spike-in concentration in fM, e.g. POS_A(128), or leave the label out",
        ) from None


def _code_summary(
    body: list[tuple[int, str]], path: Path, start: int
) -> tuple[list, list, list, np.ndarray, np.ndarray, list[int]]:
    rows = [(number, raw.strip()) for number, raw in body if raw.strip()]
    if not rows:
        raise TmeInputError(
            "<Code_Summary> has no header and no probes",
            file=path,
            line=start,
            fix="the file is damaged; copy it from the instrument again",
        )
    header_line, header = rows[0]
    if header.replace(" ", "") != CODE_SUMMARY_HEADER:
        raise TmeInputError(
            f"<Code_Summary> header is {header[:60]!r}, not {CODE_SUMMARY_HEADER!r}",
            file=path,
            line=header_line,
            fix="the first line of <Code_Summary> must be CodeClass,Name,Accession,Count (nCounter RCC format)",
        )
    if len(rows) == 1:
        raise TmeInputError(
            "<Code_Summary> lists no probes",
            file=path,
            line=header_line,
            fix="the file is damaged; copy it from the instrument again",
        )
    fields = [text.split(",") for _, text in rows[1:]]
    numbers = [number for number, _ in rows[1:]]
    bad = next((i for i, f in enumerate(fields) if len(f) != 4), None)
    if bad is not None:
        raise TmeInputError(
            f"this <Code_Summary> row has {len(fields[bad])} comma-separated fields instead of 4",
            file=path,
            line=numbers[bad],
            fix="each probe row is CodeClass,Name,Accession,Count; the file may be damaged",
        )
    try:
        count = np.array([int(f[3]) for f in fields], dtype=np.int64)
    except ValueError:
        i = next(i for i, f in enumerate(fields) if not f[3].strip().lstrip("-").isdigit())
        raise TmeInputError(
            f"count {fields[i][3]!r} of probe {fields[i][1]!r} is not a whole number",
            file=path,
            line=numbers[i],
            column="Count",
            fix=_COUNT_FIX,
        ) from None
    if (count < 0).any():
        i = int(np.argmax(count < 0))
        raise TmeInputError(
            f"negative count {count[i]} for probe {fields[i][1]!r}",
            file=path,
            line=numbers[i],
            column="Count",
            fix=_COUNT_FIX,
        )
    code_class = [f[0].strip() for f in fields]
    accession = [f[2].strip() for f in fields]
    labelled = [split_control_label(c, f[1].strip(), path, n) for c, f, n in zip(code_class, fields, numbers)]
    name = [n for n, _ in labelled]
    seen: dict[tuple[str, str, str], int] = {}
    for key, number in zip(zip(code_class, name, accession), numbers):
        if key in seen:
            raise TmeInputError(
                f"probe {key[1]!r} ({key[0]}, {key[2]}) is listed twice (lines {seen[key]} and {number})",
                file=path,
                line=number,
                fix="each probe appears once in <Code_Summary>; the file may be damaged",
            )
        seen[key] = number
    return code_class, name, accession, count, np.array([c for _, c in labelled]), numbers


def parse_rcc(text: str, path: str | os.PathLike) -> RccFile:
    """Parse the text of one RCC file (see the module docstring for the format and the checks)."""
    path = Path(path)
    lines = text.split("\n")
    sections = _split_sections(lines, path)
    missing = [s for s in REQUIRED_SECTIONS if s not in sections]
    if missing:
        near = [s for s in sections if s.lower() in {m.lower() for m in missing}]
        hint = f" (found <{near[0]}> on line {sections[near[0]][0]}: tags are case-sensitive)" if near else ""
        raise TmeInputError(
            f"section <{missing[0]}> is missing{hint}",
            file=path,
            line=len(lines),
            fix="an RCC file needs <Header>, <Sample_Attributes>, <Lane_Attributes> and <Code_Summary>; "
            "copy the file from the instrument again",
        )
    where: dict[str, int] = {s: start for s, (start, _) in sections.items()}
    header = _attributes("Header", sections["Header"][1], where)
    sample = _attributes("Sample_Attributes", sections["Sample_Attributes"][1], where)
    lane = _attributes("Lane_Attributes", sections["Lane_Attributes"][1], where)
    code_class, name, accession, count, concentration, probe_lines = _code_summary(
        sections["Code_Summary"][1], path, sections["Code_Summary"][0]
    )
    messages = [raw.strip() for _, raw in sections.get("Messages", (0, []))[1] if raw.strip()]
    return RccFile(
        path, header, sample, lane, code_class, name, accession, count, concentration, messages, where, probe_lines
    )


def read_rcc(path: str | os.PathLike) -> RccFile:
    """Read and parse one ``.RCC`` (or ``.RCC.gz``) file."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise TmeInputError(
            "the RCC file does not exist", file=path, fix="check expression.path in the config"
        ) from None
    except OSError as exc:
        raise TmeInputError(
            f"the RCC file cannot be read ({exc.strerror})", file=path, fix="check its permissions"
        ) from None
    text = decode_rcc_bytes(raw, path)
    if not text.strip():
        raise TmeInputError("the RCC file is empty", file=path, fix="copy the file from the instrument again")
    return parse_rcc(text, path)


def _is_rcc(path: Path) -> bool:
    return path.name.lower().endswith(_RCC_SUFFIXES)


def rcc_paths(path: str | os.PathLike | Sequence[str | os.PathLike]) -> list[Path]:
    """The RCC files a config's ``expression.path`` names: a directory, a glob pattern or a list.

    A directory contributes its ``*.RCC`` / ``*.RCC.gz`` files (any case, not recursive); a glob
    pattern the files it matches; a list the files (or directories, or patterns) it names. The
    result is sorted by path, so the order never depends on the file system.
    """
    if isinstance(path, (list, tuple)):
        found = [p for item in path for p in rcc_paths(item)]
    else:
        text = str(path)
        if glob.has_magic(text):
            found = [Path(p) for p in glob.glob(text) if Path(p).is_file()]
            if not found:
                raise TmeInputError(
                    f"the pattern {text!r} matches no file",
                    column="expression.path",
                    fix="check the folder and the pattern (e.g. 'rcc/*.RCC')",
                )
        elif Path(text).is_dir():
            found = [p for p in Path(text).iterdir() if p.is_file() and _is_rcc(p)]
            if not found:
                raise TmeInputError(
                    "the folder holds no .RCC file",
                    file=text,
                    column="expression.path",
                    fix="point expression.path at the folder of the instrument's .RCC files (or .RCC.gz)",
                )
        else:
            found = [Path(text)]
    return sorted(set(found))
