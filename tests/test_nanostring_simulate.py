"""The simulated NanoString cohort: valid files, fixed bytes per seed, planted QC failures and effects."""

from __future__ import annotations

import gzip
import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tme.config import Design
from tme.errors import TmeInputError
from tme.nanostring import read_nanostring, read_rlf
from tme.nanostring.match import NCOUNTER_FILE_PATTERN
from tme.nanostring.simulate import PANEL, panel_probes, programs, write_rcc_cohort
from tme.samplesheet import read_samplesheet
from tme.signatures import load_library


def _digest(root) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def cohort(tmp_path_factory):
    root = tmp_path_factory.mktemp("nanostring_cohort")
    write_rcc_cohort(root, seed=34)
    samples = read_samplesheet(root / "samples.tsv", Design())
    settings = {
        "path": str(root / "rcc"),
        "nanostring": {"pattern": NCOUNTER_FILE_PATTERN, "rlf": str(root / f"{PANEL}.rlf")},
    }
    return root, samples, read_nanostring(settings, samples)


def test_same_seed_same_bytes(tmp_path):
    write_rcc_cohort(tmp_path / "a", seed=5, n_patients=8, n_genes=40)
    write_rcc_cohort(tmp_path / "b", seed=5, n_patients=8, n_genes=40)
    write_rcc_cohort(tmp_path / "c", seed=6, n_patients=8, n_genes=40)
    a, b = _digest(tmp_path / "a"), _digest(tmp_path / "b")
    assert a.pop("config.yaml") != b.pop("config.yaml")  # it names its own folder
    assert a == b
    assert a != _digest(tmp_path / "c")
    write_rcc_cohort(tmp_path / "z", seed=5, n_patients=8, n_genes=40, compress=True)
    for path in (tmp_path / "a" / "rcc").iterdir():
        assert gzip.decompress((tmp_path / "z" / "rcc" / (path.name + ".gz")).read_bytes()) == path.read_bytes()


def test_panel_is_io360_like():
    probes = panel_probes()
    counts = probes["code_class"].value_counts()
    assert counts["Endogenous"] == 750 and counts["Housekeeping"] == 11
    assert counts["Negative"] == 8 and counts["Positive"] == 6
    assert probes.loc[probes["code_class"] == "Positive", "concentration"].tolist() == [128, 32, 8, 2, 0.5, 0.125]
    library = load_library()
    on_panel = set(probes["name"])
    assert set(library["AYERS_TCELL_INFLAMED_GEP_18"].housekeeping) <= on_panel
    for name in (
        "TME_IL1_AXIS_CORE",
        "TME_IL1_INDUCED",
        "DANAHER2017_Macrophages",
        "DANAHER2017_Neutrophils",
        "CYT_ROONEY2015",
    ):
        assert set(library[name].genes) <= on_panel, name
    assert probes.equals(panel_probes())  # the panel does not depend on a seed


def test_files_parse_and_the_rlf_covers_the_panel(cohort):
    root, samples, result = cohort
    assert result.adata.n_obs == (samples["exclude_reason"] == "").sum() == len(list((root / "rcc").glob("*.RCC")))
    assert result.unmapped.empty and result.adata.n_vars == 761
    assert len(read_rlf(root / f"{PANEL}.rlf")) == 775
    assert max(p.stat().st_size for p in (root / "rcc").iterdir()) < 40_000  # small files


def test_planted_qc_failures_and_only_those_are_excluded(cohort):
    root, _, result = cohort
    truth = pd.read_csv(root / "qc_truth.tsv", sep="\t")
    assert sorted(truth["failure"]) == ["high_binding_density", "low_fov", "positive_linearity"]
    flags = {
        "low_fov": "flag_imaging",
        "high_binding_density": "flag_binding_density",
        "positive_linearity": "flag_positive_linearity",
    }
    qc = result.qc.set_index("sample_id")
    for sample, failure in zip(truth["sample_id"], truth["failure"]):
        assert qc.at[sample, flags[failure]] and qc.at[sample, "n_flags"] == 1, (sample, failure)
    assert sorted(result.qc_exclusions) == sorted(truth["sample_id"])


