"""Pseudonymisation: no patient or sample ID in any output; stable keyed codes; mapping only where asked."""

from __future__ import annotations

import anndata as ad
import pandas as pd
import pytest

from tme.errors import TmeInputError
from tme.pseudonym import Pseudonymiser

from conftest import cohort_config, run_workflow

pytestmark = pytest.mark.workflow


def test_codes_are_keyed_and_stable(tmp_path):
    key = tmp_path / "key"
    first = Pseudonymiser.from_key_file(key, create=True)
    assert not key.exists()  # a new key is written only once every input check has passed
    first.save_key()
    assert oct(key.stat().st_mode & 0o777) == "0o600"
    again = Pseudonymiser.from_key_file(key)
    other = Pseudonymiser(b"x" * 32)
    assert first.code("sample", "OZM-001-BX") == again.code("sample", "OZM-001-BX")
    assert first.code("sample", "OZM-001-BX") != other.code("sample", "OZM-001-BX")
    assert first.code("patient", "OZM-001").startswith("P-") and len(first.code("patient", "OZM-001")) == 14
    key.write_text("not hex")
    with pytest.raises(TmeInputError):
        Pseudonymiser.from_key_file(key)


def test_no_identifier_in_any_output(small_cohort, tmp_path):
    secure = tmp_path / "secure"
    config = cohort_config(
        small_cohort,
        pseudonymise_ids=True,
        pseudonymisation={"key_file": str(secure / "key"), "mapping_file": str(secure / "ids.tsv")},
        statistics={"n_bootstrap": 100, "gsea_permutations": 100},  # every output, fewer resamples
    )
    workdir = tmp_path / "run"
    proc = run_workflow(workdir, config)
    assert proc.returncode == 0, proc.stderr[-3000:]

    sheet = pd.read_csv(small_cohort / "samples.tsv", sep="\t", dtype=str)
    identifiers = set(sheet["sample_id"]) | set(sheet["patient_id"])
    for path in (workdir / "results").rglob("*"):
        if path.is_file() and path.suffix in {".tsv", ".json", ".html", ".svg", ".txt"}:
            text = path.read_text()
            leaked = [i for i in identifiers if i in text]
            assert not leaked, (path, leaked[:3])
    obs = ad.read_h5ad(workdir / "results" / "expression" / "expression.h5ad").obs
    assert not identifiers & (set(obs["sample_id"]) | set(obs["patient_id"]) | set(obs.index))

    ids = Pseudonymiser.from_key_file(secure / "key")
    mapping = pd.read_csv(secure / "ids.tsv", sep="\t")
    assert set(mapping.loc[mapping["kind"] == "sample", "id"]) == set(sheet["sample_id"])
    assert all(ids.code(k, i) == c for k, i, c in mapping[["kind", "id", "code"]].itertuples(index=False))
    scores = pd.read_csv(workdir / "results" / "tables" / "signature_scores.tsv", sep="\t")
    assert set(scores["patient_id"]) <= set(mapping.loc[mapping["kind"] == "patient", "code"])


def test_key_inside_results_is_refused(small_cohort, tmp_path):
    config = cohort_config(small_cohort, pseudonymise_ids=True, pseudonymisation={"key_file": "results/key"})
    proc = run_workflow(tmp_path, config)
    assert proc.returncode != 0 and "pseudonymisation.key_file" in proc.stderr
