"""Signature coverage rule: a signature × method below scoring.min_genes / min_fraction is not scored,
never reaches a table or a multiplicity family, and an endpoint naming one is a validation error."""

from __future__ import annotations

import anndata as ad
import numpy as np
import pandas as pd
import pytest

from tme.errors import TmeInputError
from tme.geneset import Signature
from tme.inputs import check_endpoint_coverage
from tme.signature_scores import feature_coverage, score_signatures, signature_coverage
from tme.signatures import load_library

PANEL = [f"G{i}" for i in range(40)] + ["GZMA", "PRF1", "STAT1", "HK1"]
SIGNATURES = {
    "GEP_LIKE": Signature("GEP_LIKE", tuple(["STAT1"] + [f"X{i}" for i in range(17)])),  # 1 of 18
    "CYT_LIKE": Signature("CYT_LIKE", ("GZMA", "PRF1")),  # 2 of 2: complete
    "HALF": Signature("HALF", ("G0", "G1", "X1", "X2")),  # 2 of 4: half, but under 3 genes
    "SIX_OF_TEN": Signature("SIX_OF_TEN", tuple([f"G{i}" for i in range(2, 8)] + [f"X{i}" for i in range(4)])),
    "WEIGHTED": Signature(
        "WEIGHTED",
        tuple(f"G{i}" for i in range(10, 18)),
        weights={f"G{i}": 0.1 for i in range(10, 18)},
        housekeeping=("HK1", "HK2", "HK3"),  # 1 of 3 housekeepers
    ),
}
PLAN = [
    ("GEP_LIKE", "mean"),
    ("CYT_LIKE", "mean"),
    ("HALF", "mean"),
    ("SIX_OF_TEN", "singscore"),
    ("WEIGHTED", "weighted"),
]


def test_rule_with_its_defaults():
    table = signature_coverage(PANEL, SIGNATURES, PLAN).set_index("signature")
    assert table["scored"].to_dict() == {
        "GEP_LIKE": False,
        "CYT_LIKE": True,
        "HALF": False,
        "SIX_OF_TEN": True,
        "WEIGHTED": False,
    }
    assert table["coverage"].to_dict() == {
        "GEP_LIKE": "1/18",
        "CYT_LIKE": "2/2",
        "HALF": "2/4",
        "SIX_OF_TEN": "6/10",
        "WEIGHTED": "8/8; housekeepers 1/3",
    }
    assert table.at["GEP_LIKE", "reason"] == (
        "not scored: 1 of its 18 genes in the data (scoring.min_genes 3, scoring.min_fraction 0.5)"
    )
    assert table.at["WEIGHTED", "reason"] == "not scored: 1 of its 3 housekeepers in the data"
    assert list(table.index) == [s for s, _ in PLAN]  # plan order


def test_rule_thresholds_are_settings():
    table = signature_coverage(PANEL, SIGNATURES, PLAN, min_genes=2, min_fraction=0.3).set_index("signature")
    assert table["scored"].to_dict() == {
        "GEP_LIKE": False,
        "CYT_LIKE": True,
        "HALF": True,
        "SIX_OF_TEN": True,
        "WEIGHTED": True,
    }


def test_unscored_pairs_are_absent_from_the_scores():
    rng = np.random.default_rng(0)
    adata = ad.AnnData(
        X=rng.normal(6, 1, size=(6, len(PANEL))),
        obs=pd.DataFrame(
            {"patient_id": ["P1", "P1", "P2", "P2", "P3", "P3"], "arm": "anakinra", "timepoint": ["pre", "post"] * 3},
            index=[f"S{i}" for i in range(6)],
        ),
        var=pd.DataFrame(index=PANEL),
    )
    scores, cover = score_signatures(adata, SIGNATURES, PLAN)
    assert set(zip(scores["signature"], scores["method"])) == {("CYT_LIKE", "mean"), ("SIX_OF_TEN", "singscore")}
    assert len(cover) == len(PLAN) and cover["scored"].sum() == 2
    nothing, cover = score_signatures(adata, SIGNATURES, PLAN[:1])
    assert nothing.empty and not cover["scored"].any()


def test_estimate_composites_take_both_signatures_coverage():
    cover = pd.DataFrame(
        {
            "signature": ["ESTIMATE_StromalSignature", "ESTIMATE_ImmuneSignature"],
            "method": "estimate",
            "coverage": ["140/141", "141/141"],
        }
    )
    assert feature_coverage(cover)["ESTIMATE_Score|estimate"] == "140/141 + 141/141"


def test_endpoint_below_the_rule_is_a_validation_error():
    library = load_library(["ayers_gep", "danaher2017"])
    plan = [("AYERS_TCELL_INFLAMED_GEP_18", "weighted"), ("DANAHER2017_Neutrophils", "mean")]
    cover = signature_coverage(
        ["STAT1", "CEACAM3"] + list(library["AYERS_TCELL_INFLAMED_GEP_18"].housekeeping[:1]), library, plan
    )
    endpoint = {"name": "gep", "feature": "AYERS_TCELL_INFLAMED_GEP_18|weighted", "role": "primary"}
    with pytest.raises(TmeInputError) as info:
        check_endpoint_coverage({"analysis_plan": {"endpoints": [endpoint]}}, cover)
    message = str(info.value)
    for fragment in (
        "analysis_plan.endpoints",
        "'gep'",
        "covers 1/18; housekeepers 1/11",
        "would not be scored",
        "cannot silently vanish",
        "scoring.min_fraction",
        "Fix:",
    ):
        assert fragment in message, (fragment, message)
    check_endpoint_coverage({"analysis_plan": {"endpoints": []}}, cover)  # no endpoint, no error
