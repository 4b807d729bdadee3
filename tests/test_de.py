"""tme.stats.de: nested paired DESeq2 design via pydeseq2, checked against R DESeq2 1.38.3.

Reference: ../shared/reference/fixtures/deseq2_r/ (R 4.2.2, DESeq2 1.38.3; make_fixtures.R).
pydeseq2 is a reimplementation, so the tolerance is agreement, not identity: interaction log2FC
Pearson ≥ 0.99 and ≥ 80 % of R's padj < 0.05 genes also found by tme; the same for the within-arm
coefficients of the nested model (R: ``results(dds, name = "arm<A>.timepointpost")``).
"""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tme.errors import TmeInputError, TmeInputWarning
from tme.stats import Design
from tme.stats.de import (
    RESULT_COLUMNS,
    check_design_rank,
    differential_expression,
    nested_design_matrix,
    paired_samples,
)

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
FIXTURES = SHARED / "reference" / "fixtures" / "deseq2_r"
needs_fixtures = pytest.mark.skipif(
    not (FIXTURES / "counts.tsv").exists(),
    reason=f"DESeq2 reference fixtures not found at {FIXTURES} (shared folder absent)",
)


@pytest.fixture(scope="module")
def r_inputs():
    counts = pd.read_csv(FIXTURES / "counts.tsv", sep="\t", index_col=0)
    samples = pd.read_csv(FIXTURES / "samples.tsv", sep="\t", index_col=0)
    return counts, samples


@pytest.fixture(scope="module")
def results(r_inputs):
    return differential_expression(*r_inputs, Design(), min_count=0)  # R fixture: no pre-filter


def _compare(ours, name):
    ref = pd.read_csv(FIXTURES / name, sep="\t").set_index("gene")
    return ref, ours.set_index("gene").loc[ref.index]


@needs_fixtures
def test_interaction_agrees_with_r_deseq2(results):
    ref, ours = _compare(results["de_interaction"], "interaction.tsv")
    assert list(results["de_interaction"].columns) == RESULT_COLUMNS
    assert np.corrcoef(ref["log2FoldChange"], ours["log2FoldChange"])[0, 1] >= 0.99
    r_hits = set(ref.index[ref["padj"] < 0.05])
    ours_hits = set(ours.index[ours["padj"] < 0.05])
    assert len(r_hits) == 28
    assert len(r_hits & ours_hits) >= 0.8 * len(r_hits)
    # the planted down genes come out negative
    truth = pd.read_csv(FIXTURES / "truth.tsv", sep="\t").set_index("gene")
    planted = truth.index[truth["planted_interaction_log2fc"] < 0]
    assert (ours.loc[ours.index.isin(planted), "log2FoldChange"].median()) < -0.8


@needs_fixtures
@pytest.mark.parametrize("arm", ["anakinra", "usual_care"])
def test_within_arm_agrees_with_r_deseq2(results, arm):
    ref, ours = _compare(results[f"de_within_{arm}"], f"within_{arm}.tsv")
    assert np.corrcoef(ref["log2FoldChange"], ours["log2FoldChange"])[0, 1] >= 0.99
    r_hits = set(ref.index[ref["padj"] < 0.05])
    assert len(r_hits & set(ours.index[ours["padj"] < 0.05])) >= 0.8 * len(r_hits)


def _samples(patients_per_arm=3, drop=()):
    rows = []
    for arm in ("usual_care", "anakinra"):
        for i in range(patients_per_arm):
            for tp in ("pre", "post"):
                pid = f"{arm[0]}{i}"
                if (pid, tp) not in drop:
                    rows.append({"sample_id": f"{pid}_{tp}", "patient_id": pid, "arm": arm, "timepoint": tp})
    return pd.DataFrame(rows).set_index("sample_id")


def test_unpaired_patients_are_dropped_with_a_warning():
    with pytest.warns(TmeInputWarning, match="1 patient.*dropped.*a2"):
        paired = paired_samples(_samples(drop=[("a2", "post")]), Design())
    assert "a2" not in set(paired["patient_id"])
    matrix = nested_design_matrix(paired, Design())
    # intercept + arm + (3-1) + (2-1) patients + 2 post columns
    assert matrix.shape == (10, 7)
    check_design_rank(matrix, paired, "nested")


