"""Sample flow (CONSORT-style): randomised → usable pre → usable post → paired, per arm and modality.

``sample_flow.tsv`` is one tidy table: count rows (``step`` = randomised, with_pre, with_post,
paired, and per_protocol, per_protocol_paired when the plan defines that population; ``n_patients``
filled), one ``excluded`` row per excluded sample with its ``reason`` (from
the sheet's ``exclude_reason``, QC, or absence from the modality's data) and one ``missing`` row
per patient with no sample at a timepoint.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from tme.config import Design
from tme.errors import TmeInputError

COLUMNS = ["modality", "arm", "step", "n_patients", "sample_id", "patient_id", "timepoint", "reason"]


def exclusions(
    samples: pd.DataFrame,
    present: set[str],
    qc: Mapping[str, str] | None = None,
    absent_reason: str = "not in the data",
) -> pd.Series:
    """Reason each sample is unusable for a modality ('' if usable): sheet, then absence, then QC."""
    qc = qc or {}
    reason = samples["exclude_reason"].copy()
    reason[(reason == "") & ~samples.index.isin(list(present))] = absent_reason
    for sample, why in qc.items():
        if reason.get(sample, "x") == "":
            reason[sample] = why
    return reason


def sample_flow(
    samples: pd.DataFrame, design: Design, modality: str, reason: pd.Series, per_protocol: list[str] | None = None
) -> pd.DataFrame:
    """Flow table for one modality; ``reason`` from :func:`exclusions`. With ``per_protocol`` (the
    per-protocol population's patients) two more count rows per arm: ``per_protocol`` (its patients
    randomised to the arm) and ``per_protocol_paired``."""
    rows = []
    usable = samples[reason == ""]
    for arm in design.arms:
        arm_samples = samples[samples["arm"] == arm]
        arm_usable = usable[usable["arm"] == arm]
        pre = set(arm_usable.loc[arm_usable["timepoint"] == design.pre, "patient_id"])
        post = set(arm_usable.loc[arm_usable["timepoint"] == design.post, "patient_id"])
        counts = [("randomised", arm_samples["patient_id"].nunique()), ("with_pre", len(pre)),
                  ("with_post", len(post)), ("paired", len(pre & post))]  # fmt: skip
        if per_protocol is not None:
            protocol = set(per_protocol) & set(arm_samples["patient_id"])
            counts += [("per_protocol", len(protocol)), ("per_protocol_paired", len(protocol & pre & post))]
        for step, n in counts:
            rows.append(dict(modality=modality, arm=arm, step=step, n_patients=n))
        for sample, row in arm_samples[reason[arm_samples.index] != ""].iterrows():
            rows.append(
                dict(
                    modality=modality,
                    arm=arm,
                    step="excluded",
                    sample_id=sample,
                    patient_id=row["patient_id"],
                    timepoint=row["timepoint"],
                    reason=reason[sample],
                )
            )
        for timepoint in design.timepoints:
            taken = set(arm_samples.loc[arm_samples["timepoint"] == timepoint, "patient_id"])
            for patient in sorted(set(arm_samples["patient_id"]) - taken):
                rows.append(
                    dict(
                        modality=modality,
                        arm=arm,
                        step="missing",
                        patient_id=patient,
                        timepoint=timepoint,
                        reason="no sample in the sample sheet",
                    )
                )
    flow = pd.DataFrame(rows, columns=COLUMNS)
    text = [c for c in COLUMNS if c != "n_patients"]
    flow[text] = flow[text].fillna("")
    return flow.astype({"n_patients": "Int64"})


def require_pairs(flow: pd.DataFrame, modality: str, samples: pd.DataFrame, data_file: str, post: str) -> None:
    """Error when an arm has no usable post sample or no pair (nothing to compare between arms).

    The message counts why the arm's samples were lost and blames the file that lost them: the
    sample sheet when its ``exclude_reason`` (or missing rows) did, else the modality's data file
    (samples absent from it, or failing QC such as a library-size threshold).
    """
    counts = flow[flow["step"].isin(["with_post", "paired"])]
    for _, row in counts[counts["n_patients"] == 0].iterrows():
        lost = flow[(flow["arm"] == row["arm"]) & flow["step"].isin(["excluded", "missing"])]
        if row["step"] == "with_post":
            what, lost = f"usable {post!r} sample", lost[lost["timepoint"] == post]
        else:
            what = "patient with both a usable pre and post sample"
        sheet_reasons = set(samples.loc[samples["exclude_reason"] != "", "exclude_reason"])
        from_data = lost[(lost["step"] == "excluded") & ~lost["reason"].isin(sheet_reasons)]
        tally = "; ".join(f"{n} × {reason}" for reason, n in lost["reason"].value_counts().items()) or "no samples"
        raise TmeInputError(
            f"arm {row['arm']!r} has no {what} in the {modality} data ({tally}), so the within-patient change "
            "cannot be compared between arms",
            file=data_file if len(from_data) else samples.attrs.get("path"),
            fix="check that the data file holds these samples (IDs as in the sample sheet) and the QC thresholds "
            "(e.g. expression.min_library_size)"
            if len(from_data)
            else "check the sample_id and timepoint labels and the exclude_reason column of the sample sheet",
        )
