"""IHC and pathology scores in the immune table: H-score, Allred, intensity grade, percent positive, sTILs.

Range checks name the file, line and column; intensity grades read as written by pathologists; ordinal
and bounded scores default to rank-based between-arm analyses (tme.immune, tme.plan)."""

from __future__ import annotations

import pandas as pd
import pytest

from tme.config import Design
from tme.errors import TmeInputError
from tme.immune import RANK_BASED_ANALYSIS, rank_based_measures, read_immune
from tme.plan import AnalysisPlan
from tme.samplesheet import read_samplesheet

SHEET = (
    "sample_id\tpatient_id\tarm\ttimepoint\n"
    "A1\tP1\tanakinra\tpre\nA2\tP1\tanakinra\tpost\n"
    "U1\tP2\tusual_care\tpre\nU2\tP2\tusual_care\tpost\n"
)


@pytest.fixture
def sheet(tmp_path):
    (tmp_path / "samples.tsv").write_text(SHEET)
    return read_samplesheet(tmp_path / "samples.tsv", Design())


def _immune(tmp_path, rows: list[str]) -> dict:
    (tmp_path / "ihc.tsv").write_text("sample_id\tmeasure\tvalue\tunit\n" + "\n".join(rows) + "\n")
    return {"path": str(tmp_path / "ihc.tsv")}


def test_scores_read_with_their_scales(tmp_path, sheet):
    rows = [
        "A1\tNLRP3\t2+\tintensity",
        "A2\tNLRP3\t0\tintensity",
        "U1\tNLRP3\t3\tintensity",
        "U2\tNLRP3\t1+\tintensity",
        "A1\tIL1B\t145\thscore",
        "A1\tER\t0\tallred",
        "A2\tER\t7\tallred",
        "A1\tCD68\t12.5\tpercent_positive",
        "A1\tsTILs\t13.5\t%",
    ]
    values, measures = read_immune(_immune(tmp_path, rows), sheet)
    grades = values[values["measure"] == "NLRP3"].set_index("sample_id")["value"]
    assert grades.to_dict() == {"A1": 2.0, "A2": 0.0, "U1": 3.0, "U2": 1.0}
    scales = measures.set_index("measure")
    assert scales["scale"].to_dict() == {
        "CD68": "percent",
        "ER": "allred",
        "IL1B": "hscore",
        "NLRP3": "intensity",
        "sTILs": "percent",
    }
    assert (scales["transform"] == "none").all()  # scores are analysed on their own scale
    assert scales["rank_based"].to_dict() == {"CD68": False, "ER": True, "IL1B": True, "NLRP3": True, "sTILs": False}
    assert rank_based_measures(values) == {"ER", "IL1B", "NLRP3"}
    # sTILs as given: no rounding (the TILs Working Group prefers a continuous score)
    assert values.loc[values["measure"] == "sTILs", "value"].tolist() == [13.5]


@pytest.mark.parametrize(
    "row, fragments",
    [
        ("A1\tIL1B\t310\thscore", ["line 2", "column 'value'", "310 is above the maximum of an H-score", "0-300"]),
        ("A1\tNLRP3\t2++\tintensity", ["line 2", "'2++' is not an IHC intensity grade", "0, 1+, 2+ or 3+"]),
        ("A1\tNLRP3\t4\tintensity", ["line 2", "'4' is not an IHC intensity grade"]),
        ("A1\tNLRP3\t1.5\tintensity", ["line 2", "'1.5' is not an IHC intensity grade"]),
        ("A1\tNLRP3\tweak\tintensity", ["line 2", "'weak' is not an IHC intensity grade"]),
        ("A1\tER\t9\tallred", ["line 2", "9 is above the maximum of an Allred score"]),
        ("A1\tER\t6.5\tallred", ["line 2", "6.5 is not a whole number"]),
        ("A1\tER\t1\tallred", ["line 2", "Allred score of 1 cannot occur"]),
        ("A1\tCD68\t101\tpercent_positive", ["line 2", "101 is above the maximum of a percentage"]),
        ("A1\tIL1B\t-5\thscore", ["line 2", "column 'value'"]),
    ],
)
def test_score_errors_name_line_and_fix(tmp_path, sheet, row, fragments):
    settings = _immune(tmp_path, ["U1\tIL1B\t100\thscore", row])
    with pytest.raises(TmeInputError) as info:
        read_immune(settings, sheet)
    message = str(info.value)
    assert "ihc.tsv" in message and "Fix:" in message, message
    for fragment in fragments:
        assert fragment.replace("line 2", "line 3") in message, (fragment, message)


