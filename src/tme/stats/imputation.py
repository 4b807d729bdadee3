"""Missing post samples: multiple imputation under MAR, Rubin's rules, delta-adjusted tipping point.

**Imputation** (missing at random given the baseline and the arm): the post values of the patients
who have a baseline value but no post sample are drawn ``m`` times from the Bayesian linear
regression ``post ~ pre + arm (+ baseline covariates)`` fitted to the patients with both samples —
the "norm" method of R mice (Rubin 1987, Multiple Imputation for Nonresponse in Surveys, p. 167;
van Buuren, Flexible Imputation of Missing Data 2018, Algorithm 3.1). The arm is a predictor, so
each arm's imputations carry that arm's own mean (imputing within arm), and the model is the
primary ANCOVA itself, so imputation and analysis are congenial (Meng, Stat Sci 1994;9:538). With
OLS ``b``, residual sum of squares ``RSS``, ``V = (X'X)^-1`` and ``nu = n_obs - p``, each
imputation draws ``sigma*^2 = RSS / g``, ``g ~ chi^2_nu``; ``b* = b + sigma* L u``, ``V = L L'``,
``u ~ N(0, I)``; and ``post* = x' b* + sigma* e``, ``e ~ N(0, 1)``; so the uncertainty of the
regression parameters is propagated ("proper" imputation). Draws come from
``numpy.random.default_rng(seed)``, so the same seed gives the same imputations. Patients without a
baseline value are not imputed and not analysed. (Separate regressions per arm — different slopes
and variances by arm — make the pooled ANCOVA test conservative: 3.3–3.9 % rejections of a true
null at 0.05 with 24–40 patients and 20 % of posts missing, against 4.6 % for the congenial model;
``benchmarks/calibration_missing.py``.)

**Analysis and pooling**: each completed dataset is analysed by the primary ANCOVA
``post ~ pre + arm (+ covariates)`` (estimate ``Q_l``, variance ``U_l``, complete-data df
``nu_com = n - p``), and the ``m`` results are pooled by Rubin's rules: ``Qbar = mean(Q_l)``,
``Ubar = mean(U_l)``, ``B = var(Q_l)`` (``m - 1`` divisor), ``T = Ubar + (1 + 1/m) B``,
``SE = sqrt(T)``; ``r = (1 + 1/m) B / Ubar``, ``lambda = (1 + 1/m) B / T`` (floored at 1e-4 as
mice does); df by Barnard & Rubin (Biometrika 1999;86:948):
``nu_old = (m - 1) / lambda^2``, ``nu_obs = (nu_com + 1) / (nu_com + 3) nu_com (1 - lambda)``,
``nu = nu_old nu_obs / (nu_old + nu_obs)``; ``fmi = (r + 2 / (nu + 3)) / (r + 1)``. CI
``Qbar ± t_nu SE``, two-sided p from ``Qbar / SE`` on ``nu`` df. This equals R
``mice::pool`` / ``pool.scalar`` (tested ≤ 1e-10 on the same per-imputation results).

**Delta-adjusted tipping point** (a departure from MAR, e.g. post samples lost because the
tumour responded): the imputed post values of the treatment arm are shifted by ``delta`` (in the
endpoint's units; the same imputations for every ``delta``), re-analysed and re-pooled, over a
grid of ``delta``. The tipping point is the ``delta`` at which the conclusion at level ``alpha =
1 - conf_level`` changes — where the pooled p crosses ``alpha``, located between the last grid
point with the original conclusion and the first without it by Brent's method (scipy
``brentq``, xtol 1e-10). A significant result is only tested towards the null (``delta`` of the
opposite sign to the estimate); a non-significant one in both directions, reporting the smaller
shift. (Ratitch et al., Pharm Stat 2013;12:337; EMA Guideline on missing data in confirmatory
clinical trials, 2010.)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import optimize

from tme.stats.effects import pooled_baseline_sd
from tme.stats.parametric import ancova_design
from tme.stats.result import Estimate, not_estimable, t_estimate

MI_METHOD = (
    "multiple imputation given arm and baseline (Bayesian linear regression post ~ pre + arm + covariates, "
    "{m} imputations, seed {seed}), ANCOVA, Rubin's rules, Barnard-Rubin df"
)
TIPPING_COLUMNS = ["delta", "estimate", "se", "ci_low", "ci_high", "df", "p", "significant"]


@dataclass(frozen=True)
class RubinPooled:
    """Rubin's-rules components (names as in mice::pool): ``riv`` = r, ``lam`` = lambda."""

    m: int
    dfcom: float
    qbar: float
    ubar: float
    b: float
    t: float
    riv: float
    lam: float
    fmi: float
    df: float

    def as_estimate(self, conf_level: float, method: str, note: str = "") -> Estimate:
        se = float(np.sqrt(self.t))
        if not se > 0:
            return not_estimable("pooled variance is 0", method)
        return t_estimate(self.qbar, se, self.df, conf_level, method, note)


