"""tme.nanostring: RCC parsing, normalisation and QC against hand-computed closed forms, geNorm, matching, reader."""

from __future__ import annotations

import gzip
import math

import numpy as np
import pytest

from tme.config import Design
from tme.errors import TmeInputError, TmeInputWarning
from tme.nanostring import (
    NormalisationOptions,
    QcThresholds,
    genorm,
    nanostring_qc,
    normalise,
    parse_rcc,
    rcc_paths,
    read_nanostring,
    read_rcc,
    read_rcc_set,
)
from tme.samplesheet import read_samplesheet

from nanostring_helpers import GENES, POSITIVE_FM, rcc_set, rcc_text, write_folder

CONC = list(POSITIVE_FM.values())
CONTROL_CLASSES = ["Positive"] * 6 + ["Negative"] * 4
CONTROL_NAMES = list(POSITIVE_FM) + ["NEG_A", "NEG_B", "NEG_C", "NEG_D"]


# --- parsing ----------------------------------------------------------------------------------------------------


def test_parse_every_section(tmp_path):
    rcc = parse_rcc(rcc_text("S1", {"IL1B": 17}), tmp_path / "a.RCC")
    assert rcc.header == {"FileVersion": "1.7", "SoftwareVersion": "4.0.0.3"}
    assert rcc.sample["ID"] == "S1" and rcc.sample["Comments"] == "a comment, with a comma"
    assert rcc.lane["FovCounted"] == "276" and rcc.lane["CartridgeBarcode"] == ""
    assert rcc.messages == ["lane imaged twice"]
    assert rcc.name[:3] == ["IL1B", "CXCL8", "CD68"] and rcc.count[0] == 17
    pos = [i for i, c in enumerate(rcc.code_class) if c == "Positive"]
    assert [rcc.name[i] for i in pos] == list(POSITIVE_FM)  # labels stripped
    assert rcc.concentration[pos].tolist() == CONC
    assert rcc.lines["Code_Summary"] == 26 and rcc.probe_lines[0] == 28


def test_unlabelled_controls_get_the_standard_concentrations(tmp_path):
    rcc = parse_rcc(rcc_text(labels=False), tmp_path / "a.RCC")
    pos = [i for i, c in enumerate(rcc.code_class) if c == "Positive"]
    assert rcc.concentration[pos].tolist() == CONC


def test_crlf_gzip_bom_and_latin1_read_alike(tmp_path):
    text = rcc_text("S1")
    (tmp_path / "plain.RCC").write_text(text)
    (tmp_path / "crlf.RCC").write_bytes(text.replace("\n", "\r\n").encode())
    (tmp_path / "bom.RCC").write_bytes(b"\xef\xbb\xbf" + text.encode())
    (tmp_path / "zipped.RCC.gz").write_bytes(gzip.compress(text.encode(), mtime=0))
    (tmp_path / "latin1.RCC").write_bytes(text.replace("a comment", "5 \xb5g").encode("latin-1"))
    parsed = [read_rcc(tmp_path / n) for n in ("plain.RCC", "crlf.RCC", "bom.RCC", "zipped.RCC.gz", "latin1.RCC")]
    for other in parsed[1:]:
        assert other.probe_keys == parsed[0].probe_keys and (other.count == parsed[0].count).all()
    assert parsed[-1].sample["Comments"].startswith("5 µg")


def test_rcc_paths_directory_glob_and_list(tmp_path):
    write_folder(tmp_path / "run", ["B", "A"])
    (tmp_path / "run" / "notes.txt").write_text("not an RCC")
    assert [p.name for p in rcc_paths(tmp_path / "run")] == ["A.RCC", "B.RCC"]
    assert [p.name for p in rcc_paths(str(tmp_path / "run" / "A*"))] == ["A.RCC"]
    assert [p.name for p in rcc_paths([tmp_path / "run" / "B.RCC", tmp_path / "run" / "A.RCC"])] == ["A.RCC", "B.RCC"]


