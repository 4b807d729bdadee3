"""Figures: every plot function on small synthetic tables with the documented columns; deterministic
files; hostile and very long names printed literally (no mathtext), never breaking a figure."""

from __future__ import annotations

import hashlib

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from tme.plots import (  # noqa: E402
    plot_agreement,
    plot_change_heatmap,
    plot_expression_qc,
    plot_feature,
    plot_forest,
    plot_gsea_dots,
    plot_immune_values,
    plot_pca,
    plot_sample_flow,
    plot_volcano,
    save_figure,
)
from tme.plots.data import feature_values, file_stems, select_primary_features  # noqa: E402
from tme.plots.forest import forest_rows  # noqa: E402
from tme.plots.style import RC, arm_colours, format_estimate, format_p, label, theme  # noqa: E402

LONG = "HALLMARK_" + "VERY_LONG_SIGNATURE_NAME_" * 8


# --- small synthetic tables with the column contracts of the workflow's TSVs (also used by test_report.py)
ARMS = ("usual_care", "anakinra")
HOSTILE = '<script>alert(1)</script> & "q" \'s $x^2$ \\frac'


def scores_table(
    n_patients: int = 12,
    signatures=("TME_IL1_INDUCED", "DANAHER2017_Macrophages", "DANAHER2017_NK_CD56dim_cells"),
    seed: int = 1,
) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for p in range(n_patients):
        arm = ARMS[p % 2]
        base = rng.normal(0, 1, len(signatures))
        for tp in ("pre", "post"):
            if tp == "post" and p == n_patients - 1:
                continue  # one patient without a post sample
            for k, sig in enumerate(signatures):
                shift = -0.8 if (tp == "post" and arm == "anakinra" and k == 0) else 0.0
                rows.append(
                    dict(
                        sample_id=f"P{p:02d}-{tp}",
                        patient_id=f"P{p:02d}",
                        arm=arm,
                        timepoint=tp,
                        signature=sig,
                        method="singscore",
                        score=base[k] + shift + rng.normal(0, 0.3),
                        n_genes_used=10,
                        n_genes_in_signature=12,
                    )
                )
    return pd.DataFrame(rows)


def immune_table(scores: pd.DataFrame, measures=("CD68", "CD66b")) -> pd.DataFrame:
    samples = scores.drop_duplicates("sample_id")[["sample_id", "patient_id", "arm", "timepoint"]]
    rng = np.random.default_rng(2)
    rows = []
    for _, s in samples.iterrows():
        for m in measures:
            v = float(np.exp(rng.normal(4, 1)))
            rows.append(
                dict(
                    s,
                    measure=m,
                    unit="cells/mm2",
                    scale="density",
                    transform="log1p",
                    value=round(v, 1),
                    analysis_value=np.log1p(v),
                )
            )
    return pd.DataFrame(rows)


def effects_table(features, families=None) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    rows = []
    for i, f in enumerate(features):
        fam = (families or {}).get(f, "primary_signatures" if i < 2 else "exploratory")
        for analysis in ("ancova", "mann_whitney_change", "mixed_model"):
            est = rng.normal(-0.3, 0.4)
            na = i == len(features) - 1 and analysis == "ancova"
            rows.append(
                dict(
                    feature=f,
                    feature_type="signature",
                    family=fam,
                    analysis=analysis,
                    estimate=np.nan if na else est,
                    ci_low=np.nan if na else est - 0.4,
                    ci_high=np.nan if na else est + 0.4,
                    p=np.nan if na else 0.01 * (i + 1),
                    p_adjusted=np.nan if na else 0.02 * (i + 1),
                    multiplicity="bh",
                    n_reference_arm=6,
                    n_treatment_arm=5,
                    model="post ~ pre + arm",
                    covariates="",
                    se=0.2,
                    statistic=1.0,
                    df=9,
                    note=f"fewer than 3 pairs in arm anakinra {HOSTILE}" if na else "",
                    std_effect=np.nan if na else est / 2,
                    std_effect_ci_low=np.nan if na else (est - 0.4) / 2,
                    std_effect_ci_high=np.nan if na else (est + 0.4) / 2,
                    display_name=f"Display {i}" if i < 2 else "",
                    unit="singscore",
                )
            )
    return pd.DataFrame(rows)


