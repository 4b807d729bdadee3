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
    """The bundled example with its committed analysis plan (config/config.yaml), without gene level."""
    import yaml

    workdir = tmp_path_factory.mktemp("example")
    config = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    config["samples"] = str(REPO / config["samples"])
    for section in ("expression", "immune"):
        config[section]["path"] = str(REPO / config[section]["path"])
    config["statistics"] = {"differential_expression": False, "n_bootstrap": 200}
    config.pop("planning", None)  # planned power is tested on its own (test_plan_workflow, test_readme)
    proc = run_workflow(workdir, config)
    assert proc.returncode == 0, proc.stderr[-3000:]
    effects = pd.read_csv(workdir / "results" / "tables" / "effects_between_arms.tsv", sep="\t")
    return effects[(effects["analysis"] == "ancova") & (effects["population"] == "itt")].set_index("feature")


def affected_signatures() -> set[str]:
    truth = pd.read_csv(REPO / "config" / "example" / "truth.tsv", sep="\t")
    planted = set(truth.loc[(truth["feature_type"] == "gene") & (truth["between_arm_difference"] != 0), "feature"])
    return {name for name, sig in load_library().items() if sum(g in planted for g in sig.all_genes) >= 3}


def test_planted_primary_effects_are_found(example_effects):
    """The plan's primary family (Holm) finds the planted IL-1 / inflammation effect and not the null NK
    endpoint; the key-secondary fixed sequence (IL1B expression first) rejects its first endpoint."""
    primary = example_effects[example_effects["family"] == "primary"]
    assert set(primary["multiplicity"]) == {"holm"} and len(primary) == 5
    for feature in ("TME_IL1_INDUCED|singscore", "HALLMARK_INFLAMMATORY_RESPONSE|ssgsea"):
        assert primary.loc[feature, "p_adjusted"] < 0.05 and primary.loc[feature, "estimate"] < 0, feature
    assert primary.loc["CD56", "p_adjusted"] > 0.05  # NK density: not planted between arms
    key = example_effects[example_effects["family"] == "key_secondary"]
    assert key.index[0] == "gene|IL1B" and key.loc["gene|IL1B", "p_adjusted"] < 0.05
    assert (key["p_adjusted"].diff().dropna() >= 0).all()  # fixed sequence: adjusted p never decreases
    # neutrophils (CD66b density, planted -0.55) are found in the exploratory family
    assert example_effects.loc["CD66b", "p_adjusted"] < 0.05


def test_false_discovery_proportion(example_effects):
    signatures = example_effects[example_effects["family"] == "exploratory_signatures"]
    significant = signatures[signatures["p_adjusted"] < 0.05]
    affected = affected_signatures()
    false = [f for f in significant.index if f.split("|")[0] not in affected]
    fdp = len(false) / max(len(significant), 1)
    print(f"\nexample: {len(significant)} signatures at q < 0.05, false-discovery proportion {fdp:.3f} ({false})")
    assert len(significant) >= 6 and fdp <= 0.2