def rubin_pool(estimates, variances, dfcom: float) -> RubinPooled:
    """Pool ``m`` estimates and their variances by Rubin's rules with Barnard–Rubin df."""
    q = np.asarray(estimates, float)
    u = np.asarray(variances, float)
    m = len(q)
    qbar, ubar, b = q.mean(), u.mean(), q.var(ddof=1)  # numpy scalars: 0/0 is NaN, not an error
    t = ubar + (1 + 1 / m) * b
    with np.errstate(divide="ignore", invalid="ignore"):
        riv = (1 + 1 / m) * b / ubar
        lam = max((1 + 1 / m) * b / t, 1e-4)
        df_old = (m - 1) / lam**2
        if np.isinf(dfcom):
            df = df_old
        else:
            df_obs = (dfcom + 1) / (dfcom + 3) * dfcom * (1 - lam)
            df = df_old * df_obs / (df_old + df_obs)
        fmi = (riv + 2 / (df + 3)) / (riv + 1)
        values = (qbar, ubar, b, t, riv, (1 + 1 / m) * b / t, fmi, df)
    return RubinPooled(m, float(dfcom), *(float(v) for v in values))


def _draw(x: np.ndarray, post: np.ndarray, missing: np.ndarray, m: int, rng: np.random.Generator) -> np.ndarray | str:
    """``m`` × n_missing draws of the missing posts (mice "norm"), or why there are none."""
    x_obs, y_obs, x_mis = x[~missing], post[~missing], x[missing]
    nu = len(y_obs) - x_obs.shape[1]
    if nu < 1 or np.linalg.matrix_rank(x_obs) < x_obs.shape[1]:
        return f"{len(y_obs)} observed post values cannot fit the imputation model"
    v = np.linalg.inv(x_obs.T @ x_obs)
    b = v @ x_obs.T @ y_obs
    rss = float(np.sum((y_obs - x_obs @ b) ** 2))
    sigma = np.sqrt(rss / rng.chisquare(nu, m))  # (m,)
    u = rng.standard_normal((m, len(b)))
    beta = b[None, :] + sigma[:, None] * (u @ np.linalg.cholesky(v).T)
    noise = rng.standard_normal((m, int(missing.sum())))
    return beta @ x_mis.T + sigma[:, None] * noise


@dataclass(frozen=True)
class Imputations:
    """Completed post values ``(n, m)`` of the patients with a baseline, the ANCOVA design, the
    mask of imputed treatment-arm values (shifted by the tipping-point analysis), the number
    imputed per arm (reference, treatment) and the seed."""

    post: np.ndarray
    design: np.ndarray
    shifted: np.ndarray
    n_imputed: tuple[int, int]
    seed: int


def impute_posts(pre, post, treated, covariates=None, n_imputations: int = 50, seed: int = 0) -> Imputations | str:
    """Impute the missing post values given baseline and arm (module docstring); a reason string on failure.

    ``pre``, ``post``: per patient with NaN when missing; ``treated``: 0/1; ``covariates``:
    (n_patients, k) baseline covariates or None. Patients without ``pre`` are dropped.
    """
    pre, post, treated = (np.asarray(a, float) for a in (pre, post, treated))
    keep = ~np.isnan(pre)
    z = None if covariates is None else np.asarray(covariates, float).reshape(len(pre), -1)[keep]
    pre, post, treated = pre[keep], post[keep], treated[keep]
    design = ancova_design(pre, treated, z)
    if len(pre) <= design.shape[1] or np.linalg.matrix_rank(design) < design.shape[1]:
        return "too few patients with a baseline value for the ANCOVA, or a rank-deficient design"
    completed = np.repeat(post[:, None], n_imputations, axis=1)
    missing = np.isnan(post)
    if missing.any():  # imputation model = the ANCOVA design (intercept, pre, arm, covariates)
        draws = _draw(design, post, missing, n_imputations, np.random.default_rng(seed))
        if isinstance(draws, str):
            return draws
        completed[missing] = draws.T
    n_imputed = (int((missing & (treated == 0)).sum()), int((missing & (treated == 1)).sum()))
    return Imputations(completed, design, missing & (treated == 1.0), n_imputed, seed)


def analyse_imputations(imputations: Imputations, delta: float = 0.0) -> RubinPooled:
    """ANCOVA of each completed dataset (treatment-arm imputations + ``delta``), pooled."""
    x = imputations.design
    y = imputations.post + delta * imputations.shifted[:, None]
    xtx_inv = np.linalg.inv(x.T @ x)
    beta = xtx_inv @ x.T @ y  # (p, m)
    dfcom = x.shape[0] - x.shape[1]
    sigma2 = np.sum((y - x @ beta) ** 2, axis=0) / dfcom
    return rubin_pool(beta[2], sigma2 * xtx_inv[2, 2], dfcom)


def mi_estimate(imputations: Imputations, conf_level: float = 0.95) -> Estimate:
    """The pooled ``mi_mar`` result (Barnard–Rubin df) of :func:`impute_posts` output."""
    method = MI_METHOD.format(m=imputations.post.shape[1], seed=imputations.seed)
    note = "" if sum(imputations.n_imputed) else "no missing post: equals the complete-case ANCOVA"
    return analyse_imputations(imputations).as_estimate(conf_level, method, note)