def de_table(n: int = 300) -> pd.DataFrame:
    rng = np.random.default_rng(4)
    lfc = rng.normal(0, 0.5, n)
    lfc[:10] -= 2
    p = np.clip(np.exp(-np.abs(lfc) * 4) * rng.uniform(0.2, 1, n), 1e-12, 1)
    padj = np.minimum(1, p * n / (np.argsort(np.argsort(p)) + 1))
    genes = [f"GENE{i}" for i in range(n)]
    genes[0] = HOSTILE
    return pd.DataFrame(
        dict(gene=genes, baseMean=100.0, log2FoldChange=lfc, lfcSE=0.3, stat=lfc / 0.3, pvalue=p, padj=padj)
    )


def gsea_table(n: int = 20) -> pd.DataFrame:
    rng = np.random.default_rng(5)
    nes = rng.normal(0, 1.5, n)
    names = [f"HALLMARK_SET_{i}_WITH_A_RATHER_LONG_NAME_THAT_GOES_ON" for i in range(n)]
    names[1] = HOSTILE
    return pd.DataFrame(
        dict(
            gene_set=names,
            size=rng.integers(15, 200, n),
            es=nes / 3,
            nes=nes,
            p=np.exp(-np.abs(nes)),
            q=np.minimum(1, np.exp(-np.abs(nes)) * 2),
            leading_edge="A;B;C",
        )
    )


def flow_table() -> pd.DataFrame:
    rows = []
    for arm in ARMS:
        for step, n in (("randomised", 6), ("with_pre", 6), ("with_post", 5), ("paired", 5)):
            rows.append(
                dict(
                    modality="expression",
                    arm=arm,
                    step=step,
                    n_patients=n,
                    sample_id="",
                    patient_id="",
                    timepoint="",
                    reason="",
                )
            )
        rows.append(
            dict(
                modality="expression",
                arm=arm,
                step="excluded",
                n_patients=None,
                sample_id=HOSTILE,
                patient_id="P99",
                timepoint="post",
                reason="RNA failed QC " + "x" * 200,
            )
        )
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def tables():
    scores = scores_table(signatures=("TME_IL1_INDUCED", "DANAHER2017_Macrophages", HOSTILE, LONG))
    immune = immune_table(scores)
    features = [f"{s}|singscore" for s in scores["signature"].unique()] + ["CD68", "CD66b"]
    effects = effects_table(features)
    return dict(
        scores=scores,
        immune=immune,
        effects=effects,
        features=features,
        values=feature_values(scores, immune, effects["feature"]),
    )


def _texts(fig) -> list[str]:
    return [t.get_text() for t in fig.findobj(plt.Text)]


def _draw(fig) -> None:
    """Render (raises if any text is malformed mathtext) and close."""
    fig.canvas.draw()
    plt.close(fig)


def test_arm_colours_are_one_okabe_ito_scheme():
    colours = arm_colours(["usual_care", "anakinra"])
    assert colours == {"usual_care": "#0072B2", "anakinra": "#D55E00"}
    assert arm_colours(["a", "b"])["a"] == colours["usual_care"]  # by role, not by name


def test_label_shortens_and_wraps():
    assert label("CD68") == "CD68"
    short = label(LONG, 30)
    assert len(short) == 30 and short.endswith("…")
    wrapped = label(LONG, 30, lines=2)
    assert wrapped.count("\n") == 1 and all(len(line) <= 30 for line in wrapped.split("\n"))
    assert "\n" not in label("a\nb\x00c")  # control characters cannot break a layout


def test_formatting():
    assert format_p(0.0004) == "adj. p < 0.001" and format_p(float("nan")) == "adj. p = NA"
    assert format_p(0.0123, "q") == "q = 0.012"
    assert format_estimate(-0.5, -0.8, -0.2) == "−0.50 (95% CI −0.80 to −0.20)"


def test_mathtext_is_off_for_user_strings():
    assert RC["text.parse_math"] is False
    with theme():
        fig, ax = plt.subplots()
        ax.set_title(r"$\frac{broken")  # invalid mathtext: would raise if parsed
        ax.set_xlabel(HOSTILE)
    _draw(fig)


