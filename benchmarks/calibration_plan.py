"""Family-wise error of the analysis plan's primary family in simulated null window trials.

Each null trial has 40–44 patients randomised 1:1 (as benchmarks/calibration.py: patient random
intercept SD 0.8, residual SD 0.6, +0.3 SD drift in both arms, ~10 % of post samples missing) and a
primary family of five endpoints whose residuals are correlated (ρ = 0.5 between endpoints, as
immune densities and inflammation signatures are). No endpoint differs between arms. Each trial is
analysed as the workflow does — :func:`tme.stats.effects_between_arms`, primary analysis ANCOVA,
the family adjusted with the plan's procedure — and makes a family-wise error when any endpoint's
adjusted p is below α.

Usage::

    python benchmarks/calibration_plan.py --null-trials 1000 --seed 1

The last line is ``RESULT fwer_holm=<a> fwer_hierarchical=<b> fwer_hochberg=<c> fwer_unadjusted=<d>``.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

from tme.stats import Design, effects_between_arms

SD_PATIENT, SD_RESIDUAL, DRIFT, P_MISSING_POST = 0.8, 0.6, 0.3, 0.10
N_PATIENTS = (40, 41, 42, 43, 44)
N_ENDPOINTS, RHO = 5, 0.5
PROCEDURES = ("holm", "hierarchical", "hochberg", "none")


def null_trial(rng: np.random.Generator, design: Design = Design()) -> pd.DataFrame:
    """One trial's long values table: endpoints ``e1``…``e5``, no arm effect, correlated residuals."""
    n = int(rng.choice(N_PATIENTS))
    arm = np.where(np.arange(n) % 2 == 0, design.reference_arm, design.treatment_arm)
    cov = np.full((N_ENDPOINTS, N_ENDPOINTS), RHO) + (1 - RHO) * np.eye(N_ENDPOINTS)
    noise = lambda: rng.multivariate_normal(np.zeros(N_ENDPOINTS), cov, n) * SD_RESIDUAL  # noqa: E731
    patient = rng.multivariate_normal(np.zeros(N_ENDPOINTS), cov, n) * SD_PATIENT
    pre, post = patient + noise(), patient + DRIFT + noise()
    post[rng.random(n) < P_MISSING_POST] = np.nan
    frames = [pd.DataFrame({"patient_id": np.repeat([f"P{i:02d}" for i in range(n)], N_ENDPOINTS),
                            "arm": np.repeat(arm, N_ENDPOINTS), "timepoint": timepoint,
                            "feature": np.tile([f"e{k + 1}" for k in range(N_ENDPOINTS)], n), "value": value.ravel()})
              for timepoint, value in ((design.pre, pre), (design.post, post))]  # fmt: skip
    return pd.concat(frames, ignore_index=True)


def family_wise_errors(n_trials: int, seed: int, alpha: float = 0.05) -> pd.Series:
    """Share of null trials in which the primary family rejects anything, per procedure."""
    rng = np.random.default_rng(seed)
    features = pd.DataFrame(
        {"feature": [f"e{k + 1}" for k in range(N_ENDPOINTS)], "feature_type": "endpoint", "family": "primary"}
    )
    errors = dict.fromkeys(PROCEDURES, 0)
    for _ in range(n_trials):
        values = null_trial(rng)
        for procedure in PROCEDURES:
            table = effects_between_arms(
                values, Design(), features, analyses=["ancova"], multiplicity={"primary": procedure}
            )
            errors[procedure] += bool((table["p_adjusted"] < alpha).any())
    return pd.Series(errors) / n_trials


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--null-trials", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    start = time.perf_counter()
    fwer = family_wise_errors(args.null_trials, args.seed)
    se = np.sqrt(0.05 * 0.95 / args.null_trials)
    print(
        f"{args.null_trials} null trials, {N_ENDPOINTS} primary endpoints (ρ = {RHO}), "
        f"{time.perf_counter() - start:.0f} s;"
        f" Monte Carlo SE at 0.05: {se:.4f}"
    )
    print(fwer.to_string())
    print("RESULT " + " ".join(f"fwer_{'unadjusted' if p == 'none' else p}={fwer[p]:.4f}" for p in PROCEDURES))


if __name__ == "__main__":
    main()
