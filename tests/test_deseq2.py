"""tme.stats.deseq2: the closed forms against brute-force linear algebra, the steps against R DESeq2.

R reference: tests/fixtures/de/example (DESeq2 1.38.3 size factors, gene-wise, trend and final
dispersions of 2,147 genes written by deseq2_paired.R).
"""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tme.errors import TmeInputError
from tme.stats import Design, deseq2
from tme.stats.de import nested_design_matrix, paired_samples

EXAMPLE = Path(__file__).resolve().parent / "fixtures" / "de" / "example"


def _layout(n_reference=4, n_treatment=5):
    """Two arms, or one arm (a single-arm study: ``~ patient + timepoint``) when ``n_reference`` is 0."""
    design = Design(reference_arm="usual_care" if n_reference else None)
    rows = [
        {"sample_id": f"{arm}{i}_{tp}", "patient_id": f"{arm}{i}", "arm": arm, "timepoint": tp}
        for arm, n in (("usual_care", n_reference), ("anakinra", n_treatment))
        for i in range(n)
        for tp in ("pre", "post")
    ]
    paired = paired_samples(pd.DataFrame(rows).set_index("sample_id"), design)
    matrix = nested_design_matrix(paired, design).to_numpy()
    return deseq2.PairedLayout(paired["arm"].map({a: i for i, a in enumerate(design.arms)}).to_numpy()[0::2], matrix)


@pytest.mark.parametrize("arms", [(4, 5), (0, 9)], ids=["two arms", "one arm"])
def test_cox_reid_term_is_log_det_of_the_weighted_information(arms):
    layout = _layout(*arms)
    rng = np.random.default_rng(1)
    mu = rng.lognormal(3, 2, (6, 18))
    alpha = rng.lognormal(-2, 1.5, 6)
    term, slope = deseq2._cox_reid(mu, alpha, layout)
    X = layout.matrix
    for g in range(6):
        w = 1 / (1 / mu[g] + alpha[g])
        assert term[g] == pytest.approx(-0.5 * np.linalg.slogdet(X.T @ (w[:, None] * X))[1], rel=1e-12)
        # d/d alpha of -1/2 log det X'WX = -1/2 tr((X'WX)^-1 X' dW X), dW = -w^2
        trace = np.trace(np.linalg.solve(X.T @ (w[:, None] * X), X.T @ (-(w**2)[:, None] * X)))
        assert slope[g] == pytest.approx(-0.5 * trace, rel=1e-10)


@pytest.mark.parametrize("arms", [(3, 6), (0, 9)], ids=["two arms", "one arm"])
def test_irls_step_and_wald_variance_are_weighted_least_squares(arms):
    layout = _layout(*arms)
    assert layout.matrix.shape == (18, 9 + layout.n_arms)
    rng = np.random.default_rng(2)
    w = rng.uniform(0.2, 50, (5, 18))
    z = rng.normal(0, 2, (5, 18))
    eta = deseq2._wls_step(layout, w, z)
    X = layout.matrix
    for g in range(5):
        beta = np.linalg.lstsq(np.sqrt(w[g])[:, None] * X, np.sqrt(w[g]) * z[g], rcond=None)[0]
        np.testing.assert_allclose(eta[g], X @ beta, rtol=1e-10, atol=1e-10)
    # Var of the arm:post coefficients (the last columns) = 1 / sum_i h_i, uncorrelated
    counts = rng.poisson(100, (5, 18)).astype(float)
    sf = np.ones(18)
    alpha = np.full(5, 0.1)
    _, variance = deseq2._post_effects(counts, sf, alpha, layout)
    eta = deseq2.fit_beta(counts, sf, alpha, layout)
    for g in range(5):
        mu = np.maximum(np.exp(eta[g]), deseq2.MIN_MU)
        weights = mu / (1 + alpha[g] * mu)
        covariance = np.linalg.inv(X.T @ (weights[:, None] * X))[-layout.n_arms :, -layout.n_arms :]
        np.testing.assert_allclose(np.diag(covariance), variance[g], rtol=1e-9)
        assert np.abs(covariance - np.diag(np.diag(covariance))).max() < 1e-12


