"""Type I error and power of tme's between-arm analyses in simulated window trials.

Each simulated trial has 40–44 patients randomised 1:1, a patient random intercept
(SD 0.8) and residual noise (SD 0.6), so one measurement has SD 1; both arms drift by +0.3 SD
from pre to post (core biopsy → resection); ~10 % of patients lose their post sample (missing
completely at random). Null trials have no arm difference; power trials add −0.8 SD to the
treatment arm's post values. Every trial is analysed with
:func:`tme.stats.effects_between_arms` (a trial is one feature of a long table, so trials are
independent); a test rejects when p < alpha (the bootstrap when its BCa CI excludes 0).

Usage::

    python benchmarks/calibration.py --null-trials 1000 --power-trials 500 --seed 1

The last line is ``RESULT type1_ancova=<a> type1_mwu=<b> type1_lmm=<c> power_ancova=<d>``.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

from tme.stats import Design, effects_between_arms

SD_PATIENT, SD_RESIDUAL = 0.8, 0.6  # total SD of one measurement: 1
DRIFT, EFFECT = 0.3, -0.8  # in SD units
P_MISSING_POST = 0.10
N_PATIENTS = (40, 41, 42, 43, 44)


def simulate_trials(n_trials: int, effect: float, rng: np.random.Generator, design: Design = Design()) -> pd.DataFrame:
    """Long ``values`` table holding ``n_trials`` independent trials as features ``trial_<i>``.

    The trial's size is drawn from 40–44; patients beyond it have no values for that feature.
    """
    n_max = max(N_PATIENTS)
    arm = np.where(np.arange(n_max) % 2 == 0, design.reference_arm, design.treatment_arm)
    treated = arm == design.treatment_arm
    size = rng.choice(N_PATIENTS, n_trials)
    b = rng.normal(0, SD_PATIENT, (n_trials, n_max))
    pre = b + rng.normal(0, SD_RESIDUAL, (n_trials, n_max))
    post = b + DRIFT + effect * treated + rng.normal(0, SD_RESIDUAL, (n_trials, n_max))
    enrolled = np.arange(n_max)[None, :] < size[:, None]
    pre[~enrolled] = np.nan
    post[~enrolled | (rng.random((n_trials, n_max)) < P_MISSING_POST)] = np.nan
    frames = []
    for timepoint, value in ((design.pre, pre), (design.post, post)):
        frames.append(
            pd.DataFrame(
                {
                    "patient_id": np.tile([f"P{i:02d}" for i in range(n_max)], n_trials),
                    "arm": np.tile(arm, n_trials),
                    "timepoint": timepoint,
                    "feature": np.repeat([f"trial_{t}" for t in range(n_trials)], n_max),
                    "value": value.ravel(),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def rejection_rates(table: pd.DataFrame, alpha: float = 0.05) -> pd.Series:
    """Share of trials in which each analysis rejects H0 at ``alpha`` (NA rows excluded)."""
    boot = table["analysis"] == "bootstrap_mean_change"
    ci_excludes_0 = (table["ci_low"] > 0) | (table["ci_high"] < 0)
    reject = pd.Series(np.where(boot, ci_excludes_0, table["p"] < alpha), index=table.index)
    ok = table["estimate"].notna()
    return reject[ok].groupby(table.loc[ok, "analysis"]).mean()


def run(n_null: int, n_power: int, seed: int, n_bootstrap: int = 999) -> pd.DataFrame:
    """Type I error (null trials) and power (planted effect) per between-arm analysis."""
    rng = np.random.default_rng(seed)
    null = effects_between_arms(simulate_trials(n_null, 0.0, rng), Design(), n_bootstrap=n_bootstrap, seed=seed)
    out = {"type1": rejection_rates(null)}
    if n_power:
        power = effects_between_arms(
            simulate_trials(n_power, EFFECT, rng), Design(), n_bootstrap=n_bootstrap, seed=seed
        )
        out["power"] = rejection_rates(power)
    return pd.DataFrame(out)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--null-trials", type=int, default=1000)
    parser.add_argument("--power-trials", type=int, default=500)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    start = time.perf_counter()
    rates = run(args.null_trials, args.power_trials, args.seed)
    print(
        f"{args.null_trials} null trials, {args.power_trials} trials with a {EFFECT:+} SD "
        f"effect, seed {args.seed}, {time.perf_counter() - start:.0f} s"
    )
    print(rates.round(4).to_string())
    print(
        f"RESULT type1_ancova={rates.loc['ancova', 'type1']:.4f} "
        f"type1_mwu={rates.loc['mann_whitney_change', 'type1']:.4f} "
        f"type1_lmm={rates.loc['mixed_model', 'type1']:.4f} "
        f"power_ancova={rates.loc['ancova', 'power']:.4f}"
    )


if __name__ == "__main__":
    main()
