"""Which RCC file is which sample of the sheet.

The ID typed into the instrument (``<Sample_Attributes>`` ``ID``) is often wrong or reused (a
tube number, the patient's ID for both biopsies, a copied lane sheet), so the field used is a
choice, recorded in the output:

``file_name``
    the file name without ``.RCC`` / ``.RCC.gz`` (default);
``sample_attribute_id``
    the ``ID`` line of ``<Sample_Attributes>``.

``pattern`` (optional) is a regular expression the whole field must match; its group ``sample``
(or its first group) is the sample ID. The nCounter names files
``<date>_<cartridge>_<sample ID>_<lane>.RCC``, which :data:`NCOUNTER_FILE_PATTERN` reads.
IDs are compared with the sheet's ``sample_id`` as written (before any pseudonymisation).
"""

from __future__ import annotations

import re

import pandas as pd

from tme.errors import TmeInputError
from tme.nanostring.panel import RccSet

MATCH_FIELDS = ("file_name", "sample_attribute_id")
#: The sample ID in the instrument's default file name ``<yyyymmdd>_<cartridge>_<sample ID>_<lane>``.
NCOUNTER_FILE_PATTERN = r"^\d{8}_[^_]+_(?P<sample>.+)_\d{2}$"
#: Columns of the file table returned by :func:`match_files`.
FILE_COLUMNS = ["file", "match_by", "matched_on", "sample_id", "status"]
_SUFFIX = re.compile(r"\.rcc(\.gz)?$", re.IGNORECASE)


def _field(rcc: RccSet, match_by: str) -> tuple[list[str], list[int | None]]:
    """Per file, the matching field's text and the line it is on (None for the file name)."""
    if match_by not in MATCH_FIELDS:
        raise TmeInputError(
            f"match_by {match_by!r} is not one of {', '.join(MATCH_FIELDS)}",
            column="expression.nanostring.match_by",
            fix=f"use one of {', '.join(MATCH_FIELDS)}",
        )
    if match_by == "file_name":
        return [_SUFFIX.sub("", name) for name in rcc.lanes["file_name"]], [None] * len(rcc.lanes)
    return rcc.lanes["sample_attribute_id"].tolist(), rcc.lanes["id_line"].astype(int).tolist()


def _extract(values: list[str], lines: list[int | None], pattern: str | None, rcc: RccSet, match_by: str) -> list[str]:
    if pattern is None:
        return values
    try:
        regex = re.compile(pattern)
    except re.error as exc:
        raise TmeInputError(
            f"pattern {pattern!r} is not a valid regular expression ({exc})",
            column="expression.nanostring.pattern",
            fix="write a Python regular expression with a group (?P<sample>...)",
        ) from None
    out = []
    for value, line, file in zip(values, lines, rcc.lanes["file"]):
        found = regex.fullmatch(value)
        if found is None:
            raise TmeInputError(
                f"the {match_by} {value!r} does not match expression.nanostring.pattern {pattern!r}",
                file=file,
                line=line,
                fix="adjust the pattern to every file, or move files that are not samples out of the folder",
            )
        out.append(found.groupdict().get("sample") or (found.group(1) if regex.groups else found.group(0)))
    return out


def match_files(
    rcc: RccSet,
    samples: pd.DataFrame,
    *,
    match_by: str = "file_name",
    pattern: str | None = None,
    extra_samples: str = "error",
) -> pd.DataFrame:
    """Match each file of ``rcc`` to a sheet sample; one row per file (:data:`FILE_COLUMNS`).

    ``status``: ``used`` (a usable sheet sample), ``excluded in the sheet`` (the sheet gives an
    ``exclude_reason``) or ``not in the sheet`` (only with ``extra_samples: ignore``); ``sample_id``
    is the sheet's (pseudonymised) ID, '' when not in the sheet. Errors: two files for one sample,
    a file not in the sheet (``extra_samples: error``), a usable sheet sample without a file.
    """
    values, lines = _field(rcc, match_by)
    keys = _extract(values, lines, pattern, rcc, match_by)
    source = dict(zip(samples["source_id"], samples.index))
    seen: dict[str, str] = {}
    for key, line, file in zip(keys, lines, rcc.lanes["file"]):
        if key in seen and key in source:
            raise TmeInputError(
                f"two files for sample {key!r}: {seen[key]} and this one (matched by {match_by})",
                file=file,
                line=line,
                fix="keep one file per sample (move a failed or repeated run out of the folder, or give the rerun "
                "its own sample_id); if the instrument IDs are reused, match by file_name",
            )
        seen[key] = file
        if key not in source and extra_samples == "error":
            raise TmeInputError(
                f"sample {key!r} (the file's {match_by}) is not in the sample sheet",
                file=file,
                line=line,
                fix="add it to the sample sheet, correct expression.nanostring.match_by/pattern, "
                "or set expression.extra_samples: ignore to analyse only the sheet's samples",
            )
    usable = samples.index[samples["exclude_reason"] == ""]
    missing = [s for s in usable if samples.at[s, "source_id"] not in seen]
    if missing:
        raise TmeInputError(
            f"{len(missing)} sample(s) have no RCC file (matched by {match_by}): "
            f"{', '.join(samples.loc[missing[:5], 'source_id'])}{', …' if len(missing) > 5 else ''}",
            file=samples.attrs.get("path"),
            line=int(samples.at[missing[0], "_line"]),
            column="sample_id",
            fix="correct the sample_id or expression.nanostring.match_by/pattern, "
            "or give the sample an exclude_reason if it was not run",
        )
    status = [
        "not in the sheet"
        if k not in source
        else ("used" if samples.at[source[k], "exclude_reason"] == "" else "excluded in the sheet")
        for k in keys
    ]
    return pd.DataFrame(
        {
            "file": rcc.lanes["file_name"],
            "match_by": match_by,
            "matched_on": keys,
            "sample_id": [source.get(k, "") for k in keys],
            "status": status,
        },
        columns=FILE_COLUMNS,
    )