def test_probe_order_may_differ_between_files(tmp_path):
    write_folder(tmp_path, ["A"])
    (tmp_path / "B.RCC").write_text(rcc_text("B", {"IL1B": 11}, probes=list(reversed(GENES))))
    rcc = read_rcc_set(tmp_path)
    il1b = rcc.probes.index[rcc.probes["name"] == "IL1B"][0]
    assert rcc.counts[il1b].tolist() == [500, 11]


def test_same_probes_under_two_panel_names_warns(tmp_path):
    (tmp_path / "A.RCC").write_text(rcc_text("A", gene_rlf="P1"))
    (tmp_path / "B.RCC").write_text(rcc_text("B", gene_rlf="P1_v2"))
    with pytest.warns(TmeInputWarning, match="2 panels"):
        read_rcc_set(tmp_path)


def test_rlf_gives_classes_and_concentrations(tmp_path):
    write_folder(tmp_path / "rcc", ["A"], labels=False, gene_rlf="TEST_PANEL")
    records = [
        f"Record{i}={k},NA,NNNNNN,{n},{a}:1,Hs,{a},x"
        for i, (k, n, a) in enumerate(
            [
                (0, "IL1B", "NM_000576.2"),
                (0, "CXCL8", "NM_000584.2"),
                (6, "CD68", "NM_001251.2"),
                (6, "TBP", "NM_003194.3"),
                (6, "POLR2A", "NM_000937.2"),
                (6, "SDHA", "NM_004168.1"),
            ]
            + [(2, f"NEG_{x}(0)", f"ERCC_{i:05d}.1") for i, x in enumerate("ABCDEFGH")]
            + [(1, f"{n}({2 * c:g})", f"ERCC_{10 + i:05d}.1") for i, (n, c) in enumerate(POSITIVE_FM.items())]
            + [(3, "bindspike1", "bs1")]
        )
    ]
    (tmp_path / "TEST_PANEL.rlf").write_text(
        "[Header]\nClassName0=Endogenous\nClassName1=Positive\nClassName2=Negative\nClassName3=Binding\nClassName6=Housekeeping\n"
        f"[Content]\nColumnCount=8\nRecordCount={len(records)}\n"
        "Columns=Classification,TargetSeq,BarCode,GeneName,ProbeID,Species,Accession,Comments\n"
        + "\n".join(records)
        + "\n"
    )
    rcc = read_rcc_set(tmp_path / "rcc", rlf=tmp_path / "TEST_PANEL.rlf")
    assert rcc.probes.set_index("name").at["CD68", "code_class"] == "Housekeeping"  # the RLF's class wins
    assert rcc.probes.loc[rcc.rows("Positive"), "concentration"].tolist() == [2 * c for c in CONC]


# --- normalisation: closed forms -------------------------------------------------------------------------------


def _panel(scale, hk_scale, negatives=((10, 10, 10, 10),)):
    """Positives 128·c·k_s, 2 housekeepers (1000, 4000)·h_s, 2 genes; negatives per sample."""
    scale, hk_scale = np.asarray(scale, float), np.asarray(hk_scale, float)
    pos = np.outer([128 * c for c in CONC], scale)
    neg = np.array(negatives * len(scale) if len(negatives) == 1 else negatives, dtype=float).T
    genes = np.vstack([np.full_like(scale, 50.0), np.full_like(scale, 8.0)]) * scale * hk_scale
    hk = np.outer([1000.0, 4000.0], scale * hk_scale)
    counts = np.rint(np.vstack([pos, neg, genes, hk]))
    classes = CONTROL_CLASSES + ["Endogenous", "Endogenous", "Housekeeping", "Housekeeping"]
    names = CONTROL_NAMES + ["G1", "G2", "HK1", "HK2"]
    return rcc_set(counts, classes, names, CONC + [0] * 4 + [np.nan] * 4)


