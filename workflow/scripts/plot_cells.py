"""The report's cell figures (tme.plots.cells): the cell metrics pre/post per arm, and one patient's pre
and post slides as phenotype scatters — the patient (treatment arm; the pooled group when blinded)
whose change in the slide metric is closest to the arm's median change. The slide metric is the
plan's first cell-metric endpoint, else the figure's nearest-tumour-distance metric."""

from tme.cells import CellSettings, paired_values, patient_slides, read_metrics, usable_exports
from tme.config import Design
from tme.inputs import read_sheet
from tme.plots import plot_slide_pair, save_figure
from tme.plots.cells import UNITS, plot_cell_metrics, representative_patient, select_cell_features
from tme.plots.data import primary_analysis, read_table
from tme.plots.paired import change_text, effect_text
from tme.workflow import run


def slide_feature(stats, features):
    planned = stats.loc[stats["role"].fillna("") != "", "feature"] if "role" in stats else []
    if features and features[0] in set(planned):
        return features[0]
    return next((f for f in features if f.startswith("nn_distance_median|")), features[0] if features else "")


def main(snakemake):
    config = snakemake.config  # the design and cells section from the config, never from params
    design, samples = Design.from_config(config), read_sheet(config)
    arms, arm = list(design.arms), design.arms[-1]
    metrics, stats = read_metrics(snakemake.input.metrics), read_table(snakemake.input.stats)
    between = not (design.blinded or design.single_arm)
    analysis = "ancova" if between else "wilcoxon_signed_rank"
    rows = primary_analysis(stats, analysis).set_index("feature")
    features = select_cell_features(stats, analysis)
    what = "Pooled change" if design.blinded else "Within-arm change"
    notes = {f: effect_text(rows.loc[f], arms) if between else change_text(rows.loc[f], what) for f in features}
    values = metrics[metrics["family"] != ""].join(samples[["patient_id", "arm", "timepoint"]], on="sample_id")
    save_figure(plot_cell_metrics(values, features, arms, design.pre, design.post, notes), snakemake.output.metrics)

    feature = slide_feature(stats, features)
    patient = representative_patient(paired_values(metrics, samples)[0], feature, arm, design.pre, design.post)
    settings = CellSettings.from_config(config["cells"])
    exports = usable_exports(config["cells"], samples)
    pre, post = patient_slides(exports, settings, samples, patient, design.timepoints) if patient else (None, None)
    own = values[(values["patient_id"] == patient) & (values["feature"] == feature)].set_index("timepoint")
    caption = " → ".join(f"{own.loc[t, 'value']:.3g}" for t in design.timepoints if t in own.index)
    caption = f"{feature}: {caption} {UNITS.get(own['unit'].iloc[0], own['unit'].iloc[0])}" if len(own) else ""
    fig = plot_slide_pair(pre, post, patient or "", arm, caption, types=settings.phenotypes.types)
    save_figure(fig, snakemake.output.slides)


run(snakemake, main)
