r"""GSVA step 1, the kernel CDF statistic, computed with R GSVA 1.46's own arithmetic.

For gene :math:`g` and sample :math:`j` (:math:`m` samples), R GSVA 1.46 (C ``matrix_density_R``
→ ``row_d``) computes

.. math::

   F_{gj} = \frac1m \sum_{i=1}^{m} K(x_{gj}, x_{gi}), \qquad
   z_{gj} = -\log\frac{1 - F_{gj}}{F_{gj}},

adding the :math:`m` kernel terms one after the other in sample order, with

* ``kcdf="gaussian"``: :math:`K = T[\lfloor |v| / 10 \cdot 10^4 \rfloor]` (:math:`1 - T[\cdot]` for
  :math:`v < 0`; 0 or 1 beyond :math:`\pm 10`), :math:`v = (x_{gj} - x_{gi}) / h_g`,
  :math:`h_g = \mathrm{sd}(x_g)/4` (sd summed in C ``long double``) and :math:`T` the table
  ``pnorm(10 i / 10^4)``, :math:`i = 0..10^4`;
* ``kcdf="poisson"``: :math:`K = P(\mathrm{Pois}(x_{gi} + 0.5) \le x_{gj})` (R ``ppois``).

Genes whose values tie in exact arithmetic (e.g. the same counts in another sample order) get
sums that differ in the last bit, and GSVA's ``order()`` then ranks them by those bits. tme
therefore adds the same doubles in the same order and takes the same C-library ``log``, so that
:math:`z` is bit-identical to R's — not merely close — wherever that is possible:

* the table :math:`T` and, for counts 0..100, the Poisson terms are R's own values, shipped in
  ``tme/data`` (made by ``tools/make_gsva_kernel_tables.R``: scipy's ``ndtr``/``pdtr`` differ from
  R's ``pnorm``/``ppois`` in the last bit for 4 % / 56 % of them);
* the bandwidth repeats R's two-pass ``long double`` sd (numpy ``longdouble``; identical where that
  is the 80-bit x87 type, as on Linux x86-64);
* genes whose counts exceed 100 get :math:`K` from a normalised pmf recurrence (below), within
  about 1e-13 of the exact Poisson CDF (measured: ≤ 2e-14 up to :math:`\lambda = 4 \cdot 10^6`;
  scipy's ``pdtr`` is off by 1e-11 there): their scores match R to far better than 1e-6, but two
  such genes with the very same multiset of counts may be ranked in the other order.

Speed (R is :math:`O(n m^2)` evaluations of ``ppois`` or of two divisions and a table lookup):
a term depends only on the two values, so each gene's distinct values are paired once; the
Gaussian terms are computed for :math:`v_a > v_b` only (:math:`K(-v) = 1 - K(v)` exactly, as every
table value lies in [0.5, 1]); the table index is found with one multiplication instead of two
divisions, and a row is redone R's way when an index lands within 1e-9 of an integer (the two
differ by at most about 5e-12); the loops are compiled with numba (cached on disk after the first
call); ``n_jobs`` threads take blocks of :data:`GENE_CHUNK` genes. 20,000 genes x 200 samples, one
thread, 2 shared cores: 0.7-1.2 s (Gaussian) and 0.9-1.4 s (Poisson, NB counts) against R's
3-4 s and 110-140 s (``benchmarks/bench_scoring.py``).

Poisson terms above the grid: for :math:`\lambda = x + 0.5`, the counts :math:`k` with
:math:`|k - \lambda| > t = E/3 + \sqrt{E^2/9 + 2E\lambda}`, :math:`E = 40`, carry less than
:math:`e^{-40}` of the mass on either side (Bernstein's inequality), so the pmf is built by the
recurrence :math:`p_{k+1} = p_k \lambda / (k + 1)` outwards from the mode over that window and
divided by its sum; the CDF is 0 below the window and 1 above it.

Reference: Hänzelmann S, Castelo R, Guinney J (2013) GSVA: gene set variation analysis for
microarray and RNA-seq data. *BMC Bioinformatics* 14:7; R/Bioconductor GSVA 1.46.0,
``src/kernel_estimation.c``.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import math
from functools import cache
from importlib import resources

import numba
import numpy as np

from tme.scoring._ranks import map_sample_chunks

#: Genes per work unit for the kernel step (fixed, so results do not depend on ``n_jobs``).
GENE_CHUNK = 256
#: Largest count whose Poisson terms are R's own (the shipped grid covers counts 0..100).
POISSON_GRID_MAX = 100
#: A row's table index is recomputed R's way when within this distance of an integer.
INDEX_TOLERANCE = 1e-9
#: Poisson window half-width exponent: neglected tail mass below exp(-TAIL_EXPONENT) per term.
TAIL_EXPONENT = 40.0


def _c_log():
    """The C library's ``log`` (what GSVA's C code calls), callable from numba without being
    vectorised into another implementation (e.g. Intel SVML, which rounds differently)."""
    library = ctypes.CDLL(ctypes.util.find_library("m") or ctypes.util.find_library("c"))
    function = library.log
    function.restype = ctypes.c_double
    function.argtypes = [ctypes.c_double]
    return function


_LOG = _c_log()


def _read_doubles(name: str) -> np.ndarray:
    data = resources.files("tme").joinpath("data", name).read_bytes()
    return np.frombuffer(data, dtype="<f8").astype(np.float64)


@cache
def r_normal_table() -> np.ndarray:
    """GSVA's ``pnorm(10 i / 10^4)``, :math:`i = 0..10^4`, as R computes it."""
    return _read_doubles("gsva_r_pnorm_table.f64")