def test_positive_factor_is_mean_geomean_over_geomean():
    rcc = _panel(scale=[1, 1, 4], hk_scale=[1, 1, 1])
    norm = normalise(rcc, NormalisationOptions(background="none"))
    g = 128 * math.prod(CONC) ** (1 / 6)  # geometric mean of the positives at scale 1
    np.testing.assert_allclose(norm.factors["positive_geomean"], [g, g, 4 * g], rtol=1e-12)
    np.testing.assert_allclose(norm.factors["positive_factor"], [2, 2, 0.5], rtol=1e-12)  # mean = 2g


def test_housekeeping_factor_and_log2_values():
    rcc = _panel(scale=[1, 1, 1], hk_scale=[1, 2, 4])
    norm = normalise(rcc, NormalisationOptions(background="none"))
    h = 2000.0 * np.array([1, 2, 4])  # geomean(1000, 4000) = 2000
    np.testing.assert_allclose(norm.factors["housekeeping_geomean"], h, rtol=1e-12)
    np.testing.assert_allclose(norm.factors["housekeeping_factor"], h.mean() / h, rtol=1e-12)
    g1 = np.flatnonzero(rcc.probes["name"] == "G1")[0]
    np.testing.assert_allclose(norm.log2[g1], np.log2(50 * h.mean() / 2000), rtol=1e-12)  # input differences removed
    qcpro = normalise(rcc, NormalisationOptions(background="none", housekeeping_reference="none"))
    np.testing.assert_allclose(norm.log2 - qcpro.log2, np.log2(h.mean()), rtol=1e-12)


def test_background_threshold_subtract_and_floor():
    negatives = ((10, 12, 14, 16), (10, 12, 14, 16))  # mean 13, sd sqrt(20/3)
    rcc = _panel(scale=[1, 1], hk_scale=[1, 1], negatives=negatives)
    b = 13 + 2 * math.sqrt(20 / 3)
    g2 = np.flatnonzero(rcc.probes["name"] == "G2")[0]  # count 8 < b
    g1 = np.flatnonzero(rcc.probes["name"] == "G1")[0]  # count 50 > b
    thr = normalise(rcc, NormalisationOptions(background="threshold", housekeeping_reference="none"))
    np.testing.assert_allclose(thr.factors["background"], b, rtol=1e-12)
    np.testing.assert_allclose(thr.log2[g2], np.log2(b / 2000), rtol=1e-12)
    np.testing.assert_allclose(thr.log2[g1], np.log2(50 / 2000), rtol=1e-12)
    sub = normalise(rcc, NormalisationOptions(background="subtract", housekeeping_reference="none"))
    h = math.sqrt((1000 - b) * (4000 - b))
    np.testing.assert_allclose(sub.log2[g2], np.log2(1 / h), rtol=1e-12)  # 8 - b < 1: floored at 1
    np.testing.assert_allclose(sub.log2[g1], np.log2((50 - b) / h), rtol=1e-12)


def test_normalised_values_ignore_a_lane_scale():
    """Doubling every count of one lane (controls included) leaves the housekeeping ratios unchanged;
    with nSolver's rescaling every value moves by one common constant (the mean housekeeping level)."""
    base = _panel(scale=[1, 1, 1], hk_scale=[1, 3, 0.5], negatives=((9, 11, 13, 15), (8, 10, 12, 20), (10, 10, 11, 13)))
    counts = base.counts.copy()
    counts[:, 1] *= 2
    doubled = rcc_set(counts, base.probes["code_class"], base.probes["name"], base.probes["concentration"])
    genes = base.rows("Endogenous")
    for method in ("threshold", "none"):
        options = NormalisationOptions(background=method, housekeeping_reference="none")
        np.testing.assert_allclose(
            normalise(base, options).log2[genes], normalise(doubled, options).log2[genes], rtol=1e-12
        )
        nsolver = NormalisationOptions(background=method)
        shift = normalise(base, nsolver).log2 - normalise(doubled, nsolver).log2
        np.testing.assert_allclose(shift[genes], shift[genes][0, 0], rtol=1e-12)