def test_feature_values_match_statistics_names(tables):
    v = tables["values"]
    assert set(tables["features"]) <= set(v["feature"])
    # a different separator in the statistics table is detected
    other = feature_values(tables["scores"], None, ["TME_IL1_INDUCED:singscore"])
    assert "TME_IL1_INDUCED:singscore" in set(other["feature"])
    chosen = select_primary_features(tables["effects"], v)
    assert chosen[:2] == tables["features"][:2] and "CD68" in chosen and LONG + "|singscore" not in chosen


def test_file_stems_safe_and_unique():
    stems = file_stems(["A|b", "A_b", HOSTILE, "x" * 300, "CD68"])
    assert len(set(s.lower() for s in stems.values())) == 5
    assert stems["CD68"] == "CD68"
    for s in stems.values():
        assert len(s) <= 60 and all(c.isalnum() or c in "._-" for c in s)


def test_every_figure_renders_with_hostile_and_long_names(tables, tmp_path):
    v, e = tables["values"], tables["effects"]
    ancova = e[e["analysis"] == "ancova"].set_index("feature")
    figures = {
        "flow": plot_sample_flow(flow_table(), ARMS),
        "feature": plot_feature(
            v, f"{HOSTILE}|singscore", ARMS, "pre", "post", ancova.loc[f"{HOSTILE}|singscore"].to_dict()
        ),
        "feature_na": plot_feature(v, "CD66b", ARMS, "pre", "post", ancova.loc["CD66b"].to_dict()),
        "forest": plot_forest(forest_rows(e), ARMS),
        "heatmap": plot_change_heatmap(v, tables["features"], ARMS, "pre", "post"),
        "volcano": plot_volcano(de_table(), ARMS),
        "gsea": plot_gsea_dots(gsea_table()),
        "immune": plot_immune_values(tables["immune"], ARMS, "pre", "post"),
        "agreement": plot_agreement(tables["scores"], tables["immune"], ARMS, "pre"),
    }
    for name, fig in figures.items():
        texts = "\n".join(_texts(fig))
        assert max(len(line) for line in texts.split("\n")) <= 160, name  # long names were shortened
        formats = ("png", "pdf", "svg") if name == "volcano" else ("png",)  # all three once: time
        paths = save_figure(fig, tmp_path / name, formats=formats, dpi=60)
        assert [p.suffix.lstrip(".") for p in paths] == list(formats)
        assert all(p.stat().st_size > 1000 for p in paths)
    svg = (tmp_path / "volcano.svg").read_text()
    assert "<script>" not in svg and "&lt;script&gt;" in svg  # text kept as text, XML-escaped


def test_forest_orders_by_family_and_estimate_and_shows_not_estimable(tables):
    rows = forest_rows(tables["effects"])
    # the plan's families first (here "exploratory"), then the others in the table's order
    assert list(dict.fromkeys(rows["family"])) == ["exploratory", "primary_signatures"]
    assert set(rows.loc[rows["family"] == "primary_signatures", "label"]) == {"Display 0", "Display 1"}
    fam = rows[rows["family"] == "exploratory"]
    plan_order = [f for f in tables["effects"]["feature"].drop_duplicates() if f in set(fam["feature"])]
    assert list(fam["feature"]) == plan_order  # a plan family keeps the plan's (testing) order
    for _, fam in rows[rows["family"] != "exploratory"].groupby("family"):
        est = fam["std_effect"].dropna()
        assert est.is_monotonic_increasing
        assert fam["estimate"].isna().sum() == 0 or fam["estimate"].isna().iloc[-1]  # NA rows last
    fig = plot_forest(rows, ARMS)
    texts = _texts(fig)
    assert any(t.startswith("not estimable: fewer than 3 pairs") for t in texts)
    assert "Display 0" in texts and "Standardised difference" in fig.axes[0].get_xlabel()
    plt.close(fig)


