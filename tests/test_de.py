"""tme.stats.de: the nested paired DESeq2 design, checked against R DESeq2 1.38.3.

References (R 4.2.2, DESeq2 1.38.3), each made by an R script committed beside it:

* ../shared/reference/fixtures/deseq2_r/ — 1,500 simulated genes, 12 patients, planted
  interaction (``make_fixtures.R``; formula design, ``results()`` at R's default alpha 0.1);
* tests/fixtures/de/example/ — 2,147 genes of the bundled example cohort (44 patients, 4 without
  a post sample, unequal arms) including awkward rows: a whole arm x timepoint without reads, a
  patient without reads, an outlier, Poisson and extremely overdispersed counts, counts at and
  just below the pre-filter edge, constant counts, identical rows (``make_input.py``,
  ``deseq2_paired.R``; alpha 0.05);
* tests/fixtures/de/local_trend/ — a cohort where the parametric dispersion trend fails and
  DESeq2 substitutes a local fit (``simulate_local_trend.R``).

The bars: log2 fold change Pearson >= 0.999 and the same padj < 0.05 set +- 1 gene for every table;
on the parametric-trend fixtures also log2 fold changes within 1e-3 and p-values within 1 % (tme
replicates DESeq2's algorithm, so the residual differences are its convergence tolerances).
"""

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tme.errors import TmeAnalysisWarning, TmeInputError, TmeInputWarning
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
OWN = Path(__file__).resolve().parent / "fixtures" / "de"
TABLES = {
    "de_interaction": "interaction",
    "de_within_anakinra": "within_anakinra",
    "de_within_usual_care": "within_usual_care",
}
needs_fixtures = pytest.mark.skipif(
    not (FIXTURES / "counts.tsv").exists(),
    reason=f"DESeq2 reference fixtures not found at {FIXTURES} (shared folder absent)",
)


def _run(folder: Path, counts_name: str, **kwargs) -> dict[str, pd.DataFrame]:
    counts = pd.read_csv(folder / counts_name, sep="\t", index_col=0)
    samples = pd.read_csv(folder / "samples.tsv", sep="\t", index_col=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TmeInputWarning)  # unpaired patients
        warnings.simplefilter("ignore", TmeAnalysisWarning)  # trend fallback
        return differential_expression(counts, samples, Design(), **kwargs)


def _r_table(folder: Path, table: str) -> pd.DataFrame:
    """One table of an own fixture (wide results.tsv.gz written by deseq2_paired.R)."""
    wide = pd.read_csv(folder / "results.tsv.gz", sep="\t", index_col="gene")
    return (
        wide[[c for c in wide.columns if c.startswith(table + ".")]]
        .rename(columns=lambda c: c.split(".", 1)[1])
        .assign(baseMean=wide["baseMean"])
    )


def _check_parity(ours: pd.DataFrame, ref: pd.DataFrame, lfc_tol: float | None, p_rel: float | None) -> None:
    assert list(ours.columns) == RESULT_COLUMNS
    ours = ours.set_index("gene")
    assert list(ours.index) == list(ref.index)  # same genes kept by the pre-filter, same order
    tested = ref["log2FoldChange"].notna()
    assert np.corrcoef(ref.loc[tested, "log2FoldChange"], ours.loc[tested, "log2FoldChange"])[0, 1] >= 0.999
    r_hits, our_hits = set(ref.index[ref["padj"] < 0.05]), set(ours.index[ours["padj"] < 0.05])
    assert len(r_hits ^ our_hits) <= 1, (r_hits - our_hits, our_hits - r_hits)
    assert (ref["padj"].isna() == ours["padj"].isna()).mean() >= 0.999  # same independent filter
    if lfc_tol is not None:
        assert np.allclose(ours["baseMean"], ref["baseMean"], rtol=1e-9)
        assert np.abs(ours["log2FoldChange"] - ref["log2FoldChange"]).max() <= lfc_tol
        assert np.allclose(ours["lfcSE"], ref["lfcSE"], rtol=1e-4)
        assert np.allclose(ours["pvalue"], ref["pvalue"], rtol=p_rel, atol=1e-300)


