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


#: Columns of ``endpoint_flow.tsv``.
ENDPOINT_FLOW_COLUMNS = [
    "feature",
    "endpoint",
    "display_name",
    "role",
    "family",
    "arm",
    "randomised",
    "with_pre",
    "with_post",
    "paired",
    "analysed",
    "analysis",
]


def endpoint_flow(
    values: pd.DataFrame, samples: pd.DataFrame, design: Design, features: pd.DataFrame, analysed: pd.DataFrame
) -> pd.DataFrame:
    """Patients per feature × arm: randomised, with a value at pre, at post, with both, and analysed.

    The sample flow counts biopsies per modality; a measure can still be missing in a usable biopsy
    (a stain that failed, a score not estimable), so every figure and table quotes these counts.

    Parameters
    ----------
    values
        ``sample_id, patient_id, arm, timepoint, feature, value`` (:mod:`tme.features`); a NaN value
        is a missing measurement.
    samples
        The validated sample sheet (randomised patients per arm).
    design
        The run's design; in a blinded run the pooled design (one group).
    features
        The plan's feature table (``feature, family, endpoint, display_name, role``), in table order.
    analysed
        ``feature, arm, analysis, analysed``: patients in the primary analysis of each feature and
        arm (:func:`analysed_counts`).
    """
    measured = values.dropna(subset=["value"])
    randomised = samples.groupby("arm")["patient_id"].nunique()
    timepoint = measured["timepoint"]
    per_patient = (
        measured.assign(with_pre=timepoint == design.pre, with_post=timepoint == design.post)
        .groupby(["feature", "arm", "patient_id"], sort=False)[["with_pre", "with_post"]]
        .any()
    )
    per_patient["paired"] = per_patient["with_pre"] & per_patient["with_post"]
    counts = per_patient.groupby(level=["feature", "arm"], sort=False).sum().astype(int).reset_index()
    everyone = samples["patient_id"].nunique()
    counts["randomised"] = [int(randomised.get(arm, everyone)) for arm in counts["arm"]]
    info = features.reindex(columns=["feature", "endpoint", "display_name", "role", "family"])
    table = info.merge(counts, on="feature", how="inner").merge(analysed, on=["feature", "arm"], how="left")
    arm_order = {arm: i for i, arm in enumerate(design.arms)}
    table = table.sort_values("arm", key=lambda s: s.map(arm_order).fillna(len(arm_order)), kind="stable")
    table = table.sort_values("feature", key=lambda s: s.map(_order(info["feature"])), kind="stable")
    out = table.reindex(columns=ENDPOINT_FLOW_COLUMNS).reset_index(drop=True)
    return out.astype({c: "Int64" for c in ("randomised", "with_pre", "with_post", "paired", "analysed")})


def _order(features: pd.Series) -> dict[str, int]:
    return {f: i for i, f in enumerate(dict.fromkeys(features))}


def analysed_counts(tables: Mapping[str, pd.DataFrame], design: Design) -> pd.DataFrame:
    """``feature, arm, analysis, analysed`` of each feature's primary analysis in the primary
    population: the between-arm table's first analysis (the plan's primary, intention to treat) when
    arms are compared, else the within-arm (or pooled) changes' ``n_pairs``."""
    columns = ["feature", "arm", "analysis", "analysed"]
    between = tables.get("between")
    if between is not None and not between.empty:
        primary = between[(between["analysis"] == between["analysis"].iloc[0]) & (between["population"] == "itt")]
        parts = [
            primary.assign(arm=arm, analysed=primary[column])
            for arm, column in ((design.reference_arm, "n_reference_arm"), (design.treatment_arm, "n_treatment_arm"))
        ]
        return pd.concat(parts, ignore_index=True).reindex(columns=columns)
    within = tables.get("within", tables.get("pooled"))
    if within is None or within.empty:
        return pd.DataFrame(columns=columns)
    first = within[within["analysis"] == within["analysis"].iloc[0]]
    return first.assign(analysed=first["n_pairs"]).reindex(columns=columns)
