"""The bundled example analysed end to end: the planted truth is found, the rest stays mostly null.

Truth (config/example/truth.tsv, tme.simulate): anakinra lowers the IL-1 inflammation (−1.0 log2),
TAM (−0.6) and neutrophil (−0.8) programs; T-cell and proliferation drift equally in both arms; NK
and every other gene are unchanged. A signature's score truly changes between arms when some of its
genes do: it counts as *affected* when at least 3 of its genes belong to a program with a
between-arm difference (fewer move a score by less than the noise).
"""

from __future__ import annotations

import pandas as pd
import pytest

from tme.signatures import load_library

from conftest import REPO, run_workflow

pytestmark = pytest.mark.workflow


@pytest.fixture(scope="module")
def example_effects(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("example")
    example = REPO / "config" / "example"
    config = {
        "samples": str(example / "samples.tsv"),
        "expression": {"path": str(example / "salmon.merged.gene_counts.tsv.gz"), "format": "nfcore_salmon_counts"},
        "immune": {"path": str(example / "immune.tsv")},
        "statistics": {"differential_expression": False, "n_bootstrap": 200},
    }
    proc = run_workflow(workdir, config)
    assert proc.returncode == 0, proc.stderr[-3000:]
    effects = pd.read_csv(workdir / "results" / "tables" / "effects_between_arms.tsv", sep="\t")
    return effects[effects["analysis"] == "ancova"].set_index("feature")


def affected_signatures() -> set[str]:
    truth = pd.read_csv(REPO / "config" / "example" / "truth.tsv", sep="\t")
    planted = set(truth.loc[(truth["feature_type"] == "gene") & (truth["between_arm_difference"] != 0), "feature"])
    return {name for name, sig in load_library().items() if sum(g in planted for g in sig.all_genes) >= 3}


def test_planted_primary_effects_are_found(example_effects):
    primary = example_effects[example_effects["family"] == "primary"]
    for feature in (
        "TME_IL1_INDUCED|singscore",
        "HALLMARK_INFLAMMATORY_RESPONSE|ssgsea",
        "DANAHER2017_Macrophages|mean",
        "DANAHER2017_Neutrophils|mean",
    ):
        assert primary.loc[feature, "p_adjusted"] < 0.05 and primary.loc[feature, "estimate"] < 0, feature
    # NK and cytolytic activity were not planted between arms
    assert primary.loc["DANAHER2017_NK_CD56dim_cells|mean", "p_adjusted"] > 0.05
    assert primary.loc["CYT_ROONEY2015|cyt", "p_adjusted"] > 0.05


def test_false_discovery_proportion(example_effects):
    signatures = example_effects[example_effects["feature_type"] == "signature"]
    significant = signatures[signatures["p_adjusted"] < 0.05]
    affected = affected_signatures()
    false = [f for f in significant.index if f.split("|")[0] not in affected]
    fdp = len(false) / max(len(significant), 1)
    print(f"\nexample: {len(significant)} signatures at q < 0.05, false-discovery proportion {fdp:.3f} ({false})")
    assert len(significant) >= 6 and fdp <= 0.2
