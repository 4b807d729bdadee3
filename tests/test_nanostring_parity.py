"""Parity of tme.nanostring with Bioconductor NanoStringQCPro 1.30 (fixtures from a committed R script).

``tests/fixtures/nanostring/make_rcc.py`` writes two simulated RCC folders — ``small`` (7 files made
awkward: zero and tied counts, negatives with SD 0, housekeepers in the background, a CRLF file, a
gzip file, controls without concentration labels) and ``cohort56`` (53 files, with three planted
QC failures) — and ``make_fixtures.R`` runs NanoStringQCPro's ``newRccSet`` (``readRcc``) and
``preprocRccSet`` on them (geometric-mean positive scaling, mean + 2 SD background subtracted,
mean-log2 housekeeping normalisation; NanoStringQCPro adds 1 to every count, tme's ``pseudocount=1``).
Counts must be identical; factors, R² (R ``lm``) and normalised log2 values within 1e-9.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tme.nanostring import NormalisationOptions, nanostring_qc, normalise, read_rcc_set

FIXTURES = Path(__file__).parent / "fixtures" / "nanostring"
TOL = 1e-9
QCPRO = NormalisationOptions(background="subtract", background_sd=2.0, housekeeping_reference="none", pseudocount=1)


def _expected(folder: str, what: str) -> pd.DataFrame:
    return pd.read_csv(
        FIXTURES / "expected" / f"{folder}_{what}.tsv",
        sep="\t",
        keep_default_na=False,
        dtype={"sample_attribute_id": str, "lane_id": str, "cartridge_id": str},
    )


@pytest.fixture(scope="module", params=["small", "cohort56"])
def case(request):
    folder = request.param
    rcc = read_rcc_set(FIXTURES / folder / "rcc", rlf=FIXTURES / folder / "OZM_IO360_like.rlf")
    return folder, rcc, normalise(rcc, QCPRO)


def _aligned(rcc, table: pd.DataFrame) -> np.ndarray:
    """The R table's values, rows in tme's probe order and columns in tme's file order."""
    keyed = table.set_index(["CodeClass", "Name", "Accession"])
    keys = list(zip(rcc.probes["code_class"], rcc.probes["name"], rcc.probes["accession"]))
    return keyed.loc[keys, rcc.lanes["file_name"].tolist()].to_numpy(dtype=np.float64)


def test_files_and_lane_attributes_identical(case):
    folder, rcc, _ = case
    lanes = _expected(folder, "lanes")
    assert rcc.lanes["file_name"].tolist() == lanes["file"].tolist()
    for column in ("sample_attribute_id", "lane_id", "cartridge_id"):
        assert rcc.lanes[column].tolist() == lanes[column].tolist(), column
    for column in ("fov_count", "fov_counted", "binding_density"):
        np.testing.assert_array_equal(rcc.lanes[column].to_numpy(), lanes[column].to_numpy(dtype=float))


def test_counts_identical(case):
    folder, rcc, _ = case
    expected = _aligned(rcc, _expected(folder, "counts"))
    assert len(expected) == len(rcc.probes) == len(_expected(folder, "counts"))
    np.testing.assert_array_equal(rcc.counts, expected.astype(np.int64))


def test_normalisation_factors_match(case):
    folder, rcc, norm = case
    expected = _expected(folder, "factors")
    for tme_column, r_column in (
        ("positive_factor", "positive_factor"),
        ("background_scaled", "background_scaled"),
        ("housekeeping_geomean", "housekeeping_geomean"),
    ):
        np.testing.assert_allclose(
            norm.factors[tme_column].to_numpy(), expected[r_column].to_numpy(), rtol=0, atol=TOL, err_msg=tme_column
        )


def test_positive_linearity_matches_lm(case):
    folder, rcc, norm = case
    qc = nanostring_qc(rcc, norm)
    np.testing.assert_allclose(
        qc["positive_r2"].to_numpy(), _expected(folder, "factors")["positive_r2"].to_numpy(), rtol=0, atol=TOL
    )


def test_normalised_log2_match(case):
    folder, rcc, norm = case
    expected = _aligned(rcc, _expected(folder, "normalised"))
    assert np.abs(norm.log2 - expected).max() <= TOL


def test_nsolver_reference_is_a_shift_of_qcpro(case):
    """tme's default rescales to the mean housekeeping geomean (nSolver): NanoStringQCPro + log2(mean h)."""
    folder, rcc, _ = case
    nsolver = normalise(rcc, NormalisationOptions(background="subtract", pseudocount=1))
    h = _expected(folder, "factors")["housekeeping_geomean"].to_numpy()
    expected = _aligned(rcc, _expected(folder, "normalised")) + np.log2(h.mean())
    assert np.abs(nsolver.log2 - expected).max() <= TOL
    np.testing.assert_allclose(nsolver.factors["housekeeping_factor"], h.mean() / h, rtol=TOL)


def test_fixture_is_awkward():
    """The small folder holds what it promises (so the parity above covers it)."""
    rcc = read_rcc_set(FIXTURES / "small" / "rcc")
    names = rcc.lanes["file_name"]
    assert names.str.endswith(".gz").sum() == 1
    assert any(b"\r\n" in p.read_bytes() for p in (FIXTURES / "small" / "rcc").glob("*.RCC"))
    assert (rcc.counts[rcc.rows("Endogenous")] == 0).any()
    neg = rcc.counts[rcc.rows("Negative")]
    assert (neg.std(axis=0) == 0).any()
    norm = normalise(rcc, QCPRO)
    assert (rcc.counts[rcc.rows("Housekeeping")] <= norm.factors["background"].to_numpy()).any()
