"""Type I error of every between-arm analysis in 200 simulated null window trials (< 60 s).

Simulation: benchmarks/calibration.py (40–44 patients 1:1, patient random effect, +0.3 SD drift
in both arms, ~10 % missing post samples). With 200 trials the binomial 99.8 % range of the
rejection count at a true rate of 0.05 is about 2–20, so the band asserted is [0.01, 0.10]; the
full-size run (1,000 trials) targets [0.035, 0.065].
"""

import importlib.util
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "calibration.py"


@pytest.fixture(scope="module")
def calibration():
    spec = importlib.util.spec_from_file_location("calibration", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_type1_error_near_nominal(calibration):
    rates = calibration.run(n_null=200, n_power=0, seed=20261125, n_bootstrap=499)
    assert set(rates.index) == {
        "ancova",
        "mann_whitney_change",
        "welch_t_change",
        "mixed_model",
        "bootstrap_mean_change",
        "ancova_hc3",
        "clda",
        "mi_mar",
    }
    for analysis, rate in rates["type1"].items():
        assert 0.01 <= rate <= 0.10, f"{analysis}: type I error {rate:.3f} outside [0.01, 0.10]"