def test_arm_without_pairs_is_explained_before_fitting():
    samples = _samples(drop=[(f"a{i}", "post") for i in range(3)])
    with pytest.warns(TmeInputWarning, match="3 patient"):
        paired = paired_samples(samples, Design())
    matrix = nested_design_matrix(paired, Design())
    with pytest.raises(TmeInputError, match="'arm_anakinra' is all zero.*'arm_anakinra:timepoint_post' is all zero"):
        check_design_rank(matrix, paired, "nested between-arm")


def test_collinear_column_is_named():
    paired = paired_samples(_samples(), Design())
    matrix = nested_design_matrix(paired, Design())
    matrix["batch"] = matrix["arm_anakinra"]
    with pytest.raises(TmeInputError, match="'batch' is a combination of the columns before it"):
        check_design_rank(matrix, paired, "nested between-arm")


def test_patient_in_both_arms_is_an_error():
    samples = _samples()
    samples.loc["a0_post", "patient_id"] = "u0"
    with pytest.raises(TmeInputError, match="u0 have samples in both arms"):
        paired_samples(samples, Design())


def test_one_pair_per_arm_is_saturated():
    samples = _samples(patients_per_arm=1)
    paired = paired_samples(samples, Design())
    with pytest.raises(TmeInputError, match="no residual degrees of freedom"):
        check_design_rank(nested_design_matrix(paired, Design()), paired, "nested between-arm")


def test_categorical_sample_table_from_anndata_obs():
    samples = _samples().astype("category")
    samples["patient_id"] = samples["patient_id"].cat.add_categories(["unused"])
    paired = paired_samples(samples, Design())
    assert len(paired) == 12 and paired["patient_n"].max() == 3


def test_prefilter_drops_genes_without_reads(r_inputs):
    """DESeq2-vignette pre-filter: a gene with < 10 reads in fewer samples than the smallest group is not tested."""
    counts, samples = r_inputs
    counts = counts.iloc[:200].copy()
    counts.loc["GENE0000"] = 0
    counts.loc["GENE0001"] = 0
    counts.loc["GENE0001", counts.columns[:6]] = 50  # 6 samples = smallest arm x timepoint group
    genes = set(differential_expression(counts, samples, Design())["de_interaction"]["gene"])
    assert "GENE0000" not in genes and "GENE0001" in genes


def test_housekeepers_as_control_genes_give_the_size_factors():
    """A panel where every endpoint gene doubles after treatment and five housekeepers stay put: with the
    housekeepers as control genes (DESeq2 ``controlGenes``) the interaction log2FC is the planted +1 and the
    housekeepers' 0; the all-genes median of ratios absorbs the shift and reads it as a housekeeper change."""
    rng = np.random.default_rng(3)
    samples = _samples(patients_per_arm=4)
    genes = [f"G{i}" for i in range(40)] + [f"HK{i}" for i in range(5)]
    base = rng.uniform(200, 2000, size=len(genes))
    treated_post = ((samples["arm"] == "anakinra") & (samples["timepoint"] == "post")).to_numpy()
    mean = np.outer(base, np.where(treated_post, 2.0, 1.0))
    mean[-5:] = base[-5:, None]  # housekeepers unchanged
    counts = pd.DataFrame(rng.poisson(mean * rng.uniform(0.7, 1.4, size=len(samples))), genes, samples.index)
    with_hk = differential_expression(counts, samples, Design(), control_genes=genes[-5:])["de_interaction"]
    lfc = with_hk.set_index("gene")["log2FoldChange"]
    assert abs(lfc[genes[:40]].median() - 1.0) < 0.1 and abs(lfc[genes[-5:]].median()) < 0.1
    default = differential_expression(counts, samples, Design())["de_interaction"].set_index("gene")["log2FoldChange"]
    assert abs(default[genes[:40]].median()) < 0.1 and default[genes[-5:]].median() < -0.8
