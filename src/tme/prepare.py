"""Turn published cohorts into a tme sample sheet and config, from the files as published.

``riaz2017`` — CheckMate-038 (Riaz N et al., Cell 2017;171:934; GEO GSE91061): nivolumab in
ipilimumab-naive (``NIV3-NAIVE``) and ipilimumab-progressed (``NIV3-PROG``) melanoma, tumour
RNA-seq before (``Pre``) and on treatment (``On``, ~day 23–29). Inputs are used unchanged:

* the GEO raw counts (Entrez IDs in an unnamed first column; samples ``Pt<id>_<Pre|On>_<library>``),
* the authors' sample table ``SampleTableCorrected.9.19.16.csv`` (CR line endings; ``PatientID``,
  ``Cohort`` = arm) and ``bms038_clinical_data.csv`` (``PatientID``, ``Cohort``). Seven sequenced
  patients are absent from the clinical table and one (Pt68) from the sample table, so a patient's
  arm is taken from the sample table, else from the clinical table; the two must agree where both
  name the patient.

Technical replicates (``Pt109_On`` was sequenced twice, lanes ``-5`` and ``-6`` of one library):
tme keeps the replicate with the larger library and excludes the other with the reason
"technical replicate of <kept sample> (smaller library)" — one sample per patient and timepoint, no
data altered. The arms are not randomised: NAIVE is the reference, PROG the "treatment" arm.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import pandas as pd
import yaml

from tme.errors import TmeInputError
from tme.io import read_matrix_text, read_text

RIAZ_SAMPLE = re.compile(r"^(Pt\d+)_(Pre|On)_(.+)$")
RIAZ_DESIGN = {
    "reference_arm": "NIV3-NAIVE",
    "treatment_arm": "NIV3-PROG",
    "pre": "pre",
    "post": "on",
}


def _arms(clinical: Path, sample_table: Path) -> dict[str, str]:
    """Patient → arm from the sample table, else the clinical table; a disagreement is an error."""
    # the authors' tables repeat a column name ("Response"), which pandas tolerates
    table = pd.read_csv(io.StringIO(read_text(sample_table, "sample table")), dtype=str)
    clin = pd.read_csv(io.StringIO(read_text(clinical, "clinical table")), dtype=str)
    from_table = dict(zip(table["PatientID"], table["Cohort"]))
    from_clinical = dict(zip(clin["PatientID"], clin["Cohort"]))
    for patient, arm in from_table.items():
        if from_clinical.get(patient, arm) != arm:
            raise TmeInputError(
                f"patient {patient!r} is {arm!r} in the sample table but {from_clinical[patient]!r} in the "
                f"clinical table",
                file=sample_table,
                column="Cohort",
                fix="use the published files unchanged",
            )
    return {**from_clinical, **from_table}


def riaz2017_samples(counts: str | Path, clinical: str | Path, sample_table: str | Path) -> pd.DataFrame:
    """The sample sheet of the Riaz 2017 cohort (one row per matrix column)."""
    matrix, counts = read_matrix_text(counts, "GSE91061 count matrix")
    columns = list(matrix.columns[1:])
    arms = _arms(Path(clinical), Path(sample_table))
    rows = []
    for column in columns:
        match = RIAZ_SAMPLE.match(column)
        if not match:
            raise TmeInputError(
                f"column {column!r} is not named Pt<id>_<Pre|On>_<library>",
                file=counts,
                line=1,
                column=column,
                fix="pass the GEO GSE91061 raw count matrix unchanged",
            )
        patient, timepoint, _ = match.groups()
        if patient not in arms:
            raise TmeInputError(
                f"patient {patient!r} is in neither the sample table nor the clinical table",
                file=counts,
                line=1,
                column=column,
                fix="pass the published sample and clinical tables unchanged",
            )
        rows.append(
            dict(
                sample_id=column,
                patient_id=patient,
                arm=arms[patient],
                timepoint=RIAZ_DESIGN["pre"] if timepoint == "Pre" else RIAZ_DESIGN["post"],
            )
        )
    sheet = pd.DataFrame(rows)
    sheet["exclude_reason"] = ""
    library = matrix[columns].apply(pd.to_numeric).sum()
    for _, group in sheet.groupby(["patient_id", "timepoint"]):
        if len(group) > 1:
            kept = library[group["sample_id"]].idxmax()
            for sample in group["sample_id"]:
                if sample != kept:
                    sheet.loc[sheet["sample_id"] == sample, "exclude_reason"] = (
                        f"technical replicate of {kept} (smaller library)"
                    )
    return sheet


def prepare_riaz2017(counts: str | Path, clinical: str | Path, sample_table: str | Path, out: str | Path) -> list[Path]:
    """Write ``samples.tsv`` and ``config.yaml`` for the Riaz 2017 cohort into ``out``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    sheet = riaz2017_samples(counts, clinical, sample_table)
    samples_path = out / "samples.tsv"
    sheet.to_csv(samples_path, sep="\t", index=False, lineterminator="\n")
    config = {
        "samples": str(samples_path.resolve()),
        "design": RIAZ_DESIGN,
        "expression": {"path": str(Path(counts).resolve()), "format": "counts"},
    }
    config_path = out / "config.yaml"
    config_path.write_text(
        "# tme prepare riaz2017: CheckMate-038 (Riaz 2017, GSE91061)\n" + yaml.safe_dump(config, sort_keys=False)
    )
    return [samples_path, config_path]