def multiple_imputation_ancova(
    pre, post, treated, covariates=None, n_imputations: int = 50, seed: int = 0, conf_level: float = 0.95
) -> Estimate:
    """MI (within arm, MAR given baseline) + ANCOVA + Rubin's rules: the ``mi_mar`` analysis.

    Parameters as in :func:`impute_posts`; NaN with a note when an arm has too few observed
    posts to fit its imputation model or the ANCOVA has no residual df.
    """
    imputations = impute_posts(pre, post, treated, covariates, n_imputations, seed)
    if isinstance(imputations, str):
        return not_estimable(imputations, MI_METHOD.format(m=n_imputations, seed=seed))
    return mi_estimate(imputations, conf_level)


@dataclass(frozen=True)
class TippingPoint:
    """Grid of delta-adjusted results (:data:`TIPPING_COLUMNS`); the tipping ``delta`` (NaN when
    the conclusion holds over the whole grid) with the pooled result there; whether the result
    at ``delta = 0`` is significant; and a note saying which way the tipping point was sought."""

    grid: pd.DataFrame
    delta: float
    at_delta: Estimate
    significant_at_zero: bool
    note: str


def _pooled(imputations: Imputations, delta: float, conf_level: float) -> Estimate:
    return analyse_imputations(imputations, delta).as_estimate(conf_level, f"delta-adjusted MI, delta = {delta:.6g}")


def _first_flip(imputations: Imputations, deltas: np.ndarray, conf_level: float) -> float:
    """Tipping delta along ``deltas`` (ordered away from 0, starting at 0), or NaN."""

    def excess(delta: float) -> float:
        return _pooled(imputations, delta, conf_level).p - (1 - conf_level)

    start = excess(deltas[0]) < 0
    for previous, delta in zip(deltas[:-1], deltas[1:]):
        if (excess(delta) < 0) != start:
            return float(optimize.brentq(excess, previous, delta, xtol=1e-10))
    return np.nan


def tipping_point(imputations: Imputations, deltas, conf_level: float = 0.95) -> TippingPoint:
    """Delta-adjusted tipping-point analysis of the MI ANCOVA (module docstring).

    ``imputations`` from :func:`impute_posts`; ``deltas``: shifts in the endpoint's units (0 is
    added; see :func:`default_deltas`).
    """
    deltas = np.unique(np.append(np.asarray(deltas, float), 0.0))
    results = [_pooled(imputations, d, conf_level) for d in deltas]
    grid = pd.DataFrame(
        [
            {
                "delta": d,
                "estimate": r.estimate,
                "se": r.se,
                "ci_low": r.ci_low,
                "ci_high": r.ci_high,
                "df": r.df,
                "p": r.p,
                "significant": bool(r.p < 1 - conf_level),
            }
            for d, r in zip(deltas, results)
        ],
        columns=TIPPING_COLUMNS,
    )
    at_zero = results[int(np.flatnonzero(deltas == 0)[0])]
    significant = bool(at_zero.p < 1 - conf_level)
    if not imputations.shifted.any():
        return TippingPoint(
            grid,
            np.nan,
            not_estimable("no missing post in the treatment arm"),
            significant,
            "no missing post in the treatment arm: nothing to shift",
        )
    if not np.isfinite(grid["p"]).all():
        note = f"no test at some delta ({at_zero.note or 'no variation'})"
        return TippingPoint(grid, np.nan, not_estimable(note), significant, note)
    sides = [-np.sign(at_zero.estimate)] if significant else [1.0, -1.0]
    found = [_first_flip(imputations, side * np.sort(side * deltas[side * deltas >= 0]), conf_level) for side in sides]
    found = [d for d in found if np.isfinite(d)]
    if not found:
        note = f"conclusion unchanged for delta in [{deltas.min():.4g}, {deltas.max():.4g}]"
        return TippingPoint(grid, np.nan, not_estimable(note), significant, note)
    delta = min(found, key=abs)
    what = "significance lost" if significant else "becomes significant"
    return TippingPoint(
        grid,
        delta,
        _pooled(imputations, delta, conf_level),
        significant,
        f"{what} when the imputed treatment-arm posts are shifted by {delta:+.4g}",
    )


def default_deltas(pre, treated, max_sd: float = 2.0, step_sd: float = 0.1) -> np.ndarray:
    """``delta`` grid from ``-max_sd`` to ``+max_sd`` pooled baseline SDs in ``step_sd`` steps
    (:func:`tme.stats.effects.pooled_baseline_sd` of the patients with a baseline)."""
    sd = pooled_baseline_sd(pre, treated)
    if not sd > 0:  # constant baselines: no scale for a grid
        return np.zeros(1)
    steps = np.arange(-round(max_sd / step_sd), round(max_sd / step_sd) + 1)
    return steps * step_sd * sd