@cache
def r_poisson_grid() -> np.ndarray:
    """R's ``ppois(q, c + 0.5)`` for counts :math:`q, c = 0..100`, indexed ``[q, c]``."""
    size = POISSON_GRID_MAX + 1
    return _read_doubles("gsva_r_ppois_grid.f64").reshape(size, size)


def r_bandwidth(G: np.ndarray) -> np.ndarray:
    """Per gene (rows of ``G``) ``sd / 4`` exactly as GSVA's C ``sd()`` computes the sd.

    That function sums in ``long double``, one sample after the other: a first mean, a
    correction pass (``mean += sum(x - mean) / m``), the mean rounded to double, then the sum of
    squared double deviations divided by :math:`m - 1` and the square root taken in double.
    """
    ld = np.longdouble
    m = G.shape[1]
    total = np.zeros(G.shape[0], dtype=ld)
    for i in range(m):
        total += G[:, i].astype(ld)
    mean = total / ld(m)
    correction = np.zeros_like(total)
    for i in range(m):
        correction += G[:, i].astype(ld) - mean
    finite = np.isfinite(mean.astype(np.float64))
    mean = np.where(finite, mean + correction / ld(m), mean).astype(np.float64)
    squares = np.zeros_like(total)
    for i in range(m):
        deviation = G[:, i] - mean
        squares += (deviation * deviation).astype(ld)
    return np.sqrt((squares / ld(m - 1)).astype(np.float64)) / 4.0


# ----------------------------------------------------------------------------- kernel terms
# Both kernels fill ``T[b, a]``: the term a sample whose value is the ``b``-th distinct value of the
# gene adds to the left tail at the ``a``-th distinct value (values sorted increasingly).


@numba.njit(nogil=True, cache=True, fastmath={"nnan", "ninf"})
def _fast_index_row(above, base, scale, saturation, index):
    """Table indices :math:`\\lfloor (v - v_b) \\cdot 1000 / h \\rfloor` for the values ``above``
    :math:`v_b` = ``base`` (loops start at 0 over slices: numba then vectorises them).

    Returns 1 when some value lies within :data:`INDEX_TOLERANCE` of an integer, where R's
    ``|v| / 10 * 10000`` (two divisions) might truncate to the neighbouring index.
    """
    near = 0
    for a in range(above.shape[0]):
        w = min((above[a] - base) * scale, saturation)
        k = np.int32(w)
        f = w - k
        near |= ((f < INDEX_TOLERANCE) & (w >= 1.0)) | (f > 1.0 - INDEX_TOLERANCE)
        index[a] = k
    return near


@numba.njit(nogil=True, cache=True)
def _exact_row(above, base, h, table, row):
    """The same terms with R's ``precomputedCdf`` operations."""
    for a in range(above.shape[0]):
        v = (above[a] - base) / h
        row[a] = 1.0 if v > 10.0 else table[int(abs(v) / 10.0 * 10000.0)]


@numba.njit(nogil=True, cache=True)
def _gaussian_terms(values, h, table, saturation, T, index):
    """``T[b, a]`` for the Gaussian kernel: the table above the diagonal (:math:`v_a > v_b`),
    ``1 - T[a, b]`` below it, ``table[0]`` (= 0.5) on it."""
    d = values.shape[0]
    scale = 1000.0 / h
    for b in range(d):
        T[b, b] = table[0]
        above, row = values[b + 1 : d], T[b, b + 1 : d]
        if _fast_index_row(above, values[b], scale, saturation, index):
            _exact_row(above, values[b], h, table, row)
        else:
            for a in range(above.shape[0]):
                row[a] = table[index[a]]
    for b in range(d):
        for a in range(b):
            T[b, a] = 1.0 - T[a, b]


@numba.njit(nogil=True, cache=True)
def _poisson_window(lam):
    """Counts ``lo..hi`` outside which each tail of Pois(``lam``) holds less than exp(-40)."""
    half_width = TAIL_EXPONENT / 3.0 + math.sqrt(TAIL_EXPONENT**2 / 9.0 + 2.0 * TAIL_EXPONENT * lam)
    return max(0, int(lam - half_width)), int(lam + half_width) + 1


