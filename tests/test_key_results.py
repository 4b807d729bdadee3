"""The report's first screen, table pages and warnings (tme.report.key_results, tables, caveats)."""

from __future__ import annotations

import base64
import gzip
import json
import re

import numpy as np
import pandas as pd
import pytest

from tme.report.caveats import collect_warnings, console_line, endpoint_warnings, flow_warnings, mode_warnings
from tme.report.key_results import (
    Trial,
    direction,
    key_results_html,
    key_results_page,
    key_results_table,
    p_text,
    with_ci,
)
from tme.report.key_results_pdf import table_page, write_key_results_pdf
from tme.report.tables import TABLES, category_slug, display_values, tables_page

HOSTILE = "<script>alert(1)</script> & \"q\" 'x'"
TRIAL = Trial("usual_care", "anakinra", "pre", "post", 0.95, title="OZM-034 SAP")


def _stats_row(feature, role, estimate, p_adjusted, **extra):
    row = {
        "feature": feature,
        "display_name": extra.pop("display_name", ""),
        "role": role,
        "analysis": extra.pop("analysis", "ancova"),
        "population": extra.pop("population", "itt"),
        "n_reference_arm": 20,
        "n_treatment_arm": 19,
        "adjusted_change_reference": 0.1,
        "adjusted_change_reference_ci_low": -0.1,
        "adjusted_change_reference_ci_high": 0.3,
        "adjusted_change_treatment": 0.1 + estimate,
        "adjusted_change_treatment_ci_low": estimate - 0.2,
        "adjusted_change_treatment_ci_high": estimate + 0.4,
        "estimate": estimate,
        "ci_low": estimate - 0.3,
        "ci_high": estimate + 0.3,
        "unit": "",
        "ratio": np.nan,
        "ratio_ci_low": np.nan,
        "ratio_ci_high": np.nan,
        "std_effect": estimate / 0.5,
        "std_effect_ci_low": (estimate - 0.3) / 0.5,
        "std_effect_ci_high": (estimate + 0.3) / 0.5,
        "p_adjusted": p_adjusted,
        "multiplicity": "holm",
        "note": "",
        "n_pairs": 39,
    }
    return row | extra


@pytest.fixture
def stats():
    rows = [
        _stats_row("IL1|singscore", "primary", -0.5, 0.004, display_name="IL-1 genes"),
        _stats_row("CD68", "primary", -0.2, 0.049, display_name="CD68+ TAMs", ratio=0.82, ratio_ci_low=0.7),
        _stats_row("NK", "key_secondary", 0.3, 0.051, multiplicity="hierarchical"),
        _stats_row("X", "exploratory", 1.0, 0.001),
        _stats_row("IL1|singscore", "primary", -0.6, 0.001, analysis="mixed_model"),
        _stats_row("IL1|singscore", "primary", -0.6, 0.001, population="per_protocol"),
    ]
    rows[1]["ratio_ci_high"] = 0.96
    return pd.DataFrame(rows)


def test_key_results_rows_are_the_confirmatory_itt_primary_analysis_in_plan_order(stats):
    table = key_results_table(stats, TRIAL)
    assert table["Endpoint"].tolist() == ["IL-1 genes", "CD68+ TAMs", "NK"]
    assert table["Role"].tolist() == ["primary", "primary", "key secondary"]
    assert table["n usual_care"].tolist() == ["20", "20", "20"] and table["n anakinra"].iloc[0] == "19"
    effect = "Effect, anakinra vs usual_care (95% CI)"
    assert table[effect].iloc[0] == "−0.500 (−0.800 to −0.200)"
    assert table[effect].iloc[1] == "ratio 0.82 (0.70 to 0.96)"  # log-scale measure: back-transformed
    assert table["Standardised effect (95% CI)"].iloc[0] == "−1.00 (−1.60 to −0.40)"
    assert table["Adjusted p"].tolist() == ["0.004 (Holm)", "0.049 (Holm)", "0.051 (fixed sequence)"]
    assert table["Direction"].tolist() == [
        "lower with anakinra than usual_care",
        "lower with anakinra than usual_care",
        "no clear difference",
    ]


def test_direction_uses_one_minus_the_confidence_level():
    row = pd.Series({"estimate": 0.4, "p_adjusted": 0.06})
    assert direction(row, TRIAL) == "no clear difference"
    at_90 = Trial("usual_care", "anakinra", "pre", "post", 0.90)
    assert direction(row, at_90) == "higher with anakinra than usual_care"
    single = Trial(None, "anakinra", "pre", "post", 0.90)
    assert direction(row, single) == "increased from pre to post"
    assert direction(pd.Series({"estimate": np.nan, "note": "1 patient"}), TRIAL) == "not estimable (1 patient)"


def test_numbers_and_p_values_read_as_written():
    assert with_ci(-0.08891, -0.1178, -0.06) == "−0.0889 (−0.1178 to −0.0600)"
    assert with_ci(-189.4, -251.2, -127.0) == "−189 (−251 to −127)"
    assert p_text(0.0004, "holm") == "< 0.001 (Holm)"
    assert p_text(0.0123, "bh") == "0.012 (Benjamini–Hochberg)"
    assert p_text(0.5, "none") == "0.50 (unadjusted)"
    assert p_text(np.nan, "holm") == "NA"