def test_size_factors_have_geometric_mean_one():
    norm = normalise(_panel(scale=[1, 2, 0.5], hk_scale=[1, 3, 0.7]))
    size = norm.factors["size_factor"].to_numpy()
    assert np.exp(np.log(size).mean()) == pytest.approx(1.0)
    raw = 1 / (norm.factors["positive_factor"] * norm.factors["housekeeping_factor"]).to_numpy()
    np.testing.assert_allclose(size / size[0], raw / raw[0], rtol=1e-12)


def test_zero_positive_count_counts_as_one():
    rcc = _panel(scale=[1, 1], hk_scale=[1, 1])
    rcc.counts[5, 0] = 0  # POS_F
    norm = normalise(rcc)
    expected = np.exp(np.log(np.maximum(rcc.counts[:6, 0], 1)).mean())
    assert norm.factors.at[0, "positive_geomean"] == pytest.approx(expected)
    assert np.isfinite(norm.log2).all()


def test_configured_positive_controls_and_housekeepers():
    rcc = _panel(scale=[1, 2], hk_scale=[1, 1])
    rcc.counts[5, 1] = 1  # POS_F out of line in sample 2
    norm = normalise(rcc, NormalisationOptions(positive_controls=("POS_A", "POS_B", "POS_C"), housekeepers=("HK2",)))
    np.testing.assert_allclose(norm.factors["positive_factor"], [1.5, 0.75], rtol=1e-12)
    assert norm.housekeepers == ["HK2"]
    with pytest.raises(TmeInputError, match="'HK9'.*not a probe"):
        normalise(rcc, NormalisationOptions(housekeepers=("HK9",)))


def test_bad_option_values():
    with pytest.raises(TmeInputError, match="background 'median'"):
        NormalisationOptions(background="median")
    with pytest.raises(TmeInputError, match="policy 'drop'"):
        QcThresholds(policy="drop")


# --- geNorm ---------------------------------------------------------------------------------------------------


def test_genorm_closed_form():
    s = math.sqrt(1 / 3)  # sd of (0, 1, 0, 1)
    values = np.array([[5, 5, 5, 5], [3, 4, 3, 4], [7, 10, 7, 10]], dtype=float)  # V12 = s, V13 = 3s, V23 = 2s
    table = genorm(values, ["g1", "g2", "g3"], min_genes=2)
    assert table["gene"].tolist() == ["g1", "g2", "g3"]  # g3 (M = 2.5 s) removed first
    np.testing.assert_allclose(table["m_value"], [s, s, 2.5 * s], rtol=1e-12)
    # V2/3 = sd(log2 NF2 - log2 NF3): NF2 - NF3 = (0, -5/6, 0, -5/6) + const
    np.testing.assert_allclose(table["pairwise_variation"].iloc[1], 5 / 6 * s, rtol=1e-12)
    assert table["selected"].all()  # V2/3 > 0.15: every gene


def test_genorm_stops_when_adding_a_gene_changes_little():
    rng = np.random.default_rng(1)
    common = rng.normal(0, 1, 20)
    values = np.vstack([common + rng.normal(0, sd, 20) for sd in (0.01, 0.02, 0.03, 0.05, 1.5)]) + 8
    table = genorm(values, list("abcde"))
    assert table["gene"].iloc[-1] == "e"  # the noisy gene is the least stable
    assert table["selected"].sum() == 3  # V3/4 < 0.15 at the minimum of 3
    shifted = genorm(values + np.arange(5)[:, None], list("abcde"))  # gene-wise constants change nothing
    np.testing.assert_allclose(shifted["m_value"], table["m_value"], rtol=1e-12)


# --- QC: closed forms -----------------------------------------------------------------------------------------


def test_positive_linearity_r2_closed_form():
    pos = np.array([[2**10, 2**8, 2**6, 2**4, 2**2, 2**0], [2**10, 2**8, 2**6, 2**4, 2**2, 2**4]]).T
    rcc = rcc_set(
        np.vstack([pos, np.full((4, 2), 1), np.full((2, 2), 500)]),
        CONTROL_CLASSES + ["Housekeeping"] * 2,
        CONTROL_NAMES + ["HK1", "HK2"],
        CONC + [0] * 4 + [np.nan] * 2,
    )
    qc = nanostring_qc(rcc, normalise(rcc))
    # x = log2 conc = 7..-3, y = (10, 8, 6, 4, 2, 4): Sxy = 50, Sxx = 70, Syy = 130/3 -> R2 = 75/91
    np.testing.assert_allclose(qc["positive_r2"], [1.0, 75 / 91], rtol=1e-12)
    assert qc["flag_positive_linearity"].tolist() == [False, True]