@pytest.fixture(scope="module")
def r_inputs():
    counts = pd.read_csv(FIXTURES / "counts.tsv", sep="\t", index_col=0)
    samples = pd.read_csv(FIXTURES / "samples.tsv", sep="\t", index_col=0)
    return counts, samples


@pytest.fixture(scope="module")
def results(r_inputs):
    # the shared fixture: no pre-filter, results() at R's default alpha 0.1
    return differential_expression(*r_inputs, Design(), min_count=0, alpha=0.1)


@needs_fixtures
@pytest.mark.parametrize("table", TABLES)
def test_shared_fixture_agrees_with_r_deseq2(results, table):
    ref = pd.read_csv(FIXTURES / f"{TABLES[table]}.tsv", sep="\t").set_index("gene")
    _check_parity(results[table], ref, lfc_tol=1e-3, p_rel=0.01)


@needs_fixtures
def test_planted_interaction_is_found(results):
    ref = pd.read_csv(FIXTURES / "interaction.tsv", sep="\t").set_index("gene")
    assert (ref["padj"] < 0.05).sum() == 28
    truth = pd.read_csv(FIXTURES / "truth.tsv", sep="\t").set_index("gene")
    planted = truth.index[truth["planted_interaction_log2fc"] < 0]
    ours = results["de_interaction"].set_index("gene")
    assert ours.loc[ours.index.isin(planted), "log2FoldChange"].median() < -0.8


@pytest.fixture(scope="module")
def example_results():
    return _run(OWN / "example", "counts.tsv.gz")


@pytest.mark.parametrize("table", TABLES)
def test_example_cohort_with_awkward_genes_agrees_with_r_deseq2(example_results, table):
    _check_parity(example_results[table], _r_table(OWN / "example", TABLES[table]), lfc_tol=1e-3, p_rel=0.01)


def test_awkward_genes(example_results):
    """Each awkward row as R has it: kept or dropped by the pre-filter, finite, ties identical."""
    ours = example_results["de_interaction"].set_index("gene")
    ref = _r_table(OWN / "example", "interaction")
    assert "AWK_PREFILTER_EDGE" in ours.index and "AWK_BELOW_PREFILTER" not in ours.index
    awkward = [g for g in ref.index if g.startswith("AWK_")]
    assert len(awkward) == 9
    for column, tol in (("log2FoldChange", 1e-3), ("lfcSE", 1e-3), ("pvalue", 1e-3)):
        assert np.allclose(ours.loc[awkward, column], ref.loc[awkward, column], rtol=tol), column
    assert ours.loc["AWK_ZERO_POST_ANAKINRA", "log2FoldChange"] < -8  # bounded by DESeq2's mean floor
    assert ours.loc["AWK_TIE_A"].equals(ours.loc["AWK_TIE_B"])


def test_local_trend_fallback_warns_and_stays_close_to_r():
    """DESeq2's locfit trend is approximated (see tme.stats.deseq2.local_trend): looser bars."""
    folder = OWN / "local_trend"
    counts = pd.read_csv(folder / "counts.tsv.gz", sep="\t", index_col=0)
    samples = pd.read_csv(folder / "samples.tsv", sep="\t", index_col=0)
    with pytest.warns(TmeAnalysisWarning, match="local regression trend"):
        tables = differential_expression(counts, samples, Design())
    for table, name in TABLES.items():
        ref = _r_table(folder, name)
        _check_parity(tables[table], ref, lfc_tol=None, p_rel=None)
        ours = tables[table].set_index("gene")
        assert np.abs(np.log10(ours["pvalue"]) - np.log10(ref["pvalue"])).max() < 0.1


def test_same_tables_for_any_number_of_threads(example_results):
    two = _run(OWN / "example", "counts.tsv.gz", n_cpus=2)
    for table in TABLES:
        pd.testing.assert_frame_equal(example_results[table], two[table], check_exact=True)


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


