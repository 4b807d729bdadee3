"""Analytic ANCOVA power, sample size and MDE (tme.planning.analytic) against R and closed forms.

R reference: tests/fixtures/planning/power.tsv from make_fixtures.R (R 4.2.2, pwr 1.3.0; versions in
VERSIONS): pwr::pwr.t.test and stats::power.t.test(strict = TRUE) on sigma * sqrt(1 - rho^2) over a grid
of effects, SDs, rho, alpha (0.05, 0.05/3, 0.01) and power (0.8, 0.9); n from 4 to 1,900 per arm.
Tolerance 1e-6 relative (observed ~1e-10), except pwr.t.test's n, which R solves only to uniroot's
default tolerance (1.2e-4). The exact (random-baseline) power is checked against R's
integrate() of the same expectation, against adaptive QUADPACK integration here (another route), and
against simulated ANCOVAs (tests/test_planning_simulation.py).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, special, stats

from tme.errors import TmeInputError
from tme.planning import ancova_power, ancova_sample_size, inflate_for_missing, minimum_detectable_effect
from tme.planning.analytic import beta_quadrature

FIXTURES = Path(__file__).parent / "fixtures" / "planning"
RTOL = 1e-6


@pytest.fixture(scope="module")
def r_power() -> pd.DataFrame:
    return pd.read_csv(FIXTURES / "power.tsv", sep="\t")


def _rel(a, b):
    return abs(a - b) / abs(b)


def test_sample_size_equals_r_power_t_test_and_pwr(r_power):
    assert len(r_power) >= 100 and r_power["n_power_t"].max() > 50 and r_power["n_power_t"].min() < 5
    for r in r_power.itertuples():
        n = ancova_sample_size(
            r.delta, r.sd * np.sqrt(1 - r.rho**2), r.alpha, r.power, n_covariates=0, method="noncentral_t"
        )
        assert _rel(n, r.n_power_t) <= RTOL, r
        # pwr 1.3.0 solves with uniroot's default tolerance (.Machine$double.eps^0.25 = 1.2e-4 in n)
        assert abs(n - r.n_pwr) <= 1.3e-4, r


def test_power_and_mde_equal_r(r_power):
    for r in r_power.itertuples():
        assert (
            _rel(
                ancova_power(r.n_given, r.delta, r.sd_res, r.alpha, n_covariates=0, method="noncentral_t"), r.power_pwr
            )
            <= RTOL
        ), r
        assert (
            _rel(
                minimum_detectable_effect(r.n_given, r.sd_res, r.alpha, r.power, n_covariates=0, method="noncentral_t"),
                r.mde_power_t,
            )
            <= RTOL
        ), r


def test_ancova_df_2n_minus_3_equals_r(r_power):
    for r in r_power.itertuples():
        assert (
            _rel(ancova_sample_size(r.delta, r.sd_res, r.alpha, r.power, method="noncentral_t"), r.n_ancova_nct) <= RTOL
        ), r
        assert (
            _rel(ancova_power(r.n_given, r.delta, r.sd_res, r.alpha, method="noncentral_t"), r.power_ancova_nct) <= RTOL
        ), r


def test_exact_power_equals_r_integrate(r_power):
    for r in r_power.itertuples():
        assert _rel(ancova_power(r.n_given, r.delta, r.sd_res, r.alpha), r.power_ancova_exact) <= RTOL, r


def _quadpack_power(n1, n2, delta, sd, alpha, k):
    df = n1 + n2 - 2 - k
    q = stats.t.isf(alpha / 2, df)
    ncp = delta / (sd * np.sqrt(1 / n1 + 1 / n2))
    a, b = (n1 + n2 - 1 - k) / 2, k / 2

    def f(w):  # density of W = sqrt(U), U ~ Beta(a, b), without (1 - w)^(b - 1) (QAWS weight)
        dens = np.exp(np.log(2) - special.betaln(a, b) + (2 * a - 1) * np.log(w) + (b - 1) * np.log1p(w))
        return dens * (stats.nct.sf(q, df, ncp * w) + stats.nct.sf(q, df, -ncp * w))

    return integrate.quad(f, 0, 1, weight="alg", wvar=(0, b - 1), epsabs=1e-14, epsrel=1e-12, limit=500)[0]


@pytest.mark.parametrize(
    "n1,n2,k",
    [
        (n1, n2, k)
        for n1, n2 in ((2.5, 2.5), (3, 4), (5, 5), (8, 12), (20, 20), (61, 55), (500, 500))
        for k in (1, 2, 3)
        if n1 + n2 - 2 - k >= 1
    ],
)
def test_exact_power_gauss_rule_equals_adaptive_integration(n1, n2, k):
    for delta in (0.05, 0.3, 1.0, 2.5):
        ours = ancova_power(n1, delta, 1.0, 0.05, n_covariates=k, n_other_arm=n2)
        assert abs(ours - _quadpack_power(n1, n2, delta, 1.0, 0.05, k)) < 1e-10


def test_beta_quadrature_moments_and_large_samples():
    for a, b in ((1.0, 0.5), (3.5, 1.0), (2500.0, 0.5)):  # the last overflows scipy.special.roots_jacobi
        u, w = beta_quadrature(a, b)
        assert np.isfinite(u).all() and abs(w.sum() - 1) < 1e-12
        assert abs(w @ u - a / (a + b)) < 1e-12
        assert abs(w @ u**2 - a * (a + 1) / ((a + b) * (a + b + 1))) < 1e-12


def test_exact_power_is_below_the_fixed_baseline_formula_and_converges():
    gaps = []
    for n in (4, 8, 20, 80, 400):
        delta = 2.8 * np.sqrt(2 / n)  # about 80 % power
        exact, classical = ancova_power(n, delta, 1.0), ancova_power(n, delta, 1.0, method="noncentral_t")
        gaps.append(classical - exact)
    assert all(g > 0 for g in gaps) and gaps == sorted(gaps, reverse=True) and gaps[-1] < 1e-3


def test_sample_size_solves_the_power_equation_and_mde_inverts_it():
    n = ancova_sample_size(-0.4, 0.5, 0.05 / 3, 0.9)
    assert abs(ancova_power(n, -0.4, 0.5, 0.05 / 3) - 0.9) < 1e-9
    assert abs(minimum_detectable_effect(n, 0.5, 0.05 / 3, 0.9) - 0.4) < 1e-9
    assert ancova_sample_size(-0.4, 0.5, 0.05, 0.9) == pytest.approx(ancova_sample_size(0.4, 0.5, 0.05, 0.9))


def test_huge_effects_and_tails():
    # a huge effect needs the smallest design with one residual df; far tails do not give NaN
    assert ancova_sample_size(50, 1, 0.05, 0.8) == 2.0
    assert ancova_power(1000, 5.0, 1.0, 0.05) == 1.0
    assert np.isnan(ancova_power(1.5, 1.0, 1.0, 0.05))  # 2n - 3 = 0 df


def test_two_tailed_power_equals_scipy_nct_including_where_nctdtr_fails():
    """The fast path (special.nctdtr) against stats.nct.sf: one residual df, large df, ncp 0 to 40,
    and points where nctdtr returns NaN far in a tail (the fallback must take over there)."""
    from tme.planning.analytic import _two_tailed

    rng = np.random.default_rng(7)
    # nctdtr(df, -ncp, q) is NaN at these two points with scipy 1.17 (the fallback's cases)
    tails = [(290.58586060743846, 3.7453873756059797, 5.052575912088136)]
    tails += [(203.8486580373152, 4.960451586665122, 4.948813610096047)]
    cases = [(1.0, 12.7, np.array([0.0, 0.5, 3.0, 40.0]))] + [(df, q, np.array([ncp])) for df, q, ncp in tails]
    cases += [(rng.uniform(1, 500), rng.uniform(0.5, 6), rng.uniform(0, 40, 20)) for _ in range(200)]
    for df, q, ncp in cases:
        expected = stats.nct.sf(q, df, ncp) + stats.nct.sf(q, df, -ncp)
        np.testing.assert_allclose(_two_tailed(q, df, ncp), expected, rtol=0, atol=1e-14)


def test_inflation_for_missing_posts():
    assert inflate_for_missing(20, 0.0) == 20
    assert inflate_for_missing(20, 0.1) == 23  # 20 / 0.9 = 22.2
    assert inflate_for_missing(18, 0.1) == 20  # exactly 20: no extra patient from rounding noise
    assert inflate_for_missing(19.2, 0.2) == 25  # 20 / 0.8


@pytest.mark.parametrize(
    "call,match",
    [
        (lambda: ancova_sample_size(0.0, 1.0, 0.05, 0.8), "zero difference"),
        (lambda: ancova_sample_size(0.5, 1.0, 0.05, 0.05), "not between alpha"),
        (lambda: ancova_sample_size(0.5, 1.0, 0.05, 0.03), "not between alpha"),
        (lambda: ancova_sample_size(0.5, 1.0, 1.2, 0.8), "alpha = 1.2"),
        (lambda: ancova_sample_size(0.5, 0.0, 0.05, 0.8), "residual SD 0.0"),
        (lambda: ancova_power(10, 0.5, np.nan, 0.05), "residual SD nan"),
        (lambda: ancova_power(10, 0.5, 1.0, 0.05, method="pass"), "unknown power method"),
        (lambda: minimum_detectable_effect(1, 1.0, 0.05, 0.8), "no residual degrees of freedom"),
        (lambda: inflate_for_missing(10, 1.0), "missing-post fraction"),
    ],
)
def test_bad_input_is_explained(call, match):
    with pytest.raises(TmeInputError, match=match) as info:
        call()
    assert "Fix:" in str(info.value)