def test_imaging_binding_density_and_instrument():
    rcc = _panel(scale=[1] * 4, hk_scale=[1] * 4)
    rcc.lanes["fov_counted"] = [210.0, 209.0, 280.0, 280.0]  # 0.75 passes, 0.746 fails
    rcc.lanes["binding_density"] = [2.25, 1.0, 2.26, 0.09]
    qc = nanostring_qc(rcc, normalise(rcc))
    assert qc["flag_imaging"].tolist() == [False, True, False, False]
    assert qc["flag_binding_density"].tolist() == [False, False, True, True]
    sprint = nanostring_qc(rcc, normalise(rcc), QcThresholds(instrument="sprint"))
    assert sprint["flag_binding_density"].tolist() == [True, False, True, True]  # SPRINT: 0.1-1.8
    custom = nanostring_qc(rcc, normalise(rcc), QcThresholds(binding_density=(0.05, 2.3)))
    assert custom["flag_binding_density"].tolist() == [False, False, False, False]


def test_limit_of_detection_and_housekeepers_below_background():
    negatives = ((10, 12, 14, 16),) * 3  # background 13 + 2 sqrt(20/3) = 18.16
    rcc = _panel(scale=[1, 1, 1], hk_scale=[1, 1, 1], negatives=negatives)
    pos_e, hk1 = 4, np.flatnonzero(rcc.probes["name"] == "HK1")[0]
    rcc.counts[pos_e] = [18, 19, 60]
    rcc.counts[hk1, 2] = 18
    qc = nanostring_qc(rcc, normalise(rcc))
    assert qc["background"].tolist() == pytest.approx([13 + 2 * math.sqrt(20 / 3)] * 3)
    assert qc["flag_limit_of_detection"].tolist() == [True, False, False]
    assert qc["n_housekeepers_below_background"].tolist() == [0, 0, 1]
    assert qc["flag_housekeepers_below_background"].tolist() == [False, False, True]


def test_factor_flags_reasons_and_policy():
    rcc = _panel(scale=[1, 1, 10, 1], hk_scale=[1, 1, 1, 0.02])
    qc = nanostring_qc(rcc, normalise(rcc))
    # positive geomeans g, g, 10g, g: mean 13g/4 -> factors 3.25, 3.25, 0.325, 3.25
    np.testing.assert_allclose(qc["positive_factor"], [3.25, 3.25, 0.325, 3.25], rtol=1e-12)
    assert qc["flag_positive_factor"].tolist() == [True, True, False, True]
    assert qc.at[3, "flag_housekeeping_factor"] and not qc.at[0, "flag_housekeeping_factor"]
    assert qc.at[3, "qc_failures"].startswith("positive-control factor 3.25 outside 0.3-3; housekeeping factor")
    assert qc["qc_action"].tolist() == ["exclude", "exclude", "pass", "exclude"]
    flagged = nanostring_qc(rcc, normalise(rcc), QcThresholds(policy="flag"))
    assert flagged["qc_action"].tolist() == ["flag", "flag", "pass", "flag"]
    passing = _panel(scale=[1, 1], hk_scale=[1, 1])
    assert nanostring_qc(passing, normalise(passing))["qc_action"].tolist() == ["pass", "pass"]


# --- matching and the reader ----------------------------------------------------------------------------------