def test_forest_pages_per_family_at_most_25_rows_sharing_the_axis():
    from tme.plots.forest import forest_pages

    features = [f"S{i:03d}|singscore" for i in range(60)] + ["P1", "P2"]
    families = {f: "exploratory_signatures" for f in features[:60]} | {"P1": "primary", "P2": "primary"}
    rows = forest_rows(effects_table(features, families))
    pages = forest_pages(rows)
    assert [(p.family, p.page, p.n_pages, len(p.rows)) for p in pages] == [
        ("primary", 1, 1, 2),
        ("exploratory_signatures", 1, 3, 20),
        ("exploratory_signatures", 2, 3, 20),
        ("exploratory_signatures", 3, 3, 20),
    ]
    assert pages[0].stem == "01_primary_01" and pages[3].stem == "02_exploratory_signatures_03"
    assert len({p.xlim for p in pages[1:]}) == 1  # one family, one axis
    shown = pd.concat(p.rows for p in pages)
    assert sorted(shown["feature"]) == sorted(rows["feature"])  # every row on exactly one page
    lo, hi = pages[1].xlim
    assert (
        lo <= rows["std_effect_ci_low"].min()
        and hi >= rows.loc[rows["family"] != "primary", "std_effect_ci_high"].max()
    )


def test_forest_prints_the_configured_confidence_level_and_readable_effects(tables):
    from tme.plots.forest import readable_effect

    fig = plot_forest(forest_rows(tables["effects"]), ARMS, conf_level=0.9)
    texts = "\n".join(_texts(fig))
    assert "90% CI" in texts and "95" not in texts and "adj. p < 0.1" in texts
    plt.close(fig)
    row = {"ratio": 0.8012, "ratio_ci_low": 0.55, "ratio_ci_high": 1.17, "estimate": -0.3}
    assert readable_effect(row) == "ratio 0.80 (0.55, 1.17)"
    row = {"ratio": np.nan, "estimate": -0.0894, "ci_low": -0.118, "ci_high": -0.0601, "unit": "singscore"}
    assert readable_effect(row) == "−0.089 (−0.118, −0.060) singscore"


def test_paired_plot_title_carries_ancova(tables):
    e = tables["effects"]
    row = e[(e["analysis"] == "ancova") & (e["feature"] == "TME_IL1_INDUCED|singscore")].iloc[0].to_dict()
    fig = plot_feature(tables["values"], "TME_IL1_INDUCED|singscore", ARMS, "pre", "post", row)
    title = fig._suptitle.get_text()
    assert "ANCOVA anakinra − usual care" in title and "95% CI" in title and "adj. p (BH) = " in title
    texts = _texts(fig)
    # 12 patients alternate arms; the last (P11, anakinra) has no post sample
    assert "usual care\n6 pairs" in texts and "anakinra\n5 pairs" in texts
    assert {"pre\nn = 6", "post\nn = 6", "post\nn = 5"} <= set(texts)
    plt.close(fig)
    fig = plot_feature(tables["values"], "TME_IL1_INDUCED|singscore", ARMS, "pre", "post", row, None, "IL-1", 0.9)
    title = fig._suptitle.get_text()
    assert title.startswith("IL-1\n") and "90% CI" in title and "95" not in title
    plt.close(fig)


def test_qc_and_pca(tables):
    rng = np.random.default_rng(0)
    obs = tables["scores"].drop_duplicates("sample_id")[["sample_id", "patient_id", "arm", "timepoint"]]
    obs = obs.assign(batch=np.where(np.arange(len(obs)) % 3 == 0, "run1", "run2"), exclude_reason="")
    pca = obs.assign(
        PC1=rng.normal(size=len(obs)),
        PC2=rng.normal(size=len(obs)),
        PC1_variance_explained=0.3,
        PC2_variance_explained=0.1,
        n_genes=300,
    )
    fig = plot_pca(pca, ARMS, ["pre", "post"])
    assert "300 most variable genes" in fig._suptitle.get_text()
    assert {ax.get_xlabel() for ax in fig.axes if ax.get_xlabel()} == {"PC1 (30.0% of variance)"}
    _draw(fig)
    qc = obs.assign(library_size=rng.integers(50_000, 3e7, len(obs)), detected_genes=14000, median_log2_expression=3.0)
    qc.loc[qc.index[0], "exclude_reason"] = HOSTILE
    _draw(plot_expression_qc(qc, ARMS, ["pre", "post"], 100_000))


