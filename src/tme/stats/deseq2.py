"""DESeq2's negative-binomial fit and Wald test for paired biopsies in one or two arms, vectorised over genes.

The model (Love, Huber & Anders, Genome Biol 2014;15:550) for the count of gene ``g`` in sample
``j`` of patient ``i``::

    K_gj ~ NB(mean s_j q_gj, dispersion alpha_g),   log q_gj = b_gi + c_{g,arm(i)} [j is post]

with size factors ``s_j``: a level per patient and a post-vs-pre effect per arm. With two arms this
is the column space of the nested design ``~ arm + arm:patient_n + arm:timepoint``
(:func:`tme.stats.de.nested_design_matrix`), so fitted means, likelihoods and the ``arm:post``
coefficients are those of that design; with one arm (a single-arm window study) it is the paired
design ``~ patient + timepoint`` and ``c_g`` its ``timepoint post`` coefficient. Every step
follows DESeq2 1.38 (R function or C++ routine in brackets) so that results agree with
``DESeq(dds, full = model_matrix)``:

1. size factors by the median of ratios (``estimateSizeFactorsForMatrix``); ``baseMean``;
2. gene-wise dispersions (``estimateDispersionsGeneEst``): start at ``min(rough, moments)``
   estimates, means from the NB GLM at that dispersion, then DESeq2's Armijo line search on
   ``log alpha`` of the Cox–Reid adjusted profile likelihood (``fitDisp``), with its grid search
   for searches that stop at once or do not converge (``fitDispGrid``);
3. the trend ``alpha = a0 + a1 / baseMean`` by iterated Gamma-family GLMs
   (``parametricDispersionFit``); when that fails, a local regression of log dispersion on log
   mean (DESeq2 substitutes ``locfit``; see :func:`dispersion_trend`);
4. the prior variance of log dispersions and the maximum a posteriori dispersions
   (``estimateDispersionsPriorVar``, ``estimateDispersionsMAP``); gene-wise estimates more than
   two prior SDs above the trend are kept (dispersion outliers);
5. coefficients by IRLS (``fitBeta``: working response ``z = log(mu/s) + (K - mu)/mu``,
   weights ``w = mu / (1 + alpha mu)``, means bounded below by 0.5, relative deviance change
   < 1e-8, at most 100 iterations, ``L-BFGS-B`` for rows that do not converge) and Wald standard
   errors from ``(X'WX)^-1``.

The paired structure makes each step closed-form per gene, vectorised over all genes at once
(as glmGamPoi does for general designs: Ahlmann-Eltze & Huber, Bioinformatics 2020;36:5701).
With ``h_i = w_pre w_post / (w_pre + w_post)`` for patient ``i``:

* IRLS step: ``c_a = sum_{i in a} h_i (z_post - z_pre) / sum_{i in a} h_i`` and
  ``b_i = (w_pre z_pre + w_post (z_post - c_a)) / (w_pre + w_post)``;
* ``log det X'WX = sum_i log(w_pre + w_post) + sum_a log sum_{i in a} h_i + log det A'A``
  (``X = Z A``, ``Z`` the patient/arm-post indicators), and its derivative in ``alpha`` from
  ``dw/dalpha = -w^2``, ``h = 1 / (1/mu_pre + 1/mu_post + 2 alpha)``;
* ``Var(c_a) = 1 / sum_{i in a} h_i`` and, with two arms, ``Cov(c_R, c_T) = 0``.

So a step costs O(samples) per gene instead of O(samples × coefficients²) and the 40-odd patient
coefficients are never formed. Differences from DESeq2, all below its own convergence tolerances:
DESeq2's ridge of 1e-6 on the log2 coefficients is left out (it moves estimates by ~1e-6), and
with three or fewer residual degrees of freedom (five or fewer paired patients) the prior
variance uses the asymptotic formula where DESeq2 simulates. No Cook's distance step applies:
every sample has its own model-matrix row, and DESeq2 flags outliers only in cells of at least
3 (replaces them in cells of at least 7) samples sharing a row.
"""

from __future__ import annotations

import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize
from scipy.special import digamma, gammaln, ndtr, polygamma
from threadpoolctl import threadpool_limits

from tme.errors import TmeAnalysisWarning, TmeInputError
from tme.stats.multiplicity import benjamini_hochberg

MIN_DISP = 1e-8
MIN_MU = 0.5
LARGE_COEF = 30.0
BETA_MAXIT = 100  # IRLS iterations (fitBeta)
DISP_MAXIT = 100  # line-search proposals (fitDisp)
BETA_TOL = 1e-8
DISP_TOL = 1e-6
RIDGE_LOG2 = 1e-6  # DESeq2's lambda on log2 coefficients, used only by the L-BFGS-B fallback
GENE_BLOCK = 1024  # genes fitted together (vectorised); blocks are spread over threads
FILTER_MAX_QUANTILE = 0.95  # independent filtering: highest baseMean quantile tried (DESeq2 results())