def _sheet(tmp_path, rows=(("P1", "anakinra"), ("P2", "usual_care")), excluded=()):
    lines = ["sample_id\tpatient_id\tarm\ttimepoint\texclude_reason"]
    for patient, arm in rows:
        for tp in ("pre", "post"):
            sid = f"{patient}-{tp}"
            lines.append(f"{sid}\t{patient}\t{arm}\t{tp}\t{'not run' if sid in excluded else ''}")
    (tmp_path / "samples.tsv").write_text("\n".join(lines) + "\n")
    return read_samplesheet(tmp_path / "samples.tsv", Design())


def test_reader_builds_the_anndata(tmp_path):
    samples = _sheet(tmp_path)
    write_folder(tmp_path / "rcc", ["P2-post", "P1-pre", "P1-post", "P2-pre"])
    result = read_nanostring({"path": str(tmp_path / "rcc")}, samples)
    adata = result.adata
    assert list(adata.obs_names) == list(samples.index)  # sheet order
    assert list(adata.var_names) == sorted(["IL1B", "CXCL8", "CD68", "TBP", "POLR2A", "SDHA"])
    assert adata.var.loc["TBP", "code_class"] == "Housekeeping" and adata.var["housekeeper_used"].sum() == 3
    assert adata.layers["counts"].dtype == np.int64 and adata.layers["counts"][0].tolist() == [
        700,
        600,
        500,
        900,
        1000,
        800,
    ]
    assert np.isfinite(adata.X).all() and list(adata.obsm["nanostring"].columns)[:2] == [
        "positive_geomean",
        "positive_factor",
    ]
    assert adata.uns["tme"]["match_by"] == "file_name"
    assert result.files["status"].eq("used").all() and result.qc["sample_id"].tolist() == list(samples.index)
    assert result.qc_exclusions == {} and result.unmapped.empty


def test_reader_collapses_probes_and_maps_legacy_symbols(tmp_path):
    samples = _sheet(tmp_path)
    probes = GENES + [("Endogenous", "IL8", "NM_000584.3")]  # a legacy name of CXCL8 with higher counts
    write_folder(tmp_path / "rcc", list(samples.index), probes=probes, counts={"IL8": 5000})
    result = read_nanostring({"path": str(tmp_path / "rcc")}, samples)
    assert result.adata.var.loc["CXCL8", "probe"] == "IL8"  # maxMean keeps the higher probe
    assert result.adata.n_vars == 6


def test_reader_policy_flag_keeps_failing_samples(tmp_path):
    samples = _sheet(tmp_path)
    write_folder(tmp_path / "rcc", ["P1-pre", "P2-pre", "P2-post"])
    (tmp_path / "rcc" / "P1-post.RCC").write_text(rcc_text("P1-post", fov=(280, 100)))
    excluded = read_nanostring({"path": str(tmp_path / "rcc")}, samples)
    assert excluded.qc_exclusions == {"P1-post": "nCounter QC: imaging: FOV counted 100/280 = 0.36 < 0.75"}
    flagged = read_nanostring({"path": str(tmp_path / "rcc"), "nanostring": {"qc": {"policy": "flag"}}}, samples)
    assert flagged.qc_exclusions == {} and flagged.qc.set_index("sample_id").at["P1-post", "qc_action"] == "flag"


def test_reader_matches_by_instrument_id_with_a_pattern(tmp_path):
    samples = _sheet(
        tmp_path, rows=(("P1", "anakinra"), ("P2", "usual_care"), ("P3", "usual_care")), excluded=("P2-post",)
    )
    for i, sample in enumerate(["P1-pre", "P1-post", "P2-pre", "P3-pre", "P3-post"]):
        (tmp_path / f"run_{i:02d}.RCC").write_text(rcc_text(f"OZM {sample}"))
    settings = {
        "path": str(tmp_path),
        "nanostring": {"match_by": "sample_attribute_id", "pattern": r"OZM (?P<sample>.+)"},
    }
    result = read_nanostring(settings, samples)
    assert result.files["matched_on"].tolist() == ["P1-pre", "P1-post", "P2-pre", "P3-pre", "P3-post"]
    assert result.adata.n_obs == 5 and result.adata.uns["tme"]["match_by"] == "sample_attribute_id"