# Single-arm window study (design.reference_arm None): ~ patient + timepoint against R DESeq2 on
# tests/fixtures/de_single_arm (make_fixtures.R: 300 genes x 8 patients, planted changes, low
# counts, a gene without reads after, before, at all, one read, identical rows). tme and R differ
# only by DESeq2's convergence tolerances: measured max |diff| 3e-5 log2FC (a low-count gene),
# 1.2e-5 relative lfcSE, 6e-5 relative p; the bars below are 3-30x those, tighter than the
# two-arm bars above.
SINGLE_ARM = Path(__file__).resolve().parent / "fixtures" / "de_single_arm"


@pytest.fixture(scope="module")
def single_arm_results():
    counts = pd.read_csv(SINGLE_ARM / "counts.tsv.gz", sep="\t", index_col=0)
    samples = pd.read_csv(SINGLE_ARM / "samples.tsv", sep="\t", index_col=0)
    return differential_expression(counts, samples, Design(reference_arm=None), min_count=0)


def test_single_arm_has_only_the_within_arm_table(single_arm_results):
    assert list(single_arm_results) == ["de_within_anakinra"]


def test_single_arm_agrees_with_r_deseq2(single_arm_results):
    ours = single_arm_results["de_within_anakinra"]
    assert list(ours.columns) == RESULT_COLUMNS
    ours = ours.set_index("gene")
    ref = pd.read_csv(SINGLE_ARM / "results.tsv.gz", sep="\t", index_col="gene")
    assert list(ours.index) == list(ref.index)
    for column in RESULT_COLUMNS[1:]:
        assert (ours[column].isna() == ref[column].isna()).all(), column  # incl. the independent filter
    np.testing.assert_allclose(ours["baseMean"], ref["baseMean"], rtol=1e-9)
    np.testing.assert_allclose(ours["log2FoldChange"], ref["log2FoldChange"], rtol=0, atol=1e-4)
    np.testing.assert_allclose(ours["stat"], ref["stat"], rtol=0, atol=1e-4)
    for column in ("lfcSE", "pvalue", "padj"):
        np.testing.assert_allclose(ours[column], ref[column], rtol=1e-4, atol=1e-300, err_msg=column)
    assert (ours["padj"] < 0.05).equals(ref["padj"] < 0.05)


def test_single_arm_awkward_genes_and_planted_changes(single_arm_results):
    ours = single_arm_results["de_within_anakinra"].set_index("gene")
    assert ours.loc["GENE_ALL_ZERO", "baseMean"] == 0 and ours.loc["GENE_ALL_ZERO"].drop("baseMean").isna().all()
    assert ours.loc["GENE_ZERO_POST", "log2FoldChange"] < -8 < 8 < ours.loc["GENE_ZERO_PRE", "log2FoldChange"]
    assert ours.loc["GENE_TIE_A"].equals(ours.loc["GENE_TIE_B"])
    truth = pd.read_csv(SINGLE_ARM / "truth.tsv", sep="\t", index_col="gene")["planted_log2fc"].dropna()
    found = (ours["padj"] < 0.05)[truth.index]
    planted = truth != 0
    assert (np.sign(ours.loc[truth.index[found & planted], "log2FoldChange"]) == np.sign(truth[found & planted])).all()
    assert found[planted].mean() > 0.9 and found[~planted].sum() <= 0.1 * found.sum()  # FDR 0.05 + slack


def test_single_arm_design_is_patient_plus_timepoint():
    design = Design(reference_arm=None)
    paired = paired_samples(_samples(patients_per_arm=3), design)
    assert set(paired["arm"]) == {"anakinra"}  # the other arm's samples are not part of the study
    matrix = nested_design_matrix(paired, design)
    assert list(matrix.columns) == [
        "intercept",
        "arm_anakinra:patient_2",
        "arm_anakinra:patient_3",
        "arm_anakinra:timepoint_post",
    ]
    check_design_rank(matrix, paired, "within-arm paired")
