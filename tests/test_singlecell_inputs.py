"""tme.singlecell.read_h5ads: QC, the sample sheet join, and every bad input named with file, column and fix."""

from __future__ import annotations

from pathlib import Path

import anndata as ad
import h5py
import numpy as np
import pytest
import scipy.sparse as sp

from tme.config import Design
from tme.errors import TmeInputError
from tme.samplesheet import read_samplesheet
from tme.singlecell import read_h5ads, write_singlecell_example


@pytest.fixture(scope="module")
def example(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("sc")
    write_singlecell_example(out, seed=2, n_patients=4, cells_per_sample=150, n_genes=800)
    return out


@pytest.fixture(scope="module")
def sheet(example):
    return read_samplesheet(example / "samples.tsv", Design())


@pytest.fixture
def cells(example) -> ad.AnnData:
    return ad.read_h5ad(example / "cells.h5ad")


def _write(adata: ad.AnnData, path: Path) -> Path:
    adata.write_h5ad(path)
    return path


def test_reads_qcs_and_excludes_small_samples(example, sheet):
    adata, qc = read_h5ads(example / "cells.h5ad", sheet, min_genes=100, min_counts=200, min_cells=50)
    assert list(qc.columns) == [
        "sample_id",
        "file",
        "n_cells",
        "n_cells_qc",
        "median_genes",
        "median_counts",
        "median_pct_mito",
        "exclude_reason",
    ]
    small = qc[qc["n_cells"] == 30]
    assert len(small) == 1 and "cells passed QC (< min_cells 50)" in small["exclude_reason"].item()
    assert small["sample_id"].item() not in set(adata.obs["sample_id"])
    assert (qc["n_cells_qc"] < qc["n_cells"]).any()  # damaged (high-mitochondrial) cells removed
    assert adata.obs["pct_counts_mt"].max() <= 20
    counts = adata.layers["counts"]
    assert np.all(np.mod(counts.data, 1) == 0)
    assert np.allclose(np.expm1(adata.X[:5].toarray()).sum(axis=1), 1e4, rtol=1e-4)
    assert {"patient_id", "arm", "timepoint", "cell_type"} <= set(adata.obs.columns)


def test_several_files_equal_one(example, sheet, cells, tmp_path):
    patients = cells.obs["sample_id"].str[:7]
    first = _write(cells[patients == "OZM-001"].copy(), tmp_path / "a.h5ad")
    rest = _write(cells[patients != "OZM-001"].copy(), tmp_path / "b.h5ad")
    one, qc_one = read_h5ads(example / "cells.h5ad", sheet, min_genes=100, min_counts=200)
    two, qc_two = read_h5ads([first, rest], sheet, min_genes=100, min_counts=200)
    assert set(one.obs_names) == set(two.obs_names)
    assert qc_one.drop(columns="file").equals(qc_two.drop(columns="file"))


def test_sheet_exclusions_are_carried(example, sheet, tmp_path):
    edited = sheet.copy()
    sid = edited.index[0]
    edited.loc[sid, "exclude_reason"] = "insufficient tumour"
    adata, qc = read_h5ads(example / "cells.h5ad", edited, min_genes=100, min_counts=200)
    assert qc.set_index("sample_id").loc[sid, "exclude_reason"] == "excluded in the sample sheet: insufficient tumour"
    assert sid not in set(adata.obs["sample_id"])


def test_missing_sample_id_column(cells, sheet, tmp_path):
    broken = cells.copy()
    del broken.obs["sample_id"]
    path = _write(broken, tmp_path / "x.h5ad")
    with pytest.raises(TmeInputError, match="no 'sample_id' column") as err:
        read_h5ads(path, sheet)
    assert err.value.file == str(path) and err.value.column == "sample_id" and err.value.fix


def test_sample_not_in_sheet(cells, sheet, tmp_path):
    broken = cells.copy()
    broken.obs["sample_id"] = (
        broken.obs["sample_id"].astype(str).replace({broken.obs["sample_id"].iloc[0]: "OZM-999-BX"})
    )
    with pytest.raises(TmeInputError, match="'OZM-999-BX'.*not in the sample sheet") as err:
        read_h5ads(_write(broken, tmp_path / "x.h5ad"), sheet)
    assert err.value.column == "sample_id"


def test_log_normalised_data_where_counts_are_required(cells, sheet, tmp_path):
    logged = cells.copy()
    logged.X = sp.csr_matrix(np.log1p(logged.X))
    path = _write(logged, tmp_path / "log.h5ad")
    with pytest.raises(TmeInputError, match="no raw counts found") as err:
        read_h5ads(path, sheet)
    assert "layers['counts']" in err.value.fix
    adata, qc = read_h5ads(path, sheet, require_counts=False, min_genes=100)
    assert "counts" not in adata.layers and len(qc)
    negative = cells.copy()
    negative.X = sp.csr_matrix(negative.X.toarray() - 1.0)
    with pytest.raises(TmeInputError, match="non-integer or negative"):
        read_h5ads(_write(negative, tmp_path / "neg.h5ad"), sheet)


def test_counts_in_layer_are_used(cells, sheet, tmp_path):
    layered = cells.copy()
    layered.layers["counts"] = layered.X.copy()
    layered.X = sp.csr_matrix(np.log1p(layered.X))
    adata, _ = read_h5ads(_write(layered, tmp_path / "l.h5ad"), sheet, min_genes=100, min_counts=200)
    assert np.all(np.mod(adata.layers["counts"].data, 1) == 0)


def test_duplicated_barcodes_across_files(cells, sheet, tmp_path):
    a = _write(cells[:200].copy(), tmp_path / "a.h5ad")
    b = _write(cells[100:300].copy(), tmp_path / "b.h5ad")
    with pytest.raises(TmeInputError, match=r"also in .*a\.h5ad") as err:
        read_h5ads([a, b], sheet)
    assert err.value.file == str(b) and "unique across files" in err.value.fix


def test_symbols_versus_ensembl_between_files(cells, sheet, tmp_path):
    a = _write(cells[:200].copy(), tmp_path / "a.h5ad")
    ens = cells[200:400].copy()
    ens.var_names = ens.var["gene_id"].to_numpy()
    b = _write(ens, tmp_path / "b.h5ad")
    with pytest.raises(TmeInputError, match="ensembl identifiers here but symbol") as err:
        read_h5ads([a, b], sheet)
    assert err.value.column == "var"


def test_h5ad_without_obs_index(cells, sheet, tmp_path):
    path = _write(cells.copy(), tmp_path / "x.h5ad")
    with h5py.File(path, "r+") as f:
        del f["obs"].attrs["_index"]
    with pytest.raises(TmeInputError, match="obs has no index"):
        read_h5ads(path, sheet)
    unnamed = cells.copy()
    unnamed.obs_names = [str(i) for i in range(unnamed.n_obs)]
    with pytest.raises(TmeInputError, match="no cell barcodes"):
        read_h5ads(_write(unnamed, tmp_path / "y.h5ad"), sheet)
