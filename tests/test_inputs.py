"""Config, sample sheet, expression matrix and immune table: good input reads, bad input is named.

Every bad input of the foundation issue has a case here; each asserts the message names the
file, the line and/or column, and says how to fix it.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tme.config import Design, validate_config
from tme.errors import TmeInputError
from tme.expression import read_expression
from tme.immune import read_immune
from tme.samplesheet import read_samplesheet

DESIGN = Design()


def error_of(func, *args, **kwargs) -> str:
    with pytest.raises(TmeInputError) as info:
        func(*args, **kwargs)
    message = str(info.value)
    assert "Fix:" in message, message
    return message


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


SHEET = (
    "sample_id\tpatient_id\tarm\ttimepoint\n"
    "A1\tP1\tanakinra\tpre\nA2\tP1\tanakinra\tpost\n"
    "U1\tP2\tusual_care\tpre\nU2\tP2\tusual_care\tpost\n"
)


def counts_file(path: Path, genes=("IL1B", "CXCL8", "CD68"), samples=("A1", "A2", "U1", "U2"), values=None) -> Path:
    values = values if values is not None else [[10, 20, 30, 40]] * len(genes)
    lines = ["gene\t" + "\t".join(samples)]
    lines += [g + "\t" + "\t".join(str(v) for v in row) for g, row in zip(genes, values)]
    return write(path, "\n".join(lines) + "\n")


# --- sample sheet ------------------------------------------------------------------------------


def test_sheet_reads_with_bom_crlf_comments_and_quotes(tmp_path):
    text = (
        "# exported from REDCap\r\n"
        + '"sample_id"\t"patient_id"\tarm\ttimepoint\r\n'
        + SHEET.split("\n", 1)[1].replace("\n", "\r\n")
    )
    path = tmp_path / "s.tsv"
    path.write_bytes(b"\xef\xbb\xbf" + text.encode())
    sheet = read_samplesheet(path, DESIGN)
    assert list(sheet.index) == ["A1", "A2", "U1", "U2"]
    assert sheet.loc["U2", "_line"] == 6  # comment line and header counted


@pytest.mark.parametrize(
    "text, fragments",
    [
        ("sample_id\tpatient_id\tarm\nA1\tP1\tanakinra\n", ["line 1", "'timepoint'", "missing"]),
        (SHEET + "A1\tP3\tanakinra\tpre\n", ["line 6", "'sample_id'", "A1"]),
        (SHEET + "A3\tP1\tanakinra\tpre\n", ["line 6", "'timepoint'", "P1", "2 usable 'pre'"]),
        (SHEET + "A3\tP2\tanakinra\tpre\n", ["'arm'", "P2", "more than one arm"]),
        (SHEET.replace("A2\tP1\tanakinra", "A2\tP1\tplacebo"), ["line 3", "'arm'", "placebo"]),
        (SHEET.replace("A2\tP1\tanakinra\tpost", "A2\tP1\tanakinra\tsurgery"), ["line 3", "'timepoint'", "surgery"]),
        (
            SHEET.replace("A2\tP1\tanakinra", "A2\tP1\tAnakinra"),
            ["line 3", "exactly as the config names it: 'anakinra'"],
        ),
        (
            "sample_id\tpatient_id\tarm\ttimepoint\texclude_reason\n"
            + SHEET.split("\n", 1)[1]
            .replace("post\n", "post\t\n")
            .replace("pre\n", "pre\t\n")
            .replace("U2\tP2\tusual_care\tpost\t", "U2\tP2\tusual_care\tpost\tno tumour"),
            ["'usual_care' has no usable 'post'"],
        ),
        (
            "sample_id\tpatient_id\tarm\ttimepoint\tdays_from_baseline\nA1\tP1\tanakinra\tpre\t2024-03-01\n",
            ["line 2", "'days_from_baseline'", "not a number"],
        ),
        ("sample_id\tpatient_id\tarm\ttimepoint\tsex\nA1\tP1\tanakinra\tpre\tF\n", ["column 'sex'", "unknown column"]),
        ("sample_id,patient_id,arm,timepoint\nA1,P1,anakinra,pre\n", ["line 1", "comma-separated"]),
        ("", ["empty"]),
    ],
)
def test_sheet_errors(tmp_path, text, fragments):
    path = write(tmp_path / "samples.tsv", text)
    message = error_of(read_samplesheet, path, DESIGN)
    assert "samples.tsv" in message
    for fragment in fragments:
        assert fragment in message, message


def test_excluded_duplicate_is_allowed(tmp_path):
    text = "sample_id\tpatient_id\tarm\ttimepoint\texclude_reason\n" + SHEET.split("\n", 1)[1].replace("\n", "\t\n")
    text += "A3\tP1\tanakinra\tpre\treplicate\n"
    sheet = read_samplesheet(write(tmp_path / "s.tsv", text), DESIGN)
    assert sheet.loc["A3", "exclude_reason"] == "replicate"


# --- config -------------------------------------------------------------------------------------


def test_config_defaults_and_errors(tmp_path):
    sheet = write(tmp_path / "s.tsv", SHEET)
    config = validate_config({"samples": str(sheet), "immune": {"path": str(sheet)}})
    assert config["design"]["reference_arm"] == "usual_care" and config["seed"] == 20261125
    message = error_of(
        validate_config, {"samples": str(sheet), "immune": {"path": str(sheet)}, "sedd": 1}, file="c.yaml"
    )
    assert "c.yaml" in message and "unknown key 'sedd'" in message and "seed" in message
    message = error_of(
        validate_config, {"samples": str(sheet), "immune": {"path": str(sheet), "fromat": "long"}}, file="c.yaml"
    )
    assert "immune.fromat" in message
    message = error_of(
        validate_config, {"samples": str(tmp_path / "nope.tsv"), "immune": {"path": str(sheet)}}, file="c.yaml"
    )
    assert "'samples'" in message and "does not exist" in message
    message = error_of(validate_config, {"samples": str(sheet), "expression": {"path": str(sheet), "format": "xlsx"}})
    assert "expression.format" in message and "nfcore_salmon_counts" in message


# --- expression ---------------------------------------------------------------------------------


@pytest.fixture
def sheet(tmp_path):
    return read_samplesheet(write(tmp_path / "samples.tsv", SHEET), DESIGN)


def test_counts_read_map_and_collapse(tmp_path, sheet):
    # Ensembl (versioned), Entrez and legacy symbol all name IL1B/CXCL8; duplicates are summed.
    path = counts_file(
        tmp_path / "m.tsv",
        genes=("ENSG00000125538.12", "3576", "IL8", "NOTAGENE"),
        values=[[1, 2, 3, 4], [10, 10, 10, 10], [5, 5, 5, 5], [7, 7, 7, 7]],
    )
    result = read_expression({"path": str(path), "format": "counts"}, sheet)
    adata = result.adata
    assert list(adata.var_names) == ["CXCL8", "IL1B"]
    assert adata.layers["counts"][:, 0].tolist() == [15, 15, 15, 15]
    assert adata.var.loc["CXCL8", "n_input_ids"] == 2
    assert result.unmapped["input_id"].tolist() == ["NOTAGENE"]
    lib = np.array([16, 17, 18, 19])
    np.testing.assert_allclose(adata.X[:, 1], np.log2(np.array([1, 2, 3, 4]) / lib * 1e6 + 1))


def test_normalised_keeps_highest_mean_duplicate(tmp_path, sheet):
    path = counts_file(tmp_path / "m.tsv", genes=("IL8", "CXCL8"), values=[[1, 1, 1, 1], [5, 6, 7, 8]])
    adata = read_expression({"path": str(path), "format": "normalised", "scale": "log2"}, sheet).adata
    assert adata.X[:, 0].tolist() == [5, 6, 7, 8]
    assert "counts" not in adata.layers


def test_nfcore_salmon_rounds_and_falls_back_to_gene_name(tmp_path, sheet):
    text = (
        "gene_id\tgene_name\tA1\tA2\tU1\tU2\n"
        "ENSG00000125538.12\tIL1B\t1.4\t2.6\t3\t4\n"
        "ENSG99999999999\tCD68\t1\t1\t1\t1\n"
    )
    path = write(tmp_path / "salmon.merged.gene_counts.tsv", text)
    adata = read_expression({"path": str(path), "format": "nfcore_salmon_counts"}, sheet).adata
    assert list(adata.var_names) == ["CD68", "IL1B"]
    assert adata.layers["counts"][:, 1].tolist() == [1, 3, 3, 4]


def test_gzip_matrix(tmp_path, sheet):
    plain = counts_file(tmp_path / "m.tsv")
    gz = tmp_path / "m.tsv.gz"
    gz.write_bytes(gzip.compress(plain.read_bytes()))
    assert read_expression({"path": str(gz)}, sheet).adata.n_vars == 3


@pytest.mark.parametrize(
    "mutate, fragments",
    [
        (
            lambda p: counts_file(p, samples=("A1", "A2", "U1")),
            ["U2", "no column in the expression matrix", "exclude_reason"],
        ),
        (
            lambda p: counts_file(p, samples=("A1", "A2", "U1", "U2", "X9"), values=[[1] * 5] * 3),
            ["line 1", "'X9'", "extra_samples: ignore"],
        ),
        (
            lambda p: counts_file(p, values=[[1, 2, "abc", 4], [1, 2, 3, 4], [1, 2, 3, 4]]),
            ["line 2", "column 'U1'", "non-numeric value 'abc'"],
        ),
        (
            lambda p: counts_file(p, values=[[1, 2, 3, 4], [1, -2, 3, 4], [1, 2, 3, 4]]),
            ["line 3", "column 'A2'", "negative count"],
        ),
        (
            lambda p: counts_file(p, values=[[1, 2, 3, 4], [1, 2, 3, 4], [1.5, 2, 3, 4]]),
            ["line 4", "column 'A1'", "non-integer"],
        ),
        (
            lambda p: counts_file(p, values=[[1, 2, 3, 4], [1, 2, "NA", 4], [1, 2, 3, 4]]),
            ["line 3", "column 'U1'", "missing or infinite"],
        ),
        (
            lambda p: counts_file(p, values=[[1, 2, 3, "inf"], [1, 2, 3, 4], [1, 2, 3, 4]]),
            ["line 2", "column 'U2'", "missing or infinite"],
        ),
        (lambda p: write(p, ""), ["empty"]),
        (lambda p: write(p, "gene,A1,A2,U1,U2\nIL1B,1,2,3,4\n"), ["line 1", "comma-separated"]),
        (lambda p: counts_file(p, genes=("IL1B", "CD68", "IL1B")), ["'IL1B'", "lines 2, 4", "line 4"]),
        (lambda p: counts_file(p, genes=("IL1B", "1-Sep", "2-Mar")), ["Excel", "1-Sep", "line 3"]),
    ],
)
def test_matrix_errors(tmp_path, sheet, mutate, fragments):
    path = mutate(tmp_path / "matrix.tsv")
    message = error_of(read_expression, {"path": str(path), "format": "counts"}, sheet)
    assert "matrix.tsv" in message, message
    for fragment in fragments:
        assert fragment in message, message


def test_extra_matrix_columns_can_be_ignored(tmp_path, sheet):
    path = counts_file(tmp_path / "m.tsv", samples=("A1", "A2", "U1", "U2", "X9"), values=[[1] * 5] * 3)
    result = read_expression({"path": str(path), "extra_samples": "ignore"}, sheet)
    assert result.extra_samples == ["X9"] and result.adata.n_obs == 4


def test_truncated_gzip(tmp_path, sheet):
    data = gzip.compress(counts_file(tmp_path / "m.tsv").read_bytes() * 50)
    path = tmp_path / "m.tsv.gz"
    path.write_bytes(data[: len(data) // 2])
    assert "truncated gzip" in error_of(read_expression, {"path": str(path)}, sheet)


# --- immune -------------------------------------------------------------------------------------

IMMUNE = (
    "sample_id\tmeasure\tvalue\tunit\n"
    "A1\tCD8\t100\tcells/mm2\nA2\tCD8\t50\tcells/mm2\nU1\tCD8\t80\tcells/mm2\nU2\tCD8\t90\tcells/mm2\n"
    "A1\tsTILs\t10\t%\nA2\tsTILs\t20\t%\n"
)


def test_immune_long_and_wide_agree(tmp_path, sheet):
    long_values, measures = read_immune({"path": str(write(tmp_path / "i.tsv", IMMUNE))}, sheet)
    assert dict(zip(measures["measure"], measures["transform"])) == {"CD8": "log1p", "sTILs": "none"}
    cd8 = long_values[long_values["measure"] == "CD8"].set_index("sample_id")["analysis_value"]
    assert cd8["A1"] == pytest.approx(np.log(101))
    wide = "sample_id\tCD8\tsTILs\nA1\t100\t10\nA2\t50\t20\nU1\t80\t\nU2\t90\t\n"
    wide_values, _ = read_immune(
        {"path": str(write(tmp_path / "w.tsv", wide)), "format": "wide", "units": {"CD8": "cells/mm2", "sTILs": "%"}},
        sheet,
    )
    pd.testing.assert_frame_equal(long_values, wide_values)


@pytest.mark.parametrize(
    "text, fragments",
    [
        (IMMUNE + "U1\tsTILs\t0.1\tfraction\n", ["'sTILs'", "more than one unit", "line 8", "column 'unit'"]),
        (IMMUNE + "U1\tsTILs\t120\t%\n", ["line 8", "above the maximum"]),
        (IMMUNE + "Z9\tCD68\t10\tcells/mm2\n", ["line 8", "'Z9'", "not in the sample sheet"]),
        (IMMUNE + "U1\tCD68\tmany\tcells/mm2\n", ["line 8", "column 'value'", "not a number"]),
        (IMMUNE + "U1\tCD68\t10\tcells/um2\n", ["line 8", "column 'unit'", "cells/mm2"]),
        (IMMUNE + "A1\tCD8\t12\tcells/mm2\n", ["line 8", "more than once"]),
    ],
)
def test_immune_errors(tmp_path, sheet, text, fragments):
    message = error_of(read_immune, {"path": str(write(tmp_path / "immune.tsv", text))}, sheet)
    assert "immune.tsv" in message
    for fragment in fragments:
        assert fragment in message, message


def test_expression_pca_matches_the_sample_covariance_eigendecomposition():
    """Scores and variance explained equal an independent route: the eigendecomposition of the
    centred samples' Gram matrix Z Zᵀ (scores = eigenvectors × √eigenvalues, up to sign); a planted
    group shift on 40 genes is what PC1 separates; only the most variable genes enter."""
    import anndata as ad

    from tme.expression import expression_pca

    rng = np.random.default_rng(3)
    n, genes = 24, 500
    group = np.arange(n) % 2
    X = rng.normal(size=(n, genes))
    X[:, :40] += 3.0 * group[:, None]
    X[:, 450:] *= 1e-3  # nearly constant: never among the 300 most variable genes
    obs = pd.DataFrame(
        {"patient_id": [f"P{i // 2}" for i in range(n)], "arm": "a", "timepoint": ["pre", "post"] * (n // 2)},
        index=[f"S{i}" for i in range(n)],
    )
    pca = expression_pca(ad.AnnData(X, obs=obs), n_top=300)

    keep = np.argsort(-X.var(axis=0))[:300]
    assert keep.max() < 450
    Z = X[:, keep] - X[:, keep].mean(axis=0)
    values, vectors = np.linalg.eigh(Z @ Z.T)
    values, vectors = values[::-1], vectors[:, ::-1]
    for j, pc in enumerate(("PC1", "PC2")):
        reference = vectors[:, j] * np.sqrt(values[j])
        sign = np.sign(reference @ pca[pc].to_numpy())
        np.testing.assert_allclose(pca[pc].to_numpy(), sign * reference, rtol=1e-9, atol=1e-9)
        assert pca[f"{pc}_variance_explained"].nunique() == 1
        np.testing.assert_allclose(pca[f"{pc}_variance_explained"].iloc[0], values[j] / values.sum(), rtol=1e-10)
    separated = pca.groupby(group)["PC1"].agg(["min", "max"])
    assert separated.loc[0, "max"] < separated.loc[1, "min"] or separated.loc[1, "max"] < separated.loc[0, "min"]
    assert list(pca["sample_id"]) == list(obs.index) and (pca["n_genes"] == 300).all()
    assert pca.equals(expression_pca(ad.AnnData(X, obs=obs), n_top=300))  # signs fixed: deterministic


def test_expression_pca_of_fewer_than_three_samples_has_no_rows():
    import anndata as ad

    from tme.expression import expression_pca

    obs = pd.DataFrame({"patient_id": ["P1", "P1"], "arm": "a", "timepoint": ["pre", "post"]}, index=["S1", "S2"])
    pca = expression_pca(ad.AnnData(np.ones((2, 5)), obs=obs))
    assert pca.empty and {"sample_id", "PC1", "PC2", "n_genes"} <= set(pca.columns)


def test_expression_pca_of_one_gene_and_of_constant_data():
    """One gene: PC1 is the centred values (largest loading positive: the same sign), no PC2; every
    sample equal: scores 0 and no variance explained — never a division by zero."""
    import anndata as ad

    from tme.expression import expression_pca

    obs = pd.DataFrame({"patient_id": ["P1", "P2", "P3", "P4"], "arm": "a", "timepoint": "pre"}, index=list("ABCD"))
    values = np.array([[1.0], [2.0], [4.0], [9.0]])
    one = expression_pca(ad.AnnData(values, obs=obs))
    np.testing.assert_allclose(one["PC1"], values[:, 0] - values.mean(), rtol=1e-12)
    assert one["PC2"].isna().all() and one["PC2_variance_explained"].isna().all()
    assert (one["PC1_variance_explained"] == 1.0).all() and (one["n_genes"] == 1).all()
    flat = expression_pca(ad.AnnData(np.full((4, 30), 5.0), obs=obs))
    assert (flat[["PC1", "PC2"]].to_numpy() == 0).all()
    assert (flat[["PC1_variance_explained", "PC2_variance_explained"]].to_numpy() == 0).all()