def test_empty_inputs_give_a_figure_that_says_why():
    empty = pd.DataFrame(
        columns=["feature", "analysis", "family", "estimate", "ci_low", "ci_high", "p_adjusted", "note"]
    )
    fig = plot_forest(forest_rows(empty))
    assert any("No rows to draw" in t for t in _texts(fig))
    plt.close(fig)


def test_saved_files_are_byte_identical_across_runs(tables, tmp_path):
    digests = []
    for run in ("a", "b"):
        paths = save_figure(plot_sample_flow(flow_table(), ARMS), tmp_path / run / "flow", dpi=60)
        digests.append([hashlib.sha256(p.read_bytes()).hexdigest() for p in paths])
    assert digests[0] == digests[1]
    pdf = (tmp_path / "a" / "flow.pdf").read_bytes()
    assert b"CreationDate" not in pdf


def test_blinded_annotation_is_the_pooled_change(tables):
    from tme.plots.paired import change_text

    row = {"estimate": -0.4, "ci_low": -0.6, "ci_high": -0.2, "p_adjusted": 0.01, "note": ""}
    text = change_text(row)
    assert text.startswith("Pooled change (Hodges–Lehmann") and "adj. p = 0.010" in text
    assert "not estimable (too few pairs)" in change_text({"estimate": float("nan"), "note": "too few pairs"})
    fig = plot_feature(tables["values"], "CD68", ["usual_care", "anakinra"], "pre", "post", annotation=text)
    assert "ANCOVA" not in fig._suptitle.get_text()
    plt.close(fig)


def _grid(endpoint: str, fragile: bool) -> pd.DataFrame:
    delta = np.round(np.arange(-2, 2.01, 0.5), 2)
    est = -0.4 + 0.2 * delta if fragile else -0.4 + 0.0 * delta
    return pd.DataFrame(
        dict(
            endpoint=endpoint,
            display_name=f"{endpoint} display",
            role="primary",
            unit="log2 expression",
            feature=f"{endpoint}|singscore",
            delta=delta,
            delta_sd=delta,
            estimate=est,
            ci_low=est - 0.3,
            ci_high=est + 0.3,
            significant=(est + 0.3) < 0,
        )
    )


def test_tipping_point_figures_one_per_endpoint_with_display_name_and_level():
    from tme.plots.sensitivity import tipping_point_figures

    secondary = _grid("nk", True).assign(role="key_secondary")  # figures are per primary endpoint
    grid = pd.concat([_grid("macrophages", True), secondary, _grid(HOSTILE, False)], ignore_index=True)
    sensitivity = pd.DataFrame(
        dict(
            endpoint=["macrophages", HOSTILE, "macrophages"],
            analysis=["tipping_point", "tipping_point", "ancova"],
            tipping_delta=[-0.5, np.nan, np.nan],
        )
    )
    figures = list(tipping_point_figures(grid, sensitivity, ARMS, conf_level=0.9))
    assert len(figures) == 2 and figures[0][0] == "01_macrophages" and figures[1][0].startswith("02_")
    assert all(c.isalnum() or c in "._-" for c in figures[1][0])
    texts = _texts(figures[0][1])
    assert "Tipping point: macrophages display" in texts and "90% CI" in texts
    assert "tipping point δ = -0.5" in texts and "Difference, anakinra − usual care (log2 expression)" in texts
    assert not any(t.startswith("tipping point δ") for t in _texts(figures[1][1]))  # no flip: no line
    for _, fig in figures:
        _draw(fig)