def test_reader_ignores_extra_files_when_allowed(tmp_path):
    samples = _sheet(tmp_path)
    write_folder(tmp_path / "rcc", list(samples.index) + ["P9-pre"])
    result = read_nanostring({"path": str(tmp_path / "rcc"), "extra_samples": "ignore"}, samples)
    assert result.extra_samples == ["P9-pre.RCC"] and result.adata.n_obs == 4
    assert result.files.set_index("file").at["P9-pre.RCC", "status"] == "not in the sheet"


def test_reader_with_genorm_reports_the_ranking(tmp_path):
    samples = _sheet(tmp_path)
    probes = GENES + [("Housekeeping", "ABCF1", "NM_001090.2"), ("Housekeeping", "G6PD", "NM_000402.3")]
    for i, sample in enumerate(samples.index):
        counts = {
            "TBP": 900 + 10 * i,
            "POLR2A": 1800 + 21 * i,
            "SDHA": 1200 + 12 * i,
            "ABCF1": 700 + 8 * i,
            "G6PD": [300, 2500, 90, 900][i],
        }  # the unstable one
        write_folder(tmp_path / "rcc", [sample], probes=probes, counts=counts)
    result = read_nanostring({"path": str(tmp_path / "rcc"), "nanostring": {"genorm": True}}, samples)
    assert result.genorm["gene"].iloc[-1] == "G6PD" and not result.genorm["selected"].iloc[-1]
    assert "G6PD" not in result.adata.uns["tme"]["housekeepers"]


def test_options_unknown_key():
    from tme.nanostring import nanostring_options

    with pytest.raises(TmeInputError, match="expression.nanostring.backgrund"):
        nanostring_options({"backgrund": "subtract"})
    with pytest.raises(TmeInputError, match="expression.nanostring.qc.fov"):
        nanostring_options({"qc": {"fov": 0.8}})
    norm, qc = nanostring_options(
        {"background": "subtract", "pseudocount": 1, "qc": {"binding_density": [0.05, 2.25], "policy": "flag"}}
    )
    assert (
        norm.background == "subtract"
        and norm.pseudocount == 1.0
        and qc.binding_density_range == (0.05, 2.25)
        and qc.policy == "flag"
    )


def test_pseudonymised_sheet_hides_file_names(tmp_path):
    from tme.nanostring.reader import HIDDEN
    from tme.pseudonym import Pseudonymiser

    _sheet(tmp_path)
    samples = read_samplesheet(tmp_path / "samples.tsv", Design(), Pseudonymiser(b"k" * 32))
    write_folder(tmp_path / "rcc", ["P1-pre", "P1-post", "P2-pre", "P2-post"])
    result = read_nanostring({"path": str(tmp_path / "rcc")}, samples)
    assert list(result.adata.obs_names) == list(samples.index) and samples.index[0].startswith("S-")
    assert set(result.qc["file"]) == {HIDDEN} and set(result.files["matched_on"]) == {HIDDEN}
    assert not any("P1" in str(v) for v in result.qc.to_numpy().ravel())


def test_positive_controls_option_names_positive_controls_only():
    rcc = _panel(scale=[1, 2], hk_scale=[1, 1])
    with pytest.raises(TmeInputError, match="'HK1'.*not a positive control"):
        normalise(rcc, NormalisationOptions(positive_controls=("POS_A", "HK1")))


def test_rlf_named_unlike_the_panel_warns(tmp_path):
    test_rlf_gives_classes_and_concentrations(tmp_path)
    (tmp_path / "TEST_PANEL.rlf").rename(tmp_path / "renamed.rlf")
    with pytest.warns(TmeInputWarning, match="RLF file is renamed.rlf"):
        read_rcc_set(tmp_path / "rcc", rlf=tmp_path / "renamed.rlf")


def test_empty_housekeeper_list_is_an_error():
    with pytest.raises(TmeInputError, match="housekeepers is an empty list"):
        normalise(_panel(scale=[1, 1], hk_scale=[1, 1]), NormalisationOptions(housekeepers=()))
