"""tme.singlecell: scanpy score_genes parity, the fast and backed paths, summaries, pseudobulk, simulator."""

from __future__ import annotations

import anndata as ad
import numpy as np
import pandas as pd
import pytest
import scanpy as sc
import scipy.sparse as sp

from tme.singlecell import (
    annotate_cell_types,
    aucell,
    cell_type_proportions,
    control_genes,
    gene_means,
    pseudobulk,
    pseudobulk_per_cell_type,
    score_genes,
    score_h5ad,
    score_signatures,
    simulate_singlecell,
    summary_table,
    write_singlecell_example,
)

TOL = 1e-5


@pytest.fixture(scope="module")
def pbmc() -> ad.AnnData:
    return sc.datasets.pbmc68k_reduced()


@pytest.fixture(scope="module")
def synthetic() -> ad.AnnData:
    """2,000 cells × 1,500 genes, ~10 % non-zero, log1p-normalised, CSR float32 (seeded)."""
    rng = np.random.default_rng(11)
    n_cells, n_genes = 2000, 1500
    counts = sp.random(
        n_cells,
        n_genes,
        density=0.1,
        format="csr",
        random_state=rng,
        data_rvs=lambda n: rng.poisson(3.0, n) + 1.0,
        dtype=np.float32,
    )
    counts = sp.csr_matrix(counts.multiply(rng.gamma(2.0, 0.5, n_genes)[None, :]), dtype=np.float32)
    counts.data = np.round(counts.data) + 1
    adata = ad.AnnData(
        counts,
        obs=pd.DataFrame(index=[f"c{i}" for i in range(n_cells)]),
        var=pd.DataFrame(index=[f"G{i}" for i in range(n_genes)]),
    )
    adata.layers["counts"] = adata.X.copy()
    sc.pp.normalize_total(adata, target_sum=1e4)
    sc.pp.log1p(adata)
    return adata


def _gene_sets(var_names: pd.Index, sizes, seed: int) -> dict[str, list[str]]:
    rng = np.random.default_rng(seed)
    return {f"set{i}_{n}": list(rng.choice(var_names, size=n, replace=False)) for i, n in enumerate(sizes)}


def _scanpy_scores(adata: ad.AnnData, sets: dict, **kwargs) -> pd.DataFrame:
    out = {}
    for name, genes in sets.items():
        sc.tl.score_genes(adata, genes, score_name="_ref", **kwargs)
        out[name] = adata.obs.pop("_ref").to_numpy()
    return pd.DataFrame(out, index=adata.obs_names)


# --- scanpy parity ---------------------------------------------------------------------------------


@pytest.mark.parametrize("use_raw", [True, False])  # raw: sparse log-normalised; X: dense scaled (negatives)
@pytest.mark.parametrize("seed", [0, 7])
def test_score_genes_equals_scanpy_on_pbmc68k(pbmc, use_raw, seed):
    genes = pbmc.raw.var_names if use_raw else pbmc.var_names
    sets = _gene_sets(genes, (2, 12, 40, 120), seed) | {"t_cell": ["CD3D", "CD3E", "IL7R", "LCK", "NOT_A_GENE"]}
    adata = pbmc.copy()
    expected = _scanpy_scores(adata, sets, use_raw=use_raw, random_state=seed)
    for name, gene_list in sets.items():
        score_genes(adata, gene_list, score_name=name, use_raw=use_raw, random_state=seed)
    assert np.abs(adata.obs[list(sets)].to_numpy() - expected.to_numpy()).max() <= TOL
    fast = score_signatures(adata, sets, use_raw=use_raw, random_state=seed, chunk_size=97)
    assert np.abs(fast[list(sets)].to_numpy() - expected.to_numpy()).max() <= TOL


def test_fast_path_equals_scanpy_on_synthetic_sparse(synthetic):
    adata = synthetic.copy()
    sets = _gene_sets(adata.var_names, (5, 30, 100, 250), 3)
    expected = _scanpy_scores(adata, sets, random_state=42)
    exact = adata.copy()
    for name, gene_list in sets.items():
        score_genes(exact, gene_list, score_name=name, random_state=42)
    assert np.abs(exact.obs[list(sets)].to_numpy() - expected.to_numpy()).max() <= TOL
    fast = score_signatures(adata, sets, random_state=42, chunk_size=300)
    assert np.abs(fast.to_numpy() - expected.to_numpy()).max() <= TOL
    assert adata.obsm["signature_scores"].shape == (adata.n_obs, len(sets))
    assert adata.uns["signature_scores"]["coverage"]["n_controls"].gt(0).all()