class PairedLayout:
    """The paired design of one or two arms: samples ordered patient by patient, pre then post.

    Parameters
    ----------
    arm
        Arm of each patient, 0 (reference) or 1 (treatment) in a two-arm trial, all 0 in a
        single-arm study, in sample order (patient ``i`` owns samples ``2i`` (pre) and ``2i + 1``
        (post)).
    matrix
        The model matrix in the same sample order (``2k`` rows, full column rank ``k + arms``:
        ``~ arm + arm:patient + arm:timepoint``, or ``~ patient + timepoint`` for one arm).
    """

    def __init__(self, arm: np.ndarray, matrix: np.ndarray) -> None:
        self.arm = np.asarray(arm, dtype=int)
        self.matrix = np.asarray(matrix, dtype=float)
        k = len(self.arm)
        self.n_per_arm = np.bincount(self.arm)
        self.n_arms = len(self.n_per_arm)
        if self.matrix.shape != (2 * k, k + self.n_arms):
            raise ValueError(
                f"a paired design of {k} patients in {self.n_arms} arm(s) has {2 * k} samples and "
                f"{k + self.n_arms} coefficients, not {self.matrix.shape}"
            )
        if not (np.array_equal(self.arm, np.sort(self.arm)) and (self.n_per_arm > 0).all() and self.n_arms <= 2):
            raise ValueError("patients must be ordered by arm (reference first), every arm present, at most two")
        self.arm_starts = np.concatenate([[0], np.cumsum(self.n_per_arm)[:-1]])
        q, _ = np.linalg.qr(self.matrix)
        self.projector = q @ q.T  # least-squares fitted values: y @ projector
        self.coef_of_eta = np.linalg.pinv(self.matrix).T  # coefficients: eta @ coef_of_eta
        # log det X'WX - log det Z'WZ, the same for every W (X = Z A): at W = I, Z'Z has
        # patient blocks 2 and per-arm Schur complements k_a / 2
        z_logdet = k * np.log(2) + np.log(self.n_per_arm / 2).sum()
        self.logdet_offset = np.linalg.slogdet(self.matrix.T @ self.matrix)[1] - z_logdet

    @property
    def residual_df(self) -> int:
        return self.matrix.shape[0] - self.matrix.shape[1]

    def arm_sums(self, per_patient: np.ndarray) -> np.ndarray:
        """(genes, patients) -> (genes, arms) sums over the patients of each arm."""
        return np.add.reduceat(per_patient, self.arm_starts, axis=1)


