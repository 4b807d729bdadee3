"""tme.cells.spatial: closed-form exactness on constructed layouts and parity with R spatstat Kcross/Lcross."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tme.cells.spatial import Window, k_cross, l_cross, nearest_distance, pair_sums, ripley_edge_weight

FIXTURES = Path(__file__).parent / "fixtures" / "cells"
EXACT = 1e-9


# --- spatstat parity ---------------------------------------------------------------------------------


def _parity_cases():
    values = pd.read_csv(FIXTURES / "kcross_values.csv")
    return [(key, sub) for key, sub in values.groupby(["pattern", "i", "j", "correction"])]


@pytest.fixture(scope="module")
def patterns():
    points = pd.read_csv(FIXTURES / "kcross_points.csv")
    windows = pd.read_csv(FIXTURES / "kcross_windows.csv").set_index("pattern")
    return points, windows


@pytest.mark.parametrize("key, expected", _parity_cases(), ids=lambda v: "-".join(v) if isinstance(v, tuple) else "")
def test_kcross_and_lcross_equal_spatstat(patterns, key, expected):
    """spatstat 3.0.3 Kcross / Lcross on rectangular windows (tests/fixtures/cells/make_fixtures.R)."""
    points, windows = patterns
    pattern, i, j, correction = key
    window = Window(*windows.loc[pattern, ["x0", "x1", "y0", "y1"]])
    sub = points[points["pattern"] == pattern]
    xy_i = sub.loc[sub["mark"] == i, ["x", "y"]].to_numpy()
    xy_j = sub.loc[sub["mark"] == j, ["x", "y"]].to_numpy()
    radii = expected["r"].to_numpy()
    k = k_cross(xy_i, xy_j, radii, window, correction, chunk_size=13)  # several chunks
    ell = l_cross(xy_i, xy_j, radii, window, correction)
    want_k, want_l = expected["K"].to_numpy(), expected["L"].to_numpy()
    assert np.array_equal(np.isnan(k), np.isnan(want_k))  # NA where spatstat gives NA (border: no point ≥ r inside)
    ok = ~np.isnan(want_k)
    assert np.all(np.abs(k[ok] - want_k[ok]) <= 1e-6 * np.maximum(1.0, np.abs(want_k[ok])))
    assert np.all(np.abs(ell[ok] - want_l[ok]) <= 1e-6 * np.maximum(1.0, want_l[ok]))


def test_parity_fixtures_cover_awkward_patterns():
    values = pd.read_csv(FIXTURES / "kcross_values.csv")
    points = pd.read_csv(FIXTURES / "kcross_points.csv")
    assert {"tiny", "narrow", "edges", "attraction", "segregated", "poisson"} <= set(values["pattern"])
    assert values["K"].isna().any()  # border-undefined radii are part of the comparison
    counts = points.groupby(["pattern", "mark"]).size()
    assert counts.min() <= 3 and counts.max() >= 100


# --- closed forms -----------------------------------------------------------------------------------


def test_edge_weight_closed_forms():
    window = Window(0.0, 100.0, 0.0, 100.0)
    xy = np.array([[50.0, 50.0], [0.0, 50.0], [0.0, 0.0], [3.0, 50.0], [3.0, 4.0], [50.0, 50.0]])
    d = np.array([10.0, 10.0, 10.0, 6.0, 10.0, 0.0])
    a = np.arccos(3.0 / 6.0)
    a3, a4 = np.arccos(3.0 / 10.0), np.arccos(4.0 / 10.0)  # corner (0, 0) at distance 5 < 10: arcs overlap
    outside_corner = 2 * a3 + 2 * a4 - (a3 + a4 - np.pi / 2)
    expected = [1.0, 2.0, 4.0, np.pi / (np.pi - a), 2 * np.pi / (2 * np.pi - outside_corner), 1.0]
    assert np.allclose(ripley_edge_weight(xy, d, window), expected, rtol=0, atol=EXACT)


def test_edge_weight_is_capped_like_spatstat():
    window = Window(0.0, 1.0, 0.0, 1.0)
    w = ripley_edge_weight(np.array([[0.0, 0.0]]), np.array([5.0]), window)  # almost all of the circle outside
    assert w[0] == 100.0


def test_nearest_distance_on_a_lattice():
    s = 10.0
    grid = np.array([[i * s, j * s] for i in range(6) for j in range(6)])
    centres = grid[(grid[:, 0] < 50) & (grid[:, 1] < 50)] + s / 2
    d = nearest_distance(centres, grid, chunk_size=7)
    assert np.max(np.abs(d - s / np.sqrt(2))) <= EXACT
    assert np.all(np.isinf(nearest_distance(centres, np.empty((0, 2)))))
    assert len(nearest_distance(np.empty((0, 2)), grid)) == 0


def test_k_cross_border_and_isotropic_on_a_lattice():
    """j: unit lattice on [0, 10]² (121 points); i: lattice-cell centres; at r = 0.8 each i has exactly 4 j."""
    window = Window(0.0, 10.0, 0.0, 10.0)
    xy_j = np.array([[x, y] for x in range(11) for y in range(11)], dtype=float)
    xy_i = np.array([[x + 0.5, y + 0.5] for x in range(10) for y in range(10)])
    r = 0.8
    inside = (window.border_distance(xy_i) >= r).sum()  # centres at least 0.8 from the edge: 8 × 8
    assert inside == 64
    k_border = k_cross(xy_i, xy_j, [r], window, "border")[0]
    assert abs(k_border - 100.0 * 4 * 64 / (121 * 64)) <= EXACT
    # isotropic: centres at least 0.8 from the edge have whole circles inside (weight 1)
    interior = xy_i[window.border_distance(xy_i) >= r]
    k_iso = k_cross(interior, xy_j, [r], window, "isotropic")[0]
    assert abs(k_iso - 100.0 * 4 * 64 / (64 * 121)) <= EXACT
    assert abs(l_cross(xy_i, xy_j, [r], window, "border")[0] - np.sqrt(k_border / np.pi)) <= EXACT


def test_k_cross_counts_a_pair_at_exactly_r():
    window = Window(0.0, 100.0, 0.0, 100.0)
    xy_i, xy_j = np.array([[50.0, 50.0]]), np.array([[53.0, 54.0]])  # distance exactly 5
    counts, _ = pair_sums(xy_i, xy_j, [4.999999, 5.0], window)
    assert counts.tolist() == [[0.0, 1.0]]
    assert k_cross(xy_i, xy_j, [5.0], window, "border")[0] == pytest.approx(1e4)


def test_k_cross_undefined_cases_are_nan():
    window = Window(0.0, 10.0, 0.0, 10.0)
    xy = np.array([[5.0, 5.0]])
    assert np.isnan(k_cross(xy, np.empty((0, 2)), [1.0], window, "border")[0])
    assert np.isnan(k_cross(xy, xy, [6.0], window, "border")[0])  # no i point ≥ 6 from the edge
    assert np.isnan(k_cross(xy, xy, [7.1], window, "isotropic")[0])  # r ≥ half the diagonal (7.07)
    with pytest.raises(ValueError, match="edge correction"):
        k_cross(xy, xy, [1.0], window, "translate")


def test_window_around_and_border_distance():
    xy = np.array([[1.0, 2.0], [4.0, 8.0], [2.0, 3.0]])
    window = Window.around(xy)
    assert (window.x0, window.x1, window.y0, window.y1) == (1.0, 4.0, 2.0, 8.0)
    assert window.area == 18.0
    assert window.border_distance(xy).tolist() == [0.0, 0.0, 1.0]
    with pytest.raises(ValueError):
        Window(0.0, 0.0, 0.0, 1.0)