@pytest.fixture(scope="module")
def rounding_probe() -> ad.AnnData:
    """60,000 cells x 400 genes in 200 pairs, each pair the same values in another cell order.

    Summed in float64 (exact here) a pair ties; summed cell after cell in float32 (scipy, scanpy
    <= 1.12.1) it does not. Ties take the lowest rank, so the two roundings put genes in different
    expression bins and draw different controls: only the rounding scanpy uses reproduces it.
    """
    rng = np.random.default_rng(5)
    first = sp.random(60_000, 200, density=0.2, format="csc", random_state=rng, dtype=np.float32)
    first.data = np.log1p(first.data * 30).astype(np.float32)
    second = first[rng.permutation(60_000)]
    X = sp.hstack([first, second], format="csr", dtype=np.float32)
    return ad.AnnData(X, var=pd.DataFrame(index=[f"G{i}" for i in range(400)]))


@pytest.mark.parametrize("dense", [False, True])
def test_scores_equal_scanpy_where_the_rounding_of_means_matters(rounding_probe, dense, monkeypatch):
    """tme's means round as the installed scanpy's (public ``score_genes``), sparse and dense."""
    adata = rounding_probe[:15_000].copy() if dense else rounding_probe.copy()
    if dense:
        adata.X = adata.X.toarray()
    sets = _gene_sets(adata.var_names, (60, 80), 9)
    expected = _scanpy_scores(adata, sets, random_state=0)
    # same controls: differences are scanpy's float32 row sums (~1e-7); other controls: > 1e-3
    assert (
        np.abs(score_signatures(adata, sets, chunk_size=7_000, key_added=None).to_numpy() - expected.to_numpy()).max()
        <= TOL
    )
    if not dense:  # the probe discriminates: the other rounding draws other controls
        import tme.singlecell.score as score_module

        installed = score_module._scanpy_sums_sparse_in_float64()
        monkeypatch.setattr(score_module, "_scanpy_sums_sparse_in_float64", lambda: not installed)
        other = score_signatures(adata, sets, chunk_size=7_000, key_added=None)
        assert np.abs(other.to_numpy() - expected.to_numpy()).max() > 1e-3


def test_control_genes_do_not_touch_global_random_state(synthetic):
    np.random.seed(123)
    before = np.random.get_state()[1].copy()
    means = gene_means(synthetic)
    first = control_genes(means, list(synthetic.var_names[:20]), random_state=5)
    assert np.array_equal(np.random.get_state()[1], before)
    assert first.equals(control_genes(means, list(synthetic.var_names[:20]), random_state=5))
    assert not first.intersection(synthetic.var_names[:20]).size


def test_backed_and_counts_paths_match_in_memory(synthetic, tmp_path):
    sets = _gene_sets(synthetic.var_names, (10, 50), 5)
    expected = score_signatures(synthetic.copy(), sets, key_added=None)
    path = tmp_path / "cells.h5ad"
    synthetic.write_h5ad(path)
    backed = ad.read_h5ad(path, backed="r")
    got = score_signatures(backed, sets, chunk_size=333, key_added=None)
    backed.file.close()
    assert np.abs(got.to_numpy() - expected.to_numpy()).max() <= TOL
    counts = ad.AnnData(synthetic.layers["counts"], obs=synthetic.obs, var=synthetic.var)
    from_counts = score_signatures(counts, sets, target_sum=1e4, chunk_size=512, key_added=None)
    assert np.abs(from_counts.to_numpy() - expected.to_numpy()).max() <= TOL