def pairs(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(genes, samples) -> pre and post (genes, patients) views."""
    return values[:, 0::2], values[:, 1::2]


def size_factors(counts: np.ndarray) -> np.ndarray:
    """Median-of-ratios size factors (DESeq2 ``estimateSizeFactorsForMatrix``, type "ratio").

    ``s_j = exp(median_g (log K_gj - mean_j' log K_gj'))`` over genes with no zero count (and
    ``K_gj > 0``).
    """
    with np.errstate(divide="ignore"):
        logs = np.log(counts)
    log_geo_means = logs.mean(axis=1)
    usable = np.isfinite(log_geo_means)
    if not usable.any():
        raise TmeInputError(
            "every gene has a zero count in at least one sample, so DESeq2's "
            "median-of-ratios size factors cannot be computed",
            fix="check the count matrix: a sample with (almost) no reads should be excluded in the sample sheet",
        )
    ratios = logs[usable] - log_geo_means[usable, None]
    return np.exp(np.array([np.median(column[np.isfinite(column)]) for column in ratios.T]))


def _wls_step(layout: PairedLayout, w: np.ndarray, z: np.ndarray) -> np.ndarray:
    """Weighted least-squares fit of ``z`` in the paired design (closed form); returns ``eta``."""
    (w0, w1), (z0, z1) = pairs(w), pairs(z)
    d = w0 + w1
    h = w0 * w1 / d
    c = layout.arm_sums(h * (z1 - z0)) / layout.arm_sums(h)  # (genes, arms)
    c_of_patient = c[:, layout.arm]
    b = (w0 * z0 + w1 * (z1 - c_of_patient)) / d
    eta = np.empty_like(z)
    eta[:, 0::2], eta[:, 1::2] = b, b + c_of_patient
    return eta


def _deviance(counts: np.ndarray, mu: np.ndarray, alpha: np.ndarray, constant: np.ndarray) -> np.ndarray:
    """``-2 sum_j log NB(K_j; mu_j, alpha)`` per gene; ``constant`` is :func:`_deviance_constant`."""
    r = 1.0 / alpha[:, None]
    return -2.0 * (constant + (-r * np.log1p(mu / r) + counts * (np.log(mu) - np.log(mu + r))).sum(axis=1))


def _deviance_constant(counts: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """The part of the NB log likelihood that does not depend on the mean."""
    r = 1.0 / alpha[:, None]
    return (gammaln(counts + r) - gammaln(r) - gammaln(counts + 1.0)).sum(axis=1)


def fit_beta(counts: np.ndarray, sf: np.ndarray, alpha: np.ndarray, layout: PairedLayout) -> np.ndarray:
    """The linear predictor (genes × samples, natural log) of the NB GLM at fixed dispersions.

    IRLS as DESeq2's ``fitNbinomGLMs`` / ``fitBeta``: from the least-squares fit of
    ``log(K/s + 0.1)``; rows that reach 100 iterations, a coefficient beyond ±30 or a non-finite
    deviance are refitted by ``L-BFGS-B`` (:func:`_fit_beta_optim`) as in DESeq2.
    """
    eta = np.log(counts / sf + 0.1) @ layout.projector
    mu = np.maximum(sf * np.exp(eta), MIN_MU)
    n_genes = len(counts)
    done = np.zeros(n_genes, dtype=bool)
    failed = np.zeros(n_genes, dtype=bool)
    dev_old = np.zeros(n_genes)
    constant = _deviance_constant(counts, alpha)
    active = np.arange(n_genes)
    for t in range(BETA_MAXIT):
        y, m, a = counts[active], mu[active], alpha[active]
        new_eta = _wls_step(layout, m / (1.0 + a[:, None] * m), np.log(m / sf) + (y - m) / m)
        large = (np.abs(new_eta @ layout.coef_of_eta) > LARGE_COEF).any(axis=1)
        eta[active[~large]] = new_eta[~large]
        m = np.maximum(sf * np.exp(new_eta), MIN_MU)
        mu[active] = m
        dev = _deviance(y, m, a, constant[active])
        change = np.abs(dev - dev_old[active]) / (np.abs(dev) + 0.1)
        bad = large | np.isnan(change)
        stop = bad | ((t > 0) & (change < BETA_TOL))
        failed[active[bad]] = True
        done[active[stop & ~bad]] = True
        dev_old[active] = dev
        active = active[~stop]
        if not active.size:
            break
    refit = np.flatnonzero(~done | failed | ~np.isfinite(eta).all(axis=1))
    if refit.size:
        with threadpool_limits(limits=1, user_api="blas"):  # L-BFGS-B's tiny BLAS calls: no thread pool
            for g in refit:
                eta[g] = _fit_beta_optim(counts[g], sf, alpha[g], eta[g], layout)
    return eta


def _fit_beta_optim(
    counts: np.ndarray, sf: np.ndarray, alpha: float, eta: np.ndarray, layout: PairedLayout
) -> np.ndarray:
    """One gene by ``L-BFGS-B`` on log2 coefficients within ±30 with DESeq2's N(0, 1e6) prior.

    DESeq2 calls R's ``optim`` with numerical gradients and its default tolerance; this uses the
    analytic gradient and tighter tolerances, so it lands on the optimum IRLS would reach.
    """
    matrix = layout.matrix
    beta = eta @ layout.coef_of_eta / np.log(2)
    if not (np.isfinite(beta).all() and (np.abs(beta) < LARGE_COEF).all()):
        beta = np.zeros(matrix.shape[1])
    r = 1.0 / alpha

    def objective(p):
        mu = sf * np.exp2(matrix @ p)
        log_lik = (
            gammaln(counts + r) - gammaln(r) - r * np.log1p(mu / r) + counts * (np.log(mu) - np.log(mu + r))
        ).sum()
        grad = -np.log(2) * matrix.T @ ((counts - mu) / (1.0 + alpha * mu)) + RIDGE_LOG2 * p
        return -log_lik + 0.5 * RIDGE_LOG2 * p @ p, grad

    found = minimize(
        objective,
        beta,
        jac=True,
        method="L-BFGS-B",
        bounds=[(-LARGE_COEF, LARGE_COEF)] * len(beta),
        options={"ftol": 1e-14, "gtol": 1e-9, "maxiter": 1000},
    )
    return matrix @ found.x * np.log(2)


def _cox_reid(mu: np.ndarray, alpha: np.ndarray, layout: PairedLayout) -> tuple[np.ndarray, np.ndarray]:
    """``-1/2 log det X'WX`` and its derivative in ``alpha`` (closed forms of the module docstring)."""
    w = 1.0 / (1.0 / mu + alpha[:, None])
    (w0, w1), (u0, u1) = pairs(w), pairs(1.0 / mu)
    d = w0 + w1
    h = 1.0 / (u0 + u1 + 2.0 * alpha[:, None])
    s = layout.arm_sums(h)
    logdet = np.log(d).sum(axis=1) + np.log(s).sum(axis=1) + layout.logdet_offset
    dlogdet = (-(w0**2 + w1**2) / d).sum(axis=1) + (layout.arm_sums(-2.0 * h**2) / s).sum(axis=1)
    return -0.5 * logdet, -0.5 * dlogdet


@dataclass
class Prior:
    """Normal prior on log dispersion (``None`` mean: no prior, the Cox–Reid profile likelihood)."""

    mean: np.ndarray | None = None
    var: float = 1.0

    def subset(self, rows: np.ndarray) -> Prior:
        return Prior(None if self.mean is None else self.mean[rows], self.var)


def _log_posterior(log_alpha, counts, mu, layout, prior: Prior) -> np.ndarray:
    """DESeq2's ``log_posterior``: NB log likelihood + Cox–Reid term (+ log prior)."""
    alpha = np.exp(log_alpha)
    r = 1.0 / alpha[:, None]
    log_lik = (gammaln(counts + r) - gammaln(r) - counts * np.log(mu + r) - r * np.log(1.0 + mu * alpha[:, None])).sum(
        axis=1
    )
    cr, _ = _cox_reid(mu, alpha, layout)
    prior_part = 0.0 if prior.mean is None else -0.5 * (log_alpha - prior.mean) ** 2 / prior.var
    return log_lik + cr + prior_part


def _dlog_posterior(log_alpha, counts, mu, layout, prior: Prior) -> np.ndarray:
    """DESeq2's ``dlog_posterior``: the derivative of :func:`_log_posterior` in ``log alpha``."""
    alpha = np.exp(log_alpha)
    a = alpha[:, None]
    r = 1.0 / a
    d_lik = (digamma(r) + np.log(1.0 + mu * a) - mu * a / (1.0 + mu * a) - digamma(counts + r) + counts / (mu + r)).sum(
        axis=1
    ) / alpha**2
    _, d_cr = _cox_reid(mu, alpha, layout)
    prior_part = 0.0 if prior.mean is None else -(log_alpha - prior.mean) / prior.var
    return (d_lik + d_cr) * alpha + prior_part


@dataclass
class LineSearch:
    log_alpha: np.ndarray
    iterations: np.ndarray
    initial_lp: np.ndarray
    last_lp: np.ndarray


def _line_search(counts, mu, layout, log_alpha, prior: Prior) -> LineSearch:
    """DESeq2's ``fitDisp``: Armijo line search along the gradient of the log posterior.

    Per gene: propose ``a + kappa * dlp`` (kept within [-30, 10]); accept when the log posterior
    rises by at least ``1e-4 kappa dlp^2`` (then ``kappa = min(1.1 kappa, 1)``, halved every 5th
    acceptance), else halve ``kappa``; stop when an accepted step gains < 1e-6, when ``a`` falls
    below ``log(1e-9)``, or after 100 proposals. Vectorised: all genes step together.
    """
    a = log_alpha.astype(float).copy()
    lp = _log_posterior(a, counts, mu, layout, prior)
    dlp = _dlog_posterior(a, counts, mu, layout, prior)
    initial_lp = lp.copy()
    kappa = np.ones_like(a)
    iterations = np.zeros(len(a), dtype=int)
    accepted = np.zeros(len(a), dtype=int)
    active = np.arange(len(a))
    min_log_alpha = np.log(MIN_DISP / 10)
    for _ in range(DISP_MAXIT):
        iterations[active] += 1
        step, grad = kappa[active], dlp[active]
        proposal = a[active] + step * grad
        step = np.where(proposal < -30.0, (-30.0 - a[active]) / grad, step)
        step = np.where(proposal > 10.0, (10.0 - a[active]) / grad, step)
        new_a = a[active] + step * grad
        new_lp = _log_posterior(new_a, counts[active], mu[active], layout, prior.subset(active))
        accept = -new_lp <= -lp[active] - step * 1e-4 * grad**2
        kappa[active] = np.where(accept, step, step / 2.0)
        rows = active[accept]
        accepted[rows] += 1
        a[rows] = new_a[accept]
        change = new_lp[accept] - lp[rows]
        converged = change < DISP_TOL
        too_small = ~converged & (a[rows] < min_log_alpha)
        keep_lp = ~too_small
        lp[rows[keep_lp]] = new_lp[accept][keep_lp]
        going = rows[~converged & ~too_small]
        if going.size:
            dlp[going] = _dlog_posterior(a[going], counts[going], mu[going], layout, prior.subset(going))
            kappa[going] = np.minimum(kappa[going] * 1.1, 1.0)
            fifth = accepted[going] % 5 == 0
            kappa[going[fifth]] /= 2.0
        finished = np.zeros(len(active), dtype=bool)
        finished[np.flatnonzero(accept)[converged | too_small]] = True
        active = active[~finished]
        if not active.size:
            break
    return LineSearch(a, iterations, initial_lp, lp)


def _grid_search(counts, mu, layout, prior: Prior, n_samples: int) -> np.ndarray:
    """DESeq2's ``fitDispGrid``: best of 20 log-alpha values, then of 20 around it; returns alpha."""
    grid = np.linspace(np.log(MIN_DISP), np.log(max(10, n_samples)), 20)
    best = _grid_argmax(grid[None, :].repeat(len(counts), axis=0), counts, mu, layout, prior)
    delta = grid[1] - grid[0]
    fine = np.linspace(best - delta, best + delta, 20, axis=1)
    return np.exp(_grid_argmax(fine, counts, mu, layout, prior))


def _grid_argmax(grid: np.ndarray, counts, mu, layout, prior: Prior) -> np.ndarray:
    values = np.column_stack([_log_posterior(grid[:, t], counts, mu, layout, prior) for t in range(grid.shape[1])])
    return grid[np.arange(len(grid)), np.argmax(values, axis=1)]


def rough_dispersions(normalised: np.ndarray, layout: PairedLayout) -> np.ndarray:
    """DESeq2 ``roughDispEstimate``: moments around the least-squares fit of the normalised counts."""
    fitted = np.maximum(normalised @ layout.projector, 1.0)
    estimate = (((normalised - fitted) ** 2 - fitted) / fitted**2).sum(axis=1) / layout.residual_df
    return np.maximum(estimate, 0.0)


def gene_dispersions(counts: np.ndarray, sf: np.ndarray, layout: PairedLayout) -> tuple[np.ndarray, np.ndarray]:
    """Gene-wise dispersions and the means they were fitted at (DESeq2 ``estimateDispersionsGeneEst``).

    Start ``alpha_0 = min(rough, (var - mean(1/s) mean) / mean^2)`` within [1e-8, max(10, n)];
    means from :func:`fit_beta` at ``alpha_0`` (bounded below by 0.5); the line search from
    ``alpha_0`` without prior. A search that does not raise the log posterior by a millionth keeps
    ``alpha_0``; one that stopped at its first step or ran out of steps is redone on the grid.
    """
    n = counts.shape[1]
    max_disp = max(10.0, n)
    normalised = counts / sf
    base_mean = normalised.mean(axis=1)
    moments = (normalised.var(axis=1, ddof=1) - np.mean(1.0 / sf) * base_mean) / base_mean**2
    alpha_0 = np.clip(np.minimum(rough_dispersions(normalised, layout), moments), MIN_DISP, max_disp)
    mu = np.maximum(sf * np.exp(fit_beta(counts, sf, alpha_0, layout)), MIN_MU)
    search = _line_search(counts, mu, layout, np.log(alpha_0), Prior())
    alpha = np.minimum(np.exp(search.log_alpha), max_disp)
    no_increase = search.last_lp < search.initial_lp + np.abs(search.initial_lp) / 1e6
    alpha[no_increase] = alpha_0[no_increase]
    converged = (search.iterations < DISP_MAXIT) & (search.iterations != 1)
    redo = np.flatnonzero(~converged & (alpha > MIN_DISP * 10))
    if redo.size:
        alpha[redo] = _grid_search(counts[redo], mu[redo], layout, Prior(), n)
    return np.clip(alpha, MIN_DISP, max_disp), mu


class _TrendFailed(Exception):
    """The parametric trend did not converge or has a coefficient <= 0 (DESeq2 then goes local)."""


def _gamma_identity_glm(x: np.ndarray, y: np.ndarray, start: np.ndarray) -> tuple[np.ndarray, bool]:
    """R ``glm(y ~ x, family = Gamma("identity"), start = start)``: IRLS with R's step halving.

    Returns ``(coefficients, converged)``; raises :class:`_TrendFailed` where R stops with an error.
    """
    design = np.column_stack([np.ones_like(x), x])

    def deviance(mu):
        return float(-2.0 * np.sum(np.log(np.where(y == 0, 1.0, y / mu)) - (y - mu) / mu))

    coef = old = start.astype(float)
    mu = design @ coef
    if not (np.isfinite(mu).all() and (mu > 0).all()):
        raise _TrendFailed("no valid starting values")
    dev_old = deviance(mu)
    for _ in range(25):
        weights = 1.0 / mu  # sqrt of the IRLS weights 1/V(mu) = 1/mu^2
        coef = np.linalg.lstsq(design * weights[:, None], y * weights, rcond=None)[0]
        mu = design @ coef
        halvings = 0
        while not (np.isfinite(mu).all() and (mu > 0).all()):
            halvings += 1
            if halvings > 25:
                raise _TrendFailed("cannot correct the step size")
            coef = (coef + old) / 2.0
            mu = design @ coef
        dev = deviance(mu)
        if abs(dev - dev_old) / (0.1 + abs(dev)) < 1e-8:
            return coef, True
        dev_old, old = dev, coef
    return coef, False


def parametric_trend(base_mean: np.ndarray, dispersion: np.ndarray) -> np.ndarray:
    """DESeq2 ``parametricDispersionFit``: ``(a0, a1)`` of ``alpha = a0 + a1 / mean``.

    Starting at (0.1, 1): fit a Gamma-family identity-link GLM of the dispersions on
    ``1 / mean`` over the genes whose ratio to the current curve lies in (1e-4, 15); repeat until
    ``sum(log(new / old)^2) < 1e-6`` and the GLM converged. Raises :class:`_TrendFailed` after
    10 repeats or when a coefficient is not positive.
    """
    coef = np.array([0.1, 1.0])
    for _ in range(11):
        ratio = dispersion / (coef[0] + coef[1] / base_mean)
        good = (ratio > 1e-4) & (ratio < 15)
        new, converged = _gamma_identity_glm(1.0 / base_mean[good], dispersion[good], coef)
        if not (new > 0).all():
            raise _TrendFailed("a coefficient is not positive")
        old, coef = coef, new
        if np.sum(np.log(coef / old) ** 2) < 1e-6 and converged:
            return coef
    raise _TrendFailed("did not converge in 10 iterations")


def local_trend(base_mean: np.ndarray, dispersion: np.ndarray, at: np.ndarray) -> np.ndarray:
    """Local quadratic regression of log dispersion on log mean, weighted by the mean.

    DESeq2's fallback is ``locfit(log(disp) ~ log(mean), weights = mean)`` (tricube kernel, 70 %
    nearest-neighbour bandwidth, degree 2, genes with ``disp >= 1e-7``). This fits the same local
    model exactly at 200 points spanning the log means and interpolates linearly (locfit
    interpolates between adaptively placed vertices), so it follows locfit closely (within a few
    per cent on tests/fixtures/de/local_trend), not to the last digit.
    """
    keep = dispersion >= MIN_DISP * 10
    x, y, prior = np.log(base_mean[keep]), np.log(dispersion[keep]), base_mean[keep]
    grid = np.linspace(min(x.min(), np.log(at).min()), max(x.max(), np.log(at).max()), 200)
    n_near = int(np.ceil(0.7 * len(x)))
    fitted = np.empty_like(grid)
    for i, centre in enumerate(grid):
        distance = np.abs(x - centre)
        bandwidth = np.partition(distance, n_near - 1)[n_near - 1] * (1 + 1e-10)
        kernel = np.clip(1 - (distance / bandwidth) ** 3, 0, None) ** 3 * prior
        local = np.column_stack([np.ones_like(x), x - centre, (x - centre) ** 2])
        root = np.sqrt(kernel)
        fitted[i] = np.linalg.lstsq(local * root[:, None], y * root, rcond=None)[0][0]
    return np.exp(np.interp(np.log(at), grid, fitted))


def dispersion_trend(base_mean: np.ndarray, disp_gene: np.ndarray) -> tuple[np.ndarray, str]:
    """The fitted trend at every gene and its kind, ``"parametric"`` or ``"local"`` (with a warning)."""
    use = disp_gene > 100 * MIN_DISP
    if not use.any():
        raise TmeInputError(
            "every gene-wise dispersion estimate is within 2 orders of magnitude of "
            "the minimum (1e-8): the counts look Poisson, not negative binomial, and "
            "DESeq2's dispersion trend cannot be fitted",
            fix="check that the expression input holds raw read counts",
        )
    try:
        coef = parametric_trend(base_mean[use], disp_gene[use])
        return coef[0] + coef[1] / base_mean, "parametric"
    except _TrendFailed as failure:
        warnings.warn(
            f"the parametric dispersion trend a0 + a1/mean {failure}; a local regression "
            "trend is used instead (as DESeq2 does)",
            TmeAnalysisWarning,
            stacklevel=3,
        )
        return local_trend(base_mean[use], disp_gene[use], base_mean), "local"


def prior_variance(disp_gene: np.ndarray, disp_fit: np.ndarray, residual_df: int) -> tuple[float, float]:
    """DESeq2 ``estimateDispersionsPriorVar``: ``(prior variance, variance of log residuals)``.

    ``s^2 = mad(log disp_gene - log disp_fit)^2`` over genes with ``disp_gene >= 1e-6``; the prior
    variance is ``max(s^2 - trigamma(df / 2), 0.25)`` with ``df`` the residual degrees of freedom.
    """
    above = disp_gene >= 100 * MIN_DISP
    residual = np.log(disp_gene[above]) - np.log(disp_fit[above])
    var_log = float((1.4826 * np.median(np.abs(residual - np.median(residual)))) ** 2)
    if residual_df <= 3:
        warnings.warn(
            f"only {residual_df} residual degrees of freedom (5 or fewer paired patients): "
            "the dispersion prior variance uses the asymptotic formula where DESeq2 "
            "simulates, so results may differ from R DESeq2's",
            TmeAnalysisWarning,
            stacklevel=3,
        )
    return max(var_log - float(polygamma(1, residual_df / 2)), 0.25), var_log


def map_dispersions(counts, mu, layout, disp_gene, disp_fit, prior_var: float, var_log: float) -> np.ndarray:
    """Final dispersions (DESeq2 ``estimateDispersionsMAP``), ``prior_var, var_log`` from :func:`prior_variance`.

    Line search of the log posterior with prior ``N(log disp_fit, prior_var)`` from the gene-wise
    estimate (the trend when that is below a tenth of it); grid search where it does not
    converge; gene-wise estimates more than 2 SD (``sqrt(var_log)``) above the trend are kept.
    """
    n = counts.shape[1]
    prior = Prior(np.log(disp_fit), prior_var)
    start = np.where(disp_gene > 0.1 * disp_fit, disp_gene, disp_fit)
    search = _line_search(counts, mu, layout, np.log(start), prior)
    alpha = np.exp(search.log_alpha)
    redo = np.flatnonzero(search.iterations >= DISP_MAXIT)
    if redo.size:
        alpha[redo] = _grid_search(counts[redo], mu[redo], layout, prior.subset(redo), n)
    alpha = np.clip(alpha, MIN_DISP, max(10.0, n))
    outlier = np.log(disp_gene) > np.log(disp_fit) + 2.0 * np.sqrt(var_log)
    return np.where(outlier, disp_gene, alpha)


@dataclass
class PairedFit:
    """Per gene: ``base_mean``, ``dispersion``, the post-vs-pre effect of each arm (natural log,
    columns reference, treatment; one column for one arm) and its variance (arms are
    uncorrelated); ``trend`` kind."""

    base_mean: np.ndarray
    dispersion: np.ndarray
    post_effect: np.ndarray
    post_variance: np.ndarray
    trend: str


def _post_effects(counts, sf, alpha, layout) -> tuple[np.ndarray, np.ndarray]:
    """Coefficients by :func:`fit_beta` and their Wald variances ``1 / sum_{i in a} h_i``."""
    eta = fit_beta(counts, sf, alpha, layout)
    pre, post = pairs(eta)
    effect = layout.arm_sums(post - pre) / layout.n_per_arm  # equal within an arm
    mu = np.maximum(sf * np.exp(eta), MIN_MU)
    w0, w1 = pairs(mu / (1.0 + alpha[:, None] * mu))
    return effect, 1.0 / layout.arm_sums(w0 * w1 / (w0 + w1))


def _in_chunks(function, n_threads: int, *arrays: np.ndarray) -> tuple[np.ndarray, ...]:
    """``function`` over fixed blocks of genes (rows), in ``n_threads`` threads; outputs stacked.

    The blocks do not depend on ``n_threads``, so neither do the results; numpy and scipy release
    the GIL in their array loops, so threads run in parallel.
    """
    blocks = [slice(start, start + GENE_BLOCK) for start in range(0, len(arrays[0]), GENE_BLOCK)]
    with ThreadPoolExecutor(max(1, n_threads)) as pool:
        parts = list(pool.map(lambda rows: function(*(a[rows] for a in arrays)), blocks))
    return tuple(np.concatenate(outputs) for outputs in zip(*parts))


def fit_paired(
    counts: np.ndarray, layout: PairedLayout, n_threads: int = 1, control: np.ndarray | None = None
) -> PairedFit:
    """Run steps 1-5 of the module docstring on ``counts`` (genes × samples in layout order).

    ``control``: a boolean mask of the genes whose median of ratios gives the size factors
    (DESeq2's ``estimateSizeFactors(controlGenes = )``; e.g. a panel's housekeepers); all genes when None.

    Genes with no count at all get ``base_mean`` 0 and NaN elsewhere (as in DESeq2). The per-gene
    steps run in blocks of genes over ``n_threads`` threads (same results for any number); BLAS
    stays single-threaded inside (its thread pool, woken for every small product or L-BFGS-B
    step, made the fit up to 10 times slower on a busy machine).
    """
    with threadpool_limits(limits=1, user_api="blas"):
        return _fit_paired(np.asarray(counts, dtype=float), layout, n_threads, control)


def _fit_paired(counts: np.ndarray, layout: PairedLayout, n_threads: int, control: np.ndarray | None) -> PairedFit:
    sf = size_factors(counts if control is None else counts[control])
    n_genes = len(counts)
    nonzero = counts.sum(axis=1) > 0
    y = counts[nonzero]
    disp_gene, mu = _in_chunks(lambda c: gene_dispersions(c, sf, layout), n_threads, y)
    base_mean = (y / sf).mean(axis=1)
    disp_fit, trend = dispersion_trend(base_mean, disp_gene)
    prior_var, var_log = prior_variance(disp_gene, disp_fit, layout.residual_df)
    (alpha,) = _in_chunks(
        lambda *a: (map_dispersions(*a[:2], layout, *a[2:], prior_var, var_log),), n_threads, y, mu, disp_gene, disp_fit
    )
    effect, variance = _in_chunks(lambda c, a: _post_effects(c, sf, a, layout), n_threads, y, alpha)
    per_arm = (n_genes, layout.n_arms)
    fit = PairedFit(
        np.zeros(n_genes), np.full(n_genes, np.nan), np.full(per_arm, np.nan), np.full(per_arm, np.nan), trend
    )
    fit.base_mean[nonzero], fit.dispersion[nonzero] = base_mean, alpha
    fit.post_effect[nonzero], fit.post_variance[nonzero] = effect, variance
    return fit


def independent_filtering(base_mean: np.ndarray, pvalue: np.ndarray, alpha: float) -> np.ndarray:
    """BH-adjusted p-values after DESeq2's independent filtering on ``baseMean`` (``pvalueAdjustment``).

    For 50 quantiles ``theta`` of ``baseMean`` from the fraction of zeros to ``FILTER_MAX_QUANTILE``, BH over the
    genes at or above the quantile; count rejections at ``alpha``, smooth them with
    ``lowess(f = 1/5)`` and take the first ``theta`` whose count exceeds the smooth's maximum
    minus the root mean square of its residuals (the first ``theta`` when at most 10 rejections).
    Genes below the chosen quantile get NaN.
    """
    from statsmodels.nonparametric.smoothers_lowess import lowess

    lower = float(np.mean(base_mean == 0))
    theta = np.linspace(lower, FILTER_MAX_QUANTILE if lower < FILTER_MAX_QUANTILE else 1.0, 50)
    cutoffs = np.quantile(base_mean, theta)
    adjusted = np.full((len(base_mean), len(theta)), np.nan)
    for j, cutoff in enumerate(cutoffs):
        use = base_mean >= cutoff
        adjusted[use, j] = benjamini_hochberg(pvalue[use])
    rejections = (adjusted < alpha).sum(axis=0)
    choice = 0
    if rejections.max() > 10:
        smooth = lowess(rejections, theta, frac=1 / 5, it=3, delta=0.01 * np.ptp(theta), return_sorted=False)
        residual = rejections[rejections > 0] - smooth[rejections > 0]
        above = np.flatnonzero(rejections > smooth.max() - np.sqrt(np.mean(residual**2)))
        choice = above[0] if above.size else 0
    return adjusted[:, choice]


def wald_test(fit: PairedFit, weights: np.ndarray, alpha: float) -> dict[str, np.ndarray]:
    """DESeq2's ``results()`` for the contrast ``weights`` of the arms' post effects (one weight per arm).

    ``log2FoldChange = w'c / log 2``, ``lfcSE = sqrt(sum w_a^2 Var(c_a)) / log 2``,
    ``stat = log2FoldChange / lfcSE``, two-sided normal ``pvalue``, ``padj`` by
    :func:`independent_filtering`.
    """
    lfc = fit.post_effect @ weights / np.log(2)
    se = np.sqrt(fit.post_variance @ weights**2) / np.log(2)
    stat = lfc / se
    pvalue = 2.0 * ndtr(-np.abs(stat))
    return {
        "baseMean": fit.base_mean,
        "log2FoldChange": lfc,
        "lfcSE": se,
        "stat": stat,
        "pvalue": pvalue,
        "padj": independent_filtering(fit.base_mean, pvalue, alpha),
    }
