"""Warnings that change what was analysed, from every rule of a run, in one table.

A reader should not have to open log files to learn that a sample was excluded, a signature was
scored from 1 of its 18 genes or a model dropped patients. :func:`tme.workflow.run` writes the
warnings of each rule (:data:`tme.errors.REPORTED_WARNINGS`) to a small table; :func:`collect_warnings`
joins them with the exclusions of the sample flow, the endpoints that lost patients between the
pairs and the analysis (:mod:`tme.flow`) and the run's mode (blinded, single-arm, pseudonymised IDs)
into ``results/qc/warnings.tsv`` (``source, warning``), which the report shows and
:func:`console_line` summarises at the end of the run.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pandas as pd

COLUMNS = ["source", "warning"]


def mode_warnings(*, blinded: bool, single_arm: bool, pseudonymised: bool) -> list[str]:
    """The run's modes that change what the results mean."""
    out = []
    if blinded:
        out.append("blinded run: the arm column was not read; every result pools both arms (no between-arm result)")
    elif single_arm:
        out.append("single-arm study: within-arm changes only (no reference arm to compare with)")
    if pseudonymised:
        out.append("patient and sample IDs are pseudonymised in every output (the key file stays outside results/)")
    return out


def flow_warnings(flow: pd.DataFrame | None) -> list[tuple[str, str]]:
    """One warning per modality, arm and reason for the sample flow's excluded samples and missing
    biopsies, naming the samples (or patients)."""
    if flow is None or flow.empty:
        return []
    lost = flow[flow["step"].isin(["excluded", "missing"])].fillna("")
    out = []
    for (modality, arm, step, reason), rows in lost.groupby(["modality", "arm", "step", "reason"], sort=False):
        if step == "excluded":
            names = ", ".join(f"{s} ({t})" for s, t in zip(rows["sample_id"], rows["timepoint"]))
            what = f"{len(rows)} {arm} sample{'s' * (len(rows) > 1)} excluded ({reason}): {names}"
        else:
            names = ", ".join(f"{p} ({t})" for p, t in zip(rows["patient_id"], rows["timepoint"]))
            what = f"{len(rows)} {arm} {'biopsy' if len(rows) == 1 else 'biopsies'} missing ({reason}): {names}"
        out.append((f"sample flow: {modality}", what))
    return out


def endpoint_warnings(endpoint_flow: pd.DataFrame | None) -> list[tuple[str, str]]:
    """Plan endpoints whose analysis used fewer patients than had both biopsies measured (e.g. a
    missing baseline covariate), per arm."""
    if endpoint_flow is None or endpoint_flow.empty:
        return []
    planned = endpoint_flow[endpoint_flow["role"].fillna("").astype(str) != ""]
    short = planned[pd.to_numeric(planned["analysed"], errors="coerce") < planned["paired"]]
    return [
        (
            "analysis",
            f"{row['display_name'] or row['feature']}: {row['arm']} analysed {int(row['analysed'])} of "
            f"{int(row['paired'])} patients with both biopsies measured",
        )
        for _, row in short.iterrows()
    ]


def collect_warnings(
    rule_tables: Iterable[str | Path],
    modes: Iterable[str] = (),
    flow: pd.DataFrame | None = None,
    endpoint_flow: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """``source, warning`` rows: the run's modes (:func:`mode_warnings`), the sample flow's losses, the
    endpoints' losses, then each rule's warnings (tables of :func:`tme.workflow.run`, in the order given)."""
    rows = [("run", w) for w in modes] + flow_warnings(flow) + endpoint_warnings(endpoint_flow)
    for path in rule_tables:
        table = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)
        rows += [(f"rule {r}", w) for r, w in zip(table["rule"], table["warning"])]
    return pd.DataFrame(rows, columns=COLUMNS).drop_duplicates(ignore_index=True)


def console_line(table: pd.DataFrame, path: str = "results/qc/warnings.tsv", width: int = 300) -> str:
    """One line for the end of the run: how many warnings, by source, and where to read them."""
    if table.empty:
        return "tme: no warnings changed what was analysed."
    sources = table["source"].str.replace(r":.*", "", regex=True).value_counts(sort=False)
    tally = ", ".join(f"{n} from {source}" for source, n in sources.items())
    line = f"tme: {len(table)} warning{'s' * (len(table) > 1)} changed what was analysed ({tally}): see {path}"
    return line if len(line) <= width else line[: width - 1] + "…"


def print_warnings_line(path: str = "results/qc/warnings.tsv") -> None:
    """Print :func:`console_line` for a finished run's warnings table (nothing if the run wrote none)."""
    if Path(path).exists():
        print(console_line(pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False), path))
