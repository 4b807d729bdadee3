"""The panel's RLF (Reporter Library File): the CodeSet's probes, their classes and control concentrations.

Format (INI-like text, as NanoString ships it with each CodeSet)::

    [Header]
    ClassName0=Endogenous          (ClassName<k>: the class of records with Classification k)
    ...
    [Content]
    ColumnCount=8
    RecordCount=38
    Columns=Classification,TargetSeq,BarCode,GeneName,ProbeID,Species,Accession,Comments
    Record0=1,...,POS_A(128),...,ERCC_00117.1,...

Classes ``Binding``, ``Purification`` and ``Reserved`` are instrument spikes that never reach an
RCC file and are dropped, as Bioconductor NanoStringQCPro's ``readRlf`` drops them.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from tme.errors import TmeInputError
from tme.nanostring.rcc import decode_rcc_bytes, split_control_label

INSTRUMENT_CLASSES = ("Binding", "Purification", "Reserved")
_NEEDED = ("Classification", "GeneName", "Accession")


def _key_values(lines: list[str], prefix: str) -> dict[str, tuple[int, str]]:
    out = {}
    for number, line in enumerate(lines, start=1):
        key, sep, value = line.strip().partition("=")
        if sep and key.startswith(prefix):
            out[key] = (number, value.strip())
    return out


def read_rlf(path: str | os.PathLike) -> pd.DataFrame:
    """Probes of an RLF: ``code_class, name, accession, concentration, line`` (one row per probe).

    ``name`` is the GeneName without a control's ``(concentration)`` label; ``concentration`` is
    that label in fM (NaN for genes). Raises :class:`~tme.errors.TmeInputError` naming the line.
    """
    path = Path(path)
    try:
        lines = decode_rcc_bytes(path.read_bytes(), path).split("\n")
    except FileNotFoundError:
        raise TmeInputError(
            "the RLF file does not exist",
            file=path,
            column="expression.nanostring.rlf",
            fix="point expression.nanostring.rlf at the CodeSet's .rlf file, or remove the key",
        ) from None
    content = next((i for i, line in enumerate(lines) if line.strip() == "[Content]"), None)
    if content is None:
        raise TmeInputError(
            "no [Content] section", file=path, fix="give the RLF file NanoString shipped with the CodeSet"
        )
    settings = _key_values(lines[content:], "")
    columns_line, columns = settings.get("Columns", (0, ""))
    columns = [c.strip() for c in columns.split(",")]
    absent = [c for c in _NEEDED if c not in columns]
    if absent:
        raise TmeInputError(
            f"the Columns= line lacks {', '.join(absent)}",
            file=path,
            line=content + columns_line,
            fix="give the RLF file NanoString shipped with the CodeSet",
        )
    classes = {key[len("ClassName") :]: value for key, (_, value) in _key_values(lines[:content], "ClassName").items()}
    records = [
        (content + number, value)
        for key, (number, value) in settings.items()
        if key.startswith("Record") and key[len("Record") :].isdigit()
    ]
    declared = settings.get("RecordCount", (0, "-1"))[1]
    if not records or str(len(records)) != declared:
        raise TmeInputError(
            f"RecordCount={declared} but the file holds {len(records)} records",
            file=path,
            line=content + settings.get("RecordCount", (1, ""))[0],
            fix="the RLF is incomplete; use the file NanoString shipped with the CodeSet",
        )
    rows = []
    for number, value in records:
        fields = value.split(",", len(columns) - 1)
        record = dict(zip(columns, fields))
        code_class = classes.get(record.get("Classification", "").strip())
        if code_class is None:
            raise TmeInputError(
                f"Classification {record.get('Classification')!r} has no ClassName in [Header]",
                file=path,
                line=number,
                fix="give the RLF file NanoString shipped with the CodeSet",
            )
        if code_class in INSTRUMENT_CLASSES:
            continue
        name, conc = split_control_label(code_class, record["GeneName"].strip(), path, number)
        rows.append((code_class, name, record["Accession"].strip(), conc, number))
    probes = pd.DataFrame(rows, columns=["code_class", "name", "accession", "concentration", "line"])
    probes["concentration"] = probes["concentration"].astype(np.float64)
    return probes