def test_wide_table_with_score_units(tmp_path, sheet):
    (tmp_path / "wide.tsv").write_text("sample_id\tIL1B\tNLRP3\nA1\t120\t2+\nA2\t40\t1+\nU1\t90\t3+\nU2\t95\t3\n")
    settings = {"path": str(tmp_path / "wide.tsv"), "format": "wide", "units": {"IL1B": "hscore", "NLRP3": "intensity"}}
    values, _ = read_immune(settings, sheet)
    assert values.loc[values["measure"] == "NLRP3", "value"].tolist() == [2.0, 1.0, 3.0, 3.0]


def test_logit_is_refused_for_scores(tmp_path, sheet):
    settings = _immune(tmp_path, ["A1\tIL1B\t120\thscore"]) | {"transforms": {"IL1B": "logit"}}
    with pytest.raises(TmeInputError, match="logit"):
        read_immune(settings, sheet)


def test_ordinal_and_bounded_scores_default_to_a_rank_analysis():
    plan = AnalysisPlan.from_config(
        {
            "analysis_plan": {
                "endpoints": [
                    {"name": "il1b", "feature": "IL1B", "role": "primary"},
                    {"name": "cd68", "feature": "CD68", "role": "primary"},
                    {"name": "nlrp3", "feature": "NLRP3", "role": "key_secondary", "analysis": "ancova"},
                ]
            }
        }
    )
    info = pd.DataFrame(
        {
            "feature": ["IL1B", "CD68", "NLRP3", "ER"],
            "feature_type": "immune_measure",
            "family": "immune_measures",
            "rank_based": [True, False, True, True],
        }
    )
    table = plan.feature_table(info).set_index("feature")["primary_analysis"]
    assert table.to_dict() == {
        "IL1B": RANK_BASED_ANALYSIS,
        "CD68": "ancova",
        "NLRP3": "ancova",
        "ER": RANK_BASED_ANALYSIS,
    }


def test_a_primary_family_mixing_analyses_adjusts_over_each_endpoints_own_analysis(tmp_path):
    """Holm over the primary family takes the H-score's Mann–Whitney p beside the densities' ANCOVA p
    (closed form: sorted p times m, m - 1, …, running maximum)."""
    import numpy as np

    from tme.plan.apply import analyse

    rng = np.random.default_rng(1)
    rows, values = ["sample_id\tpatient_id\tarm\ttimepoint"], []
    for i in range(12):
        arm = ("usual_care", "anakinra")[i % 2]
        for tp in ("pre", "post"):
            rows.append(f"S{i}{tp}\tP{i}\t{arm}\t{tp}")
            shift = -0.8 * (arm == "anakinra" and tp == "post")
            for feature, scale in (("CD68", 1.0), ("CD163", 1.0), ("IL1B", 60.0)):
                value = scale * (rng.normal(2, 0.5) + shift) + (100 if feature == "IL1B" else 0)
                values.append((f"S{i}{tp}", f"P{i}", arm, tp, feature, value))
    (tmp_path / "samples.tsv").write_text("\n".join(rows) + "\n")
    samples = read_samplesheet(tmp_path / "samples.tsv", Design())
    values = pd.DataFrame(values, columns=["sample_id", "patient_id", "arm", "timepoint", "feature", "value"])
    info = pd.DataFrame(
        {
            "feature": ["CD68", "CD163", "IL1B"],
            "feature_type": "immune_measure",
            "family": "immune_measures",
            "rank_based": [False, False, True],
        }
    )
    endpoints = [{"name": f.lower(), "feature": f, "role": "primary"} for f in ("CD68", "CD163", "IL1B")]
    config = {
        "samples": str(tmp_path / "samples.tsv"),
        "analysis_plan": {"endpoints": endpoints, "multiplicity": {"primary": "holm"}},
        "statistics": {"confidence_level": 0.95, "n_bootstrap": 0},
        "seed": 1,
    }
    between = analyse(config, values, info, samples)["between"]
    primary = between[between["primary_analysis"]].set_index("feature")
    assert primary["analysis"].to_dict() == {"CD68": "ancova", "CD163": "ancova", "IL1B": "mann_whitney_change"}
    p = primary["p"].sort_values()
    holm = np.maximum.accumulate(np.minimum(1, p.to_numpy() * [3, 2, 1]))
    assert np.allclose(primary.loc[p.index, "p_adjusted"], holm)
    other = between[~between["primary_analysis"] & (between["analysis"] == "ancova")]
    assert list(other["feature"]) == ["IL1B"] and other["p_adjusted"].iloc[0] == pytest.approx(other["p"].iloc[0])