def test_residual_figures_pages_of_three_endpoints():
    from tme.plots.sensitivity import residual_figures

    rng = np.random.default_rng(7)
    residuals, checks = [], []
    for k in range(4):
        n = 12
        residuals.append(
            pd.DataFrame(
                dict(
                    endpoint=f"e{k}",
                    display_name=f"Endpoint {k}",
                    feature=f"f{k}",
                    patient_id=[f"P{i}" for i in range(n)],
                    treated=np.arange(n) % 2,
                    fitted=rng.normal(size=n),
                    residual=rng.normal(size=n),
                    cooks_distance=rng.uniform(0, 0.5, n),
                    influential=np.arange(n) == 3,
                )
            )
        )
        checks.append(
            pd.DataFrame(
                dict(endpoint=f"e{k}", feature=f"f{k}", check=["shapiro_wilk", "arm_x_baseline"], p=[0.2, 0.7])
            )
        )
    pages = list(residual_figures(pd.concat(residuals), pd.concat(checks), ARMS))
    assert [s for s, _ in pages] == ["page_01", "page_02"]
    assert len(pages[0][1].axes) == 9 and len(pages[1][1].axes) == 3
    assert any(t.startswith("Endpoint 3\narm × baseline p = 0.7") for t in _texts(pages[1][1]))
    for _, fig in pages:
        plt.close(fig)
    empty = pd.concat(residuals).iloc[0:0]
    [(stem, fig)] = residual_figures(empty, pd.concat(checks).iloc[0:0], ARMS)
    assert stem == "page_01" and any("No residual diagnostics" in t for t in _texts(fig))
    plt.close(fig)


def test_immune_panels_count_patients_per_timepoint_and_pairs_per_measure(tables):
    immune = tables["immune"].copy()
    # P00 (usual care): CD68 post not measured (NaN); P11 (anakinra) has no post sample at all
    immune.loc[
        (immune["patient_id"] == "P00") & (immune["timepoint"] == "post") & (immune["measure"] == "CD68"), "value"
    ] = np.nan
    fig = plot_immune_values(immune, ARMS, "pre", "post")
    cd68, cd66b = (
        [t.get_text() for t in ax.texts] + [t.get_text() for t in ax.get_xticklabels()] for ax in fig.axes[:2]
    )
    assert {"usual care\n5 pairs", "anakinra\n5 pairs", "pre\nn = 6", "post\nn = 5"} <= set(cd68)
    assert sum(t == "post\nn = 5" for t in cd68) == 2  # usual care lost one post, anakinra has 5
    assert {"usual care\n6 pairs", "anakinra\n5 pairs", "post\nn = 6"} <= set(cd66b)
    plt.close(fig)


def _colours(fig) -> set[str]:
    from matplotlib.collections import Collection
    from matplotlib.colors import to_hex
    from matplotlib.lines import Line2D

    found = set()
    for artist in fig.findobj(lambda a: isinstance(a, Line2D | Collection)):
        if isinstance(artist, Line2D):
            found.add(to_hex(artist.get_color()))
        else:
            found |= {to_hex(c) for c in artist.get_facecolor()} | {to_hex(c) for c in artist.get_edgecolor()}
    return {c.upper() for c in found}


def test_arm_colours_mean_arms_only():
    """Figures without arms (volcano, tipping point) never draw in the two arms' colours; the arm figures do."""
    from tme.plots.sensitivity import plot_tipping_point
    from tme.plots.style import ARM_COLOURS

    arms = {c.upper() for c in ARM_COLOURS[:2]}
    for fig in (plot_volcano(de_table(), ARMS), plot_tipping_point(_grid("x", True), -0.5, "x", "u", 0.95, ARMS)):
        assert not _colours(fig) & arms
        plt.close(fig)
    fig = plot_immune_values(immune_table(scores_table()), ARMS, "pre", "post")
    assert arms <= _colours(fig)
    plt.close(fig)


def test_spearman_rho_matches_scipy_with_ties():
    from scipy.stats import spearmanr

    from tme.plots.immune import spearman_rho

    x = pd.Series([1.0, 2, 2, 3, 5, 5, 5, 0.5, 7, 8])
    y = pd.Series([0.3, 0.1, 0.2, 0.2, 0.9, 0.4, 0.4, 0.0, 1.5, 1.1])
    assert spearman_rho(x, y) == pytest.approx(spearmanr(x, y).statistic, abs=1e-12)
    assert spearman_rho(x, -x) == pytest.approx(-1.0)


def test_tipping_point_without_endpoints_says_why():
    from tme.plots.sensitivity import tipping_point_figures

    grid = _grid("x", True).iloc[0:0]
    sensitivity = pd.DataFrame(columns=["endpoint", "analysis", "tipping_delta"])
    [(stem, fig)] = tipping_point_figures(grid, sensitivity, ARMS)
    assert stem == "00_none" and any("No tipping-point analysis" in t for t in _texts(fig))
    plt.close(fig)