@pytest.fixture(scope="module")
def example():
    counts = pd.read_csv(EXAMPLE / "counts.tsv.gz", sep="\t", index_col=0)
    samples = pd.read_csv(EXAMPLE / "samples.tsv", sep="\t", index_col=0)
    reference = pd.read_csv(EXAMPLE / "dispersions.tsv.gz", sep="\t", index_col="gene")
    with pytest.warns(Warning):  # 4 patients without a post sample
        paired = paired_samples(samples, Design())
    layout = deseq2.PairedLayout(
        (paired["arm"] == "anakinra").to_numpy()[0::2], nested_design_matrix(paired, Design()).to_numpy()
    )
    return counts.loc[reference.index, paired.index].to_numpy(float), paired, layout, reference


def test_size_factors_and_dispersions_agree_with_r(example):
    counts, paired, layout, reference = example
    r_sf = pd.read_csv(EXAMPLE / "size_factors.tsv", sep="\t", index_col=0)["size_factor"]
    sf = deseq2.size_factors(counts)
    np.testing.assert_allclose(sf, r_sf.loc[paired.index], rtol=1e-12)
    gene, mu = deseq2.gene_dispersions(counts, sf, layout)
    np.testing.assert_allclose(gene, reference["dispGeneEst"], rtol=1e-4)
    base_mean = (counts / sf).mean(axis=1)
    trend, kind = deseq2.dispersion_trend(base_mean, gene)
    assert kind == "parametric"
    np.testing.assert_allclose(trend, reference["dispFit"], rtol=1e-6)
    prior_var, var_log = deseq2.prior_variance(gene, trend, layout.residual_df)
    final = deseq2.map_dispersions(counts, mu, layout, gene, trend, prior_var, var_log)
    np.testing.assert_allclose(final, reference["dispersion"], rtol=1e-4)


def test_counts_without_a_gene_free_of_zeros_are_explained():
    counts = np.ones((3, 6))
    counts[np.arange(3), np.arange(3)] = 0
    with pytest.raises(TmeInputError, match="every gene has a zero count"):
        deseq2.size_factors(counts)


def test_poisson_counts_are_explained():
    layout = _layout(3, 3)
    counts = np.full((50, 12), 100.0)
    with pytest.raises(TmeInputError, match="look Poisson"):
        deseq2.fit_paired(counts, layout)


def test_lbfgsb_fallback_reaches_the_irls_fit(example, monkeypatch):
    """Rows IRLS cannot finish go to L-BFGS-B (as in DESeq2); forced for 40 genes, same fit."""
    counts, _, layout, reference = example
    counts = counts[:40]
    sf = deseq2.size_factors(example[0])
    alpha = reference["dispersion"].to_numpy()[:40]
    irls = deseq2.fit_beta(counts, sf, alpha, layout)
    monkeypatch.setattr(deseq2, "BETA_MAXIT", 1)  # no row can converge in one iteration
    fallback = deseq2.fit_beta(counts, sf, alpha, layout)
    post_effect = lambda eta: eta[:, 1::2] - eta[:, 0::2]  # noqa: E731
    np.testing.assert_allclose(post_effect(fallback), post_effect(irls), atol=1e-3)


def test_single_arm_size_factors_and_dispersions_agree_with_r():
    """tests/fixtures/de_single_arm (R DESeq2, ~ patient + timepoint): every step of the fit."""
    folder = EXAMPLE.parent.parent / "de_single_arm"
    counts = pd.read_csv(folder / "counts.tsv.gz", sep="\t", index_col=0)
    reference = pd.read_csv(folder / "results.tsv.gz", sep="\t", index_col="gene").loc[counts.sum(axis=1) > 0]
    layout = _layout(0, 8)
    assert layout.n_arms == 1 and layout.residual_df == 7
    y = counts.loc[reference.index].to_numpy(float)  # samples already ordered patient by patient, pre then post
    r_sf = pd.read_csv(folder / "size_factors.tsv", sep="\t", index_col=0)["size_factor"]
    sf = deseq2.size_factors(y)
    np.testing.assert_allclose(sf, r_sf.loc[counts.columns], rtol=1e-10)
    gene, mu = deseq2.gene_dispersions(y, sf, layout)
    np.testing.assert_allclose(gene, reference["dispGeneEst"], rtol=1e-4)  # line-search tolerance: 3e-5 seen
    trend, kind = deseq2.dispersion_trend((y / sf).mean(axis=1), gene)
    assert kind == "parametric"
    np.testing.assert_allclose(trend, reference["dispFit"], rtol=1e-6)
    fit = deseq2.fit_paired(y, layout)
    np.testing.assert_allclose(fit.dispersion, reference["dispersion"], rtol=1e-5)