def test_score_h5ad_reads_the_matrix_scanpy_would_score(synthetic, tmp_path):
    """From a file: raw/X when present (as scanpy), a layer on request; one pass or chunked."""
    sets = _gene_sets(synthetic.var_names, (10, 50), 6)
    adata = synthetic.copy()
    adata.raw = adata
    adata.X = adata.X * 2  # not what scanpy scores when raw is present
    adata.obsm["X_umap"] = np.zeros((adata.n_obs, 2))
    path = tmp_path / "cells.h5ad"
    adata.write_h5ad(path)
    expected = score_signatures(synthetic.copy(), sets, key_added=None)
    for chunk_size in (50_000, 333):
        scores, coverage = score_h5ad(path, sets, chunk_size=chunk_size)
        assert scores.index.equals(synthetic.obs_names) and list(coverage.index) == list(sets)
        assert np.abs(scores.to_numpy() - expected.to_numpy()).max() <= TOL
    from_counts, _ = score_h5ad(path, sets, layer="counts", use_raw=False, target_sum=1e4)
    assert np.abs(from_counts.to_numpy() - expected.to_numpy()).max() <= TOL


def test_sets_without_genes_are_reported_not_scored(synthetic):
    sets = {"ok": list(synthetic.var_names[:10]), "absent": ["NOPE1", "NOPE2"]}
    scores = score_signatures(synthetic, sets, key_added="s")
    assert list(scores.columns) == ["ok"]
    coverage = synthetic.uns["s"]["coverage"].set_index("signature")
    assert coverage.loc["absent", "n_present"] == 0 and not coverage.loc["absent", "scored"]


def test_aucell_equals_decoupler_without_ties(tmp_path):
    import decoupler as dc

    rng = np.random.default_rng(0)
    n_cells, n_genes = 300, 400  # 60 % non-zero: the top 5 % (20 genes) never reaches the tied zeros
    X = rng.lognormal(0, 1, (n_cells, n_genes)) * (rng.random((n_cells, n_genes)) < 0.6)
    genes = [f"G{i}" for i in range(n_genes)]
    adata = ad.AnnData(
        sp.csr_matrix(X), obs=pd.DataFrame(index=[f"c{i}" for i in range(n_cells)]), var=pd.DataFrame(index=genes)
    )
    sets = {f"S{k}": list(rng.choice(genes, size=size, replace=False)) for k, size in enumerate((5, 12, 30, 60))}
    net = pd.DataFrame([(s, g) for s, members in sets.items() for g in members], columns=["source", "target"])
    dc.mt.aucell(adata, net, tmin=1)
    expected = adata.obsm["score_aucell"][list(sets)].to_numpy()
    assert np.abs(aucell(adata, sets, chunk_size=77).to_numpy() - expected).max() < 1e-12
    path = tmp_path / "a.h5ad"
    adata.write_h5ad(path)
    backed = ad.read_h5ad(path, backed="r")
    assert np.abs(aucell(backed, sets, key_added=None).to_numpy() - expected).max() < 1e-12
    backed.file.close()


# --- simulator, summaries, pseudobulk --------------------------------------------------------------


@pytest.fixture(scope="module")
def sim() -> dict:
    return simulate_singlecell(seed=3, n_patients=12, cells_per_sample=400, n_genes=1500)


def test_simulator_is_deterministic_and_small(tmp_path):
    a = write_singlecell_example(tmp_path / "a", seed=5, n_patients=4, cells_per_sample=100, n_genes=800)
    b = write_singlecell_example(tmp_path / "b", seed=5, n_patients=4, cells_per_sample=100, n_genes=800)
    for x, y in zip(a, b):
        assert x.read_bytes() == y.read_bytes(), x.name
    adata = ad.read_h5ad(a[0])
    assert set(adata.obs["sample_id"]) <= set(pd.read_csv(a[1], sep="\t")["sample_id"])
    assert np.all(np.mod(adata.X.data, 1) == 0)


def _changes(table: pd.DataFrame, samples: pd.DataFrame) -> pd.DataFrame:
    """Mean post − pre change per feature and arm (log2 of proportion + 0.005 for proportions)."""
    table = table.merge(samples[["sample_id", "patient_id", "arm", "timepoint"]], on="sample_id")
    wide = table.pivot_table(index=["feature", "patient_id", "arm"], columns="timepoint", values="value").dropna()
    delta = wide["post"] - wide["pre"]
    log = wide.index.get_level_values("feature").str.startswith("proportion|")
    delta[log] = np.log2(wide.loc[log, "post"] + 0.005) - np.log2(wide.loc[log, "pre"] + 0.005)
    return delta.groupby(level=["feature", "arm"]).mean().unstack("arm")