def test_blinded_key_results_read_no_arm(stats):
    blinded = Trial(None, "both_arms", "pre", "post", 0.95, blinded=True)
    table = key_results_table(stats, blinded)
    assert not any("usual_care" in c or "anakinra" in c or c == "Adjusted p" for c in table.columns)
    assert set(table["Direction"]) == {"pooled over arms (blinded)"}


def test_landing_block_escapes_every_user_string(stats):
    stats.loc[0, "display_name"] = HOSTILE
    trial = Trial("usual_care", "anakinra", "pre", "post", 0.95, title=HOSTILE)
    warnings = pd.DataFrame({"source": ["rule x"], "warning": [HOSTILE]})
    block = key_results_html(key_results_table(stats, trial), trial, warnings=warnings)
    assert "<script>alert" not in block and block.count("&lt;script&gt;alert(1)") == 3
    page = key_results_page(block)
    assert "default-src 'none'" in page and "<script" not in page


def test_key_results_pdf_is_byte_identical(tmp_path, stats):
    table = key_results_table(stats, TRIAL)
    paths = [tmp_path / "a.pdf", tmp_path / "b.pdf"]
    for path in paths:
        write_key_results_pdf(path, [table_page(table, TRIAL, n_warnings=3)])
    assert paths[0].read_bytes() == paths[1].read_bytes() and paths[0].read_bytes().startswith(b"%PDF")


def _unpack(text: str) -> list[list[str]]:
    return json.loads(gzip.decompress(base64.b64decode(text)))


def test_table_page_embeds_every_row_packed_and_escaped():
    frame = pd.DataFrame(
        {
            "feature": [HOSTILE, "b", "c"],
            "n": pd.array([3, 4, None], dtype="Int64"),
            "estimate": [0.123456, -1234567.0, np.nan],
            "p": [1e-7, 0.5, 0.012345],
        }
    )
    page = tables_page(HOSTILE, [(TABLES[0], frame)])
    assert "<script>alert" not in page  # the title escaped; rows are packed (rendered as text by DataTables)
    packed_rows = re.search(r'id="table-1-data">([^<]+)</script>', page).group(1)
    assert _unpack(packed_rows) == [
        [HOSTILE, "3", "0.1235", "1e-07"],
        ["b", "4", "-1234567", "0.5"],
        ["c", "", "", "0.0123"],
    ]
    assert "DataTable.render.text()" in page and "3 rows × 4 columns" in page
    assert tables_page("t", [(TABLES[0], frame)]) == tables_page("t", [(TABLES[0], frame)])


def test_display_values_and_slugs():
    frame = pd.DataFrame({"flag": [True, False], "x": [np.inf, -np.inf]})
    assert display_values(frame) == [["True", "Inf"], ["False", "-Inf"]]
    assert category_slug("Cohort & QC") == "cohort_qc" and category_slug("Genes & pathways") == "genes_pathways"


def test_warnings_name_samples_endpoints_and_modes(tmp_path):
    flow = pd.DataFrame(
        {
            "modality": ["expression", "expression", "expression"],
            "arm": ["usual_care", "usual_care", "anakinra"],
            "step": ["excluded", "excluded", "missing"],
            "reason": ["RNA failed", "RNA failed", "no sample"],
            "sample_id": ["S1", "S2", ""],
            "patient_id": ["P1", "P2", "P3"],
            "timepoint": ["post", "post", "post"],
        }
    )
    assert flow_warnings(flow) == [
        ("sample flow: expression", "2 usual_care samples excluded (RNA failed): S1 (post), S2 (post)"),
        ("sample flow: expression", "1 anakinra biopsy missing (no sample): P3 (post)"),
    ]
    endpoints = pd.DataFrame(
        {"feature": ["CD68", "X"], "display_name": ["CD68+ TAMs", ""], "role": ["primary", None], "arm": ["a", "a"]}
        | {"paired": [20, 20], "analysed": [18, 18]}
    )
    assert endpoint_warnings(endpoints) == [
        ("analysis", "CD68+ TAMs: a analysed 18 of 20 patients with both biopsies measured")
    ]
    rule = tmp_path / "de.tsv"
    pd.DataFrame({"rule": ["differential_expression"], "warning": ["4 patients dropped"]}).to_csv(
        rule, sep="\t", index=False
    )
    table = collect_warnings(
        [rule, rule], mode_warnings(blinded=True, single_arm=False, pseudonymised=True), flow, endpoints
    )
    assert len(table) == 2 + 2 + 1 + 1  # modes, flow, endpoint, the rule's warning once
    assert console_line(table) == (
        "tme: 6 warnings changed what was analysed (2 from run, 2 from sample flow, 1 from analysis, "
        "1 from rule differential_expression): see results/qc/warnings.tsv"
    )
    assert console_line(table.iloc[0:0]) == "tme: no warnings changed what was analysed."
