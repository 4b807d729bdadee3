"""Point-pattern statistics of one slide: nearest-neighbour distances and cross-type Ripley's K / L.

All functions take coordinates in µm as ``(n, 2)`` float arrays and use
:class:`scipy.spatial.cKDTree`; queries run in chunks of ``chunk_size`` points so that memory stays
bounded by one slide (a whole-slide export has 10⁵–10⁶ cells).

Window
    Ripley's K needs an observation window ``W``; tme uses a rectangle
    :class:`Window` ``[x0, x1] × [y0, y1]`` (by default the bounding box of the slide's cells), as
    spatstat does for ``owin(xrange, yrange)``.

Cross-type K (Ripley 1977; Baddeley, Rubak & Turner 2015, *Spatial Point Patterns*, §7.4 and
§14.4; spatstat ``Kcross`` / ``Kmulti``)
    For points of type *i* (``n_i`` of them) and *j* (``n_j``) in ``W`` with area ``|W|``, and
    ``λ_j = n_j / |W|``::

        border     K_ij(r) = |W| Σ_{x∈X_i, b(x) ≥ r} #{y∈X_j : ‖x − y‖ ≤ r} / (n_j · #{x∈X_i : b(x) ≥ r})
        isotropic  K_ij(r) = |W| Σ_{x∈X_i} Σ_{y∈X_j} 1{‖x − y‖ ≤ r} e(x, ‖x − y‖) / (n_i n_j)

    where ``b(x)`` is the distance from ``x`` to the boundary of ``W`` (border, or "reduced
    sample", correction) and ``e(x, d) = 2π / (length of the circle of radius d around x inside
    W)`` is Ripley's (1977) isotropic edge weight, capped to [1, 100] as spatstat does. Under
    independence of the two types (and complete spatial randomness of *j*) ``K_ij(r) = π r²``.
    ``L_ij(r) = √(K_ij(r) / π)`` (Besag 1977) equals ``r`` under independence; ``L > r`` means
    *i* cells have more *j* cells within ``r`` than expected (attraction), ``L < r`` fewer.

    Ties: a pair at distance exactly ``r`` counts (``≤ r``, the textbook definition); spatstat's
    histogram counts ``d < r`` and uses ``b(x) ≥`` the previous grid value, which differs only
    when a distance equals ``r`` exactly (parity is tested on continuous coordinates).
    spatstat returns NA for the isotropic estimate at ``r ≥`` half the window diagonal; so does tme.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy  # scipy.spatial loads on first use: the workflow imports this module to plan its jobs

CHUNK_SIZE = 100_000
MAX_EDGE_WEIGHT = 100.0  # spatstat edge.Ripley(maxweight = 100)


@dataclass(frozen=True)
class Window:
    """A rectangular observation window ``[x0, x1] × [y0, y1]`` in µm."""

    x0: float
    x1: float
    y0: float
    y1: float

    def __post_init__(self) -> None:
        if not (self.x1 > self.x0 and self.y1 > self.y0):
            raise ValueError(f"window has no area: {self}")

    @classmethod
    def around(cls, xy: np.ndarray) -> Window:
        """The bounding box of the points (spatstat ``owin(range(x), range(y))``)."""
        return cls(float(xy[:, 0].min()), float(xy[:, 0].max()), float(xy[:, 1].min()), float(xy[:, 1].max()))

    @property
    def area(self) -> float:
        return (self.x1 - self.x0) * (self.y1 - self.y0)

    @property
    def half_diagonal(self) -> float:
        return 0.5 * float(np.hypot(self.x1 - self.x0, self.y1 - self.y0))

    def border_distance(self, xy: np.ndarray) -> np.ndarray:
        """Distance from each point to the window boundary (spatstat ``bdist.points``)."""
        return np.minimum.reduce([xy[:, 0] - self.x0, self.x1 - xy[:, 0], xy[:, 1] - self.y0, self.y1 - xy[:, 1]])


def nearest_distance(xy_from: np.ndarray, xy_to: np.ndarray, chunk_size: int = CHUNK_SIZE) -> np.ndarray:
    """Euclidean distance from each point of ``xy_from`` to the nearest point of ``xy_to``.

    ``inf`` for every point when ``xy_to`` is empty. One KD-tree of the targets, queried in chunks.
    """
    out = np.full(len(xy_from), np.inf)
    if len(xy_to) == 0 or len(xy_from) == 0:
        return out
    tree = scipy.spatial.cKDTree(xy_to, balanced_tree=False, compact_nodes=False)
    for start in range(0, len(xy_from), chunk_size):
        out[start : start + chunk_size] = tree.query(xy_from[start : start + chunk_size], k=1)[0]
    return out


def ripley_edge_weight(xy: np.ndarray, d: np.ndarray, window: Window) -> np.ndarray:
    """Ripley's isotropic edge weight ``e(x, d)`` for points ``xy`` (one row per pair) and distances ``d``.

    ``e = 2π / (2π − θ_out)`` where ``θ_out`` is the angle of the circle of radius ``d`` around
    ``x`` lying outside the rectangle: each edge at distance ``δ < d`` cuts an arc of half-angle
    ``a = arccos(δ / d)``; arcs of two adjacent edges overlap by ``a₁ + a₂ − π/2`` when that is
    positive (the corner lies inside the circle); arcs of opposite edges never overlap. The weight
    is clipped to [1, 100] (spatstat ``edge.Ripley``). ``d = 0`` gives weight 1.
    """
    d = np.asarray(d, dtype=float)
    safe = np.where(d > 0, d, 1.0)
    half = []
    for delta in (xy[:, 0] - window.x0, window.x1 - xy[:, 0], xy[:, 1] - window.y0, window.y1 - xy[:, 1]):
        half.append(np.where(delta < d, np.arccos(np.clip(delta / safe, 0.0, 1.0)), 0.0))
    left, right, down, up = half
    outside = 2.0 * (left + right + down + up)
    for a, b in ((left, up), (left, down), (right, up), (right, down)):
        outside -= np.maximum(0.0, a + b - np.pi / 2)
    with np.errstate(divide="ignore"):
        weight = 2.0 * np.pi / (2.0 * np.pi - outside)
    return np.where(d > 0, np.clip(weight, 1.0, MAX_EDGE_WEIGHT), 1.0)


def _pairs(tree_j: scipy.spatial.cKDTree, xy_i: np.ndarray, r: float):
    """Pairs ``(i, j, d)`` with ``d ≤ r`` between the chunk ``xy_i`` and the tree of type *j*."""
    tree_i = scipy.spatial.cKDTree(xy_i, balanced_tree=False, compact_nodes=False)
    pairs = tree_i.sparse_distance_matrix(tree_j, r, output_type="ndarray")
    return pairs["i"], pairs["v"]


def pair_sums(
    xy_i: np.ndarray, xy_j: np.ndarray, radii, window: Window, chunk_size: int = CHUNK_SIZE
) -> tuple[np.ndarray, np.ndarray]:
    """Per point of type *i* and radius: the number of *j* points within ``r`` and their edge-weight sum.

    Returns ``(counts, weights)``, each ``(n_i, len(radii))``. The building block of
    :func:`k_cross` and of per-cell-type sums over many types at once (one pass over all immune
    cells of a slide).
    """
    radii = np.atleast_1d(np.asarray(radii, dtype=float))
    counts = np.zeros((len(xy_i), len(radii)))
    weights = np.zeros((len(xy_i), len(radii)))
    if len(xy_i) == 0 or len(xy_j) == 0:
        return counts, weights
    tree_j = scipy.spatial.cKDTree(xy_j, balanced_tree=False, compact_nodes=False)
    for start in range(0, len(xy_i), chunk_size):
        chunk = xy_i[start : start + chunk_size]
        i, d = _pairs(tree_j, chunk, float(radii.max()))
        w = ripley_edge_weight(chunk[i], d, window)
        for k, r in enumerate(radii):
            close = d <= r
            counts[start : start + len(chunk), k] = np.bincount(i[close], minlength=len(chunk))
            weights[start : start + len(chunk), k] = np.bincount(i[close], weights=w[close], minlength=len(chunk))
    return counts, weights


def k_from_sums(
    counts: np.ndarray, weights: np.ndarray, border: np.ndarray, n_j: int, radii, window: Window, correction: str
) -> np.ndarray:
    """Cross-type K at each radius from :func:`pair_sums` output of the *i* points (formulas in the module doc)."""
    radii = np.atleast_1d(np.asarray(radii, dtype=float))
    n_i = counts.shape[0]
    if n_i == 0 or n_j == 0:
        return np.full(len(radii), np.nan)
    if correction == "isotropic":
        k = window.area * weights.sum(axis=0) / (n_i * n_j)
        return np.where(radii < window.half_diagonal, k, np.nan)
    if correction == "border":
        inside = border[:, None] >= radii[None, :]
        n_inside = inside.sum(axis=0)
        total = (counts * inside).sum(axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(n_inside > 0, window.area * total / (n_j * n_inside), np.nan)
    raise ValueError(f"unknown edge correction {correction!r} (use 'border' or 'isotropic')")


def k_cross(
    xy_i: np.ndarray,
    xy_j: np.ndarray,
    radii,
    window: Window,
    correction: str = "isotropic",
    chunk_size: int = CHUNK_SIZE,
) -> np.ndarray:
    """Cross-type Ripley's K_ij(r) of type *i* to type *j* at each radius (spatstat ``Kcross(X, i, j)``).

    Parameters
    ----------
    xy_i, xy_j
        Coordinates (µm) of the two types, all inside ``window``.
    radii
        Distances ``r`` (µm).
    window
        The rectangular observation window.
    correction
        ``"border"`` or ``"isotropic"`` (Ripley); formulas in the module docstring.

    Returns
    -------
    K_ij at each radius (µm²); NaN where undefined (an empty type; no *i* point at least ``r`` from
    the border; isotropic at ``r ≥`` half the window diagonal).
    """
    counts, weights = pair_sums(xy_i, xy_j, radii, window, chunk_size)
    return k_from_sums(counts, weights, window.border_distance(xy_i), len(xy_j), radii, window, correction)


def l_cross(
    xy_i: np.ndarray,
    xy_j: np.ndarray,
    radii,
    window: Window,
    correction: str = "isotropic",
    chunk_size: int = CHUNK_SIZE,
) -> np.ndarray:
    """Besag's ``L_ij(r) = √(K_ij(r) / π)`` (spatstat ``Lcross``); ``L = r`` under independence."""
    return np.sqrt(k_cross(xy_i, xy_j, radii, window, correction, chunk_size) / np.pi)