def test_planted_changes_are_recovered(sim):
    adata, samples, truth = sim["adata"].copy(), sim["samples"], sim["truth"]
    adata.layers["counts"] = adata.X.copy()
    sc.pp.normalize_total(adata, target_sum=1e4)
    sc.pp.log1p(adata)
    from tme.signatures import load_library

    lib = load_library()
    sigs = {name: lib[name].genes for name in truth["feature"].str.split("|").str[1].unique() if name in lib}
    scores = score_signatures(adata, sigs)
    change = _changes(summary_table(adata.obs, scores, min_cells=10), samples)
    for row in truth.itertuples():
        got = change.loc[row.feature]
        if row.between_arm_difference != 0:  # the arm difference has the planted sign and half its size
            assert np.sign(got["anakinra"] - got["usual_care"]) == np.sign(row.between_arm_difference), row.feature
            assert abs(got["anakinra"] - got["usual_care"]) > 0.3 * abs(row.between_arm_difference), row.feature
        elif row.change_anakinra != 0:  # a drift in both arms
            assert got["anakinra"] > 0 and got["usual_care"] > 0, row.feature
        else:
            assert abs(got["anakinra"] - got["usual_care"]) < 0.15, row.feature


def test_marker_annotation_recovers_lineages(sim):
    adata = sim["adata"].copy()
    sc.pp.normalize_total(adata, target_sum=1e4)
    sc.pp.log1p(adata)
    annotate_cell_types(adata, key_added="predicted")
    truth = adata.obs["cell_type"].astype(str).replace({"IL1B+ macrophage": "Macrophage"})
    assert (adata.obs["predicted"].astype(str) == truth).mean() > 0.9
    assert adata.obsm["marker_scores"].shape[1] == 8


def test_pseudobulk_sums_counts_exactly(sim):
    adata = sim["adata"]
    per_sample = pseudobulk(adata, layer=None)
    per_type = pseudobulk(adata, groupby=["sample_id", "cell_type"], layer=None)
    column_sums = np.asarray(adata.X.sum(axis=0, dtype=np.float64)).ravel().astype(np.int64)
    assert per_sample.dtypes.eq(np.int64).all()
    assert np.array_equal(per_sample.sum(axis=1).to_numpy(), column_sums)
    sid = per_sample.columns[0]
    cells = adata.obs["sample_id"].to_numpy() == sid
    assert np.array_equal(
        per_sample[sid].to_numpy(), np.asarray(adata.X[cells].sum(axis=0, dtype=np.float64)).ravel().astype(np.int64)
    )
    by_sample = per_type.T.groupby(per_type.columns.str.split("|").str[0]).sum().T
    assert by_sample.equals(per_sample[by_sample.columns])
    assert per_type.attrs["n_cells"][f"{sid}|T cell"] == int((cells & (adata.obs["cell_type"] == "T cell")).sum())
    macrophages = pseudobulk_per_cell_type(adata, layer=None, min_cells=1)["Macrophage"]
    assert macrophages.equals(
        per_type[[f"{s}|Macrophage" for s in macrophages.columns]].set_axis(macrophages.columns, axis=1)
    )
    assert set(macrophages.columns) <= set(sim["samples"]["sample_id"])


def test_summary_table_layout(sim):
    obs = sim["adata"].obs
    scores = pd.DataFrame({"A": np.arange(len(obs), dtype=float)}, index=obs.index)
    table = summary_table(obs, scores, min_cells=10)
    assert list(table.columns) == ["sample_id", "feature", "feature_type", "value"]
    assert set(table["feature_type"]) == {"cell_type_proportion", "cell_type_score"}
    props = cell_type_proportions(obs)
    assert np.allclose(props.sum(axis=1), 1.0)
    sid = obs["sample_id"].iloc[0]
    all_mean = table.loc[(table["sample_id"] == sid) & (table["feature"] == "score|A|all"), "value"].item()
    assert all_mean == pytest.approx(scores.loc[(obs["sample_id"] == sid).to_numpy(), "A"].mean())