def test_instrument_ids_are_unreliable_on_purpose(cohort):
    root, samples, _ = cohort
    with pytest.raises(TmeInputError, match="two files for sample|not in the sample sheet"):
        read_nanostring({"path": str(root / "rcc"), "nanostring": {"match_by": "sample_attribute_id"}}, samples)


def _change_by_arm(result, genes) -> pd.Series:
    adata = result.adata[~result.adata.obs_names.isin(list(result.qc_exclusions))]
    obs = adata.obs.assign(score=np.asarray(adata[:, genes].X).mean(axis=1))
    wide = obs.pivot_table(index=["patient_id", "arm"], columns="timepoint", values="score").dropna().reset_index()
    return (wide["post"] - wide["pre"]).groupby(wide["arm"]).mean()


def test_planted_effects_are_recovered(cohort):
    root, _, result = cohort
    truth = pd.read_csv(root / "truth.tsv", sep="\t")
    assert set(truth["program"]) == set(programs())
    progs = truth[truth["feature_type"] == "gene"].groupby("program")["feature"].apply(list)
    il1 = _change_by_arm(result, progs["il1_inflammation"])
    assert il1["anakinra"] - il1["usual_care"] < -0.4  # planted -1.0 (background thresholding attenuates)
    t_cell = _change_by_arm(result, progs["t_cell"])
    assert t_cell.min() > 0.1 and abs(t_cell["anakinra"] - t_cell["usual_care"]) < 0.3  # drift in both arms
    nk = _change_by_arm(result, progs["nk"])
    assert abs(nk["anakinra"] - nk["usual_care"]) < 0.3  # a true null


def test_qc_figure_is_deterministic_and_labels_the_failures(cohort, tmp_path):
    from tme.plots import save_figure
    from tme.plots.nanostring import plot_nanostring_qc

    _, _, result = cohort
    fig = plot_nanostring_qc(result.qc)
    texts = {t.get_text() for ax in fig.axes for t in ax.texts}
    assert set(result.qc_exclusions) <= texts  # each failing sample is named on its panel
    first = save_figure(fig, tmp_path / "a", formats=("png", "svg"))
    second = save_figure(plot_nanostring_qc(result.qc), tmp_path / "b", formats=("png", "svg"))
    assert [p.read_bytes() for p in first] == [p.read_bytes() for p in second]


def test_ihc_table_passes_the_unit_checks_and_carries_the_planted_il1_effect(cohort):
    from tme.immune import read_immune

    root, samples, _ = cohort
    values, measures = read_immune({"path": str(root / "immune.tsv"), "format": "long"}, samples)
    units = dict(zip(measures["measure"], measures["unit"]))
    assert units == {
        "CD163": "cells/mm2",
        "CD56": "cells/mm2",
        "CD68": "percent_positive",
        "IL1B_IHC": "hscore",
        "NLRP3_IHC": "intensity",
        "sTILs": "%",
    }
    assert set(measures.loc[measures["rank_based"], "measure"]) >= {"IL1B_IHC", "NLRP3_IHC"}
    tils = values.loc[values["measure"] == "sTILs", "value"]
    assert ((tils < 10) | (tils % 5 == 0)).all() and (tils == tils.round()).all()  # as pathologists report
    hscore = values[values["measure"] == "IL1B_IHC"]
    wide = hscore.pivot_table(index=["patient_id", "arm"], columns="timepoint", values="value").dropna()
    change = (np.log2(wide["post"]) - np.log2(wide["pre"])).groupby(level="arm").mean()
    assert change["anakinra"] - change["usual_care"] < -0.5  # planted -1.0 log2 H-score


def test_bundled_config_is_the_simulated_example(tmp_path):
    """config/nanostring.yaml (commented) must not drift from what `tme simulate --nanostring` writes."""
    import yaml

    from tme.nanostring.simulate import example_config

    bundled = yaml.safe_load((Path(__file__).parents[1] / "config" / "nanostring.yaml").read_text())
    assert bundled == example_config("config/example_ns")
