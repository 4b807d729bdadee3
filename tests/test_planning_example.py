"""Planning from the bundled example (config/example, tme simulate --seed 34) against its planted truth.

CD68 (cells/mm², analysed as log1p) follows tme.simulate's model: log density = log 300 + ln 2 x (patient
effect, SD 0.6 + sample effect, SD 0.25 + planted change) + N(0, 0.35²), planted change −0.6 log2 in the
anakinra arm. So on the log scale the truth is bivariate normal with variance ln2² (0.6² + 0.25²) + 0.35²,
correlation ln2² 0.6² / variance, and an arm effect of −0.6 ln 2: the true power of the ANCOVA at any n is
the exact analytic power at these values. Planning from the example's 44 patients must bracket it within
the residual SD's CI. (benchmarks/planning_example.py does the same for the IL-1-induced signature
against a 2,000-patient truth cohort.)
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from tme.config import Design
from tme.planning import ancova_power, estimate_nuisance

from conftest import REPO

LN2 = np.log(2)
VARIANCE = LN2**2 * (0.6**2 + 0.25**2) + 0.35**2
RHO = LN2**2 * 0.6**2 / VARIANCE
RESIDUAL_SD = np.sqrt(VARIANCE * (1 - RHO**2))
EFFECT = -0.6 * LN2


def example_cd68() -> pd.DataFrame:
    example = REPO / "config" / "example"
    samples = pd.read_csv(example / "samples.tsv", sep="\t", keep_default_na=False)
    immune = pd.read_csv(example / "immune.tsv", sep="\t")
    usable = samples[samples["exclude_reason"] == ""][["sample_id", "patient_id", "arm", "timepoint"]]
    cd68 = immune[immune["measure"] == "CD68"].merge(usable, on="sample_id")
    return cd68.assign(feature="CD68", value=np.log1p(cd68["value"]))


def test_example_planning_brackets_the_planted_power():
    row = estimate_nuisance(example_cd68(), Design(), ["CD68"], n_bootstrap=2000, seed=1).iloc[0]
    assert row["residual_sd_ci_low"] < RESIDUAL_SD < row["residual_sd_ci_high"]
    assert row["rho_ci_low"] < RHO < row["rho_ci_high"]
    lines = []
    for n in (6, 10, 15, 22):
        pairs = n * (1 - row["missing_post"])
        truth = ancova_power(pairs, EFFECT, RESIDUAL_SD, 0.05)
        planned = ancova_power(pairs, EFFECT, row["residual_sd"], 0.05)
        low, high = (ancova_power(pairs, EFFECT, row[f"residual_sd_ci_{s}"], 0.05) for s in ("high", "low"))
        lines.append(f"n {n}: true {truth:.3f}, planned {planned:.3f} ({low:.3f}-{high:.3f})")
        assert low <= truth <= high
    print("\nCD68, planted effect 0.66-fold: " + "; ".join(lines))