@numba.njit(nogil=True, cache=True)
def _poisson_terms(values, grid, T):
    """``T[b, a]`` = :math:`P(\\mathrm{Pois}(v_b + 0.5) \\le v_a)`: R's grid when every count is
    at most :data:`POISSON_GRID_MAX`, else the normalised pmf recurrence of the module docstring
    (0 below its window, 1 above)."""
    d = values.shape[0]
    if values[d - 1] <= POISSON_GRID_MAX:
        for b in range(d):
            for a in range(d):
                T[b, a] = grid[int(values[a]), int(values[b])]
        return
    weights = np.empty(_poisson_window(values[d - 1] + 0.5)[1] + 2)
    for b in range(d):
        lam = values[b] + 0.5
        lo, hi = _poisson_window(lam)
        mode = int(lam)
        weights[mode - lo] = 1.0
        for k in range(mode, hi):
            weights[k + 1 - lo] = weights[k - lo] * (lam / (k + 1))
        for k in range(mode, lo, -1):
            weights[k - 1 - lo] = weights[k - lo] * (k / lam)
        cumulative = 0.0
        for k in range(hi - lo + 1):
            cumulative += weights[k]
            weights[k] = cumulative
        for a in range(d):
            v = values[a]
            T[b, a] = 0.0 if v < lo else (1.0 if v > hi else weights[int(v) - lo] / cumulative)


@numba.njit(nogil=True, cache=True)
def _distinct(x, order, values, position):
    """Sorted distinct values of ``x`` (given its ``argsort``) into ``values``; ``position[i]``
    = index of ``x[i]`` among them. Returns their number."""
    d = 0
    for r in range(x.shape[0]):
        v = x[order[r]]
        if d == 0 or v != values[d - 1]:
            values[d] = v
            d += 1
        position[order[r]] = d - 1
    return d


@numba.njit(nogil=True, cache=True)
def _left_tails(G, order, poisson, bandwidth, normal_table, saturation, poisson_grid, out):
    """:math:`F_{gj}` for the genes (rows) of ``G`` (``order``: each row's ``argsort``).

    A term depends only on the two values, so the terms are built once per pair of distinct
    values, and :math:`S_a = \\sum_i T[b(i), a]` is summed over the samples ``i`` in order —
    the very additions R makes for every sample whose value is :math:`v_a`.
    """
    n, m = G.shape
    T = np.empty((m, m))
    S = np.empty(m)
    values = np.empty(m)
    position = np.empty(m, dtype=np.intp)
    index = np.empty(m, dtype=np.int32)
    for g in range(n):
        d = _distinct(G[g], order[g], values, position)
        if poisson:
            _poisson_terms(values[:d], poisson_grid, T)
        else:
            _gaussian_terms(values[:d], bandwidth[g], normal_table, saturation, T, index)
        S[:d] = 0.0
        for i in range(m):
            row = T[position[i]]
            for a in range(d):
                S[a] += row[a]
        for j in range(m):
            out[g, j] = S[position[j]] / m


# ----------------------------------------------------------------------------- statistic


@numba.njit(nogil=True, cache=True)
def _log_odds(left_tail, log, out):
    """``out = -1.0 * log((1 - F) / F)`` elementwise, with the C library's ``log``."""
    n, m = left_tail.shape
    for g in range(n):
        for j in range(m):
            f = left_tail[g, j]
            out[g, j] = -1.0 * log((1.0 - f) / f)


def kernel_cdf_statistic(X: np.ndarray, kcdf: str = "gaussian", *, n_jobs: int = 1) -> np.ndarray:
    """Step 1 of GSVA: :math:`z_{gj}` for ``X`` samples x genes (returned in the same shape).

    Bit-identical to R GSVA 1.46 ``compute.gene.density`` for ``kcdf="gaussian"`` and for
    Poisson genes with counts up to :data:`POISSON_GRID_MAX` (see the module docstring);
    ``n_jobs`` threads work on blocks of :data:`GENE_CHUNK` genes, so the values do not depend
    on it.
    """
    G = np.ascontiguousarray(X.T, dtype=np.float64)  # genes x samples
    poisson = kcdf == "poisson"
    table = r_normal_table()
    saturation = float(np.argmax(table == 1.0)) + 0.5  # the table is 1.0 from there on
    grid = r_poisson_grid()
    bandwidth = np.empty(G.shape[0]) if poisson else r_bandwidth(G)
    Z = np.empty_like(G)

    def block(rows: slice) -> None:
        order = np.argsort(G[rows], axis=1)
        left_tail = np.empty_like(G[rows])
        _left_tails(G[rows], order, poisson, bandwidth[rows], table, saturation, grid, left_tail)
        _log_odds(left_tail, _LOG, Z[rows])

    map_sample_chunks(block, G.shape[0], n_jobs, chunk=GENE_CHUNK)
    return Z.T
