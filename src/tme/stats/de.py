"""Gene-level differential expression for paired biopsies: DESeq2's nested paired design.

Between arms (the estimand): the DESeq2 nested design for patients within groups (Love, Huber &
Anders, Genome Biol 2014;15:550; DESeq2 vignette, "group-specific condition effects, individuals
nested within groups")::

    ~ arm + arm:patient_n + arm:timepoint

with patients numbered 1..k within each arm (``patient_n``), written out as the model matrix
``[1, arm_T, arm_R:patient_2..k_R, arm_T:patient_2..k_T, arm_R:post, arm_T:post]``. The contrast
``arm_T:post − arm_R:post`` is the difference between arms in the within-patient log2 fold change
post vs pre (table ``de_interaction``).

Within an arm (descriptive): the arm's own ``timepoint post`` coefficient of the same nested
fit (``arm_A:post``), i.e. the paired ``~ patient + timepoint`` effect within that arm with size
factors and dispersions estimated on all samples — DESeq2's ``results(dds, name =
"armA.timepointpost")`` as in the R reference (tables ``de_within_<arm>``). One fit serves all
three tables (per-arm fits would triple the run time and estimate dispersions from half the
samples).

Single-arm window study (``design.reference_arm`` is None): the paired design
``~ patient + timepoint`` of the one arm (the nested matrix without arm columns) and its
``timepoint post`` coefficient (table ``de_within_<arm>``); nothing is compared between arms.

Decisions:

* patients without both timepoints are dropped (a :class:`tme.errors.TmeInputWarning` names
  them): with a patient term they carry no information on change, and they would distort the
  dispersion estimates (their residuals are zero);
* the model matrix rank is checked *before* fitting; a rank-deficient or saturated design raises
  :class:`tme.errors.TmeInputError` explaining in words which columns (arms, patients) cause it;
* the fit is DESeq2's (size factors, dispersion trend and shrinkage, Wald test, independent
  filtering at ``alpha = 0.05``), computed by :mod:`tme.stats.deseq2` in closed forms for this
  design; it agrees with R DESeq2 1.38 (``DESeq(dds, full = model_matrix)``) to its convergence
  tolerances (tests/test_de.py). No Cook's outlier step applies to this design (every sample has
  its own model-matrix row).
* targeted panels (NanoString nCounter): size factors from the panel's housekeepers only
  (``control_genes``, DESeq2's ``estimateSizeFactors(controlGenes=)``): the median of ratios over
  all genes assumes most genes do not change, which a 750-gene immune panel designed around the
  biology under study does not grant, while its housekeepers are the designed reference.

Output columns: ``gene, baseMean, log2FoldChange, lfcSE, stat, pvalue, padj`` (DESeq2's
``results()`` columns; ``padj`` is BH over the genes kept by independent filtering, NaN otherwise).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from tme.errors import TmeInputError, TmeInputWarning
from tme.stats.deseq2 import PairedLayout, fit_paired, wald_test
from tme.stats.design import Design

RESULT_COLUMNS = ["gene", "baseMean", "log2FoldChange", "lfcSE", "stat", "pvalue", "padj"]


def paired_samples(samples: pd.DataFrame, design: Design) -> pd.DataFrame:
    """Keep samples of patients with exactly one pre and one post sample; warn about the rest.

    ``samples`` is indexed by sample id with columns ``patient_id, arm, timepoint``. Returns them
    sorted by arm, patient, timepoint with an added ``patient_n`` (1..k within arm).
    """
    missing = {"patient_id", "arm", "timepoint"} - set(samples.columns)
    if missing:
        raise TmeInputError(
            f"the sample table lacks column(s) {sorted(missing)}",
            fix="provide patient_id, arm and timepoint per sample",
        )
    # plain strings: categorical columns (AnnData .obs) would give empty groups for unused levels
    samples = samples.astype({"patient_id": str, "arm": str, "timepoint": str})
    samples = samples[
        samples["arm"].isin([design.reference_arm, design.treatment_arm])
        & samples["timepoint"].isin([design.pre, design.post])
    ]
    two_arms = samples.groupby("patient_id")["arm"].nunique() > 1
    if two_arms.any():
        raise TmeInputError(
            f"patient(s) {', '.join(two_arms.index[two_arms])} have samples in both arms",
            column="arm",
            fix="each patient belongs to one arm; correct the sample table",
        )
    per_patient = samples.groupby("patient_id")["timepoint"].agg(lambda t: tuple(sorted(t)))
    complete = per_patient == tuple(sorted((design.pre, design.post)))
    if not complete.all():
        warnings.warn(
            f"{int((~complete).sum())} patient(s) without exactly one {design.pre} and one "
            f"{design.post} sample dropped from the paired DE design: "
            f"{', '.join(per_patient.index[~complete])}",
            TmeInputWarning,
            stacklevel=3,
        )
    samples = samples[samples["patient_id"].isin(per_patient.index[complete])].copy()
    samples["_arm_order"] = (samples["arm"] == design.treatment_arm).astype(int)
    samples["_post"] = (samples["timepoint"] == design.post).astype(int)
    samples = samples.sort_values(["_arm_order", "patient_id", "_post"])
    samples["patient_n"] = samples.groupby("arm")["patient_id"].transform(lambda p: pd.factorize(p)[0] + 1)
    return samples.drop(columns=["_arm_order", "_post"])


def nested_design_matrix(samples: pd.DataFrame, design: Design) -> pd.DataFrame:
    """Model matrix of ``~ arm + arm:patient_n + arm:timepoint`` (first patient of an arm = ref).

    With one arm (``design.reference_arm`` None) there is no arm column: ``~ patient + timepoint``.
    """
    columns = {"intercept": np.ones(len(samples))}
    if not design.single_arm:
        columns[f"arm_{design.treatment_arm}"] = samples["arm"] == design.treatment_arm
    for arm in design.arms:
        in_arm = samples["arm"] == arm
        for n in sorted(samples.loc[in_arm, "patient_n"].unique())[1:]:
            columns[f"arm_{arm}:patient_{n}"] = in_arm & (samples["patient_n"] == n)
    for arm in design.arms:
        columns[f"arm_{arm}:timepoint_{design.post}"] = (samples["arm"] == arm) & (samples["timepoint"] == design.post)
    return pd.DataFrame(columns, index=samples.index).astype(float)


def check_design_rank(matrix: pd.DataFrame, samples: pd.DataFrame, what: str) -> None:
    """Raise a :class:`TmeInputError` explaining a rank-deficient or saturated design in words."""
    problems = []
    kept = np.empty((len(matrix), 0))
    for name in matrix.columns:
        column = matrix[name].to_numpy()
        if not column.any():
            problems.append(f"column '{name}' is all zero (no sample has that combination)")
            continue
        candidate = np.column_stack([kept, column])
        if np.linalg.matrix_rank(candidate) == kept.shape[1]:
            problems.append(f"column '{name}' is a combination of the columns before it")
        else:
            kept = candidate
    if problems:
        raise TmeInputError(
            f"the {what} design is rank-deficient ({matrix.shape[1]} columns, rank "
            f"{np.linalg.matrix_rank(matrix.to_numpy())}): " + "; ".join(problems),
            fix="each arm needs patients with both timepoints; check the arm/timepoint labels "
            "of the samples (a patient must belong to one arm)",
        )
    if len(matrix) <= matrix.shape[1]:
        per_arm = samples.drop_duplicates("patient_id")["arm"].value_counts().to_dict()
        raise TmeInputError(
            f"the {what} design has {matrix.shape[1]} coefficients for {len(matrix)} samples: no "
            f"residual degrees of freedom to estimate dispersion (paired patients per arm: "
            f"{per_arm})",
            fix="at least 3 paired patients per arm are needed",
        )


def _check_counts(counts: pd.DataFrame, samples: pd.DataFrame) -> None:
    absent = [s for s in samples.index if s not in counts.columns]
    if absent:
        raise TmeInputError(
            f"{len(absent)} sample(s) of the sample table have no counts column: {', '.join(map(str, absent[:5]))}",
            fix="make the counts columns match the sample ids",
        )


def differential_expression(
    counts: pd.DataFrame,
    samples: pd.DataFrame,
    design: Design,
    n_cpus: int = 1,
    alpha: float = 0.05,
    min_count: int = 10,
    control_genes: list[str] | None = None,
) -> dict[str, pd.DataFrame]:
    """Fit the nested paired design once; Wald tests of the interaction and each arm's change.

    A single-arm study (``design.reference_arm`` None) fits ``~ patient + timepoint`` and tests
    the arm's change only.

    Genes are pre-filtered as the DESeq2 vignette recommends: kept when at least ``min_count``
    reads are seen in at least as many samples as the smallest arm × timepoint group (0 keeps
    every gene). Filtered genes carry no information for the test and only cost fitting time.

    Parameters
    ----------
    counts
        Raw integer counts, genes × samples (columns are sample ids).
    samples
        Sample table indexed by sample id with ``patient_id, arm, timepoint``.
    design
        Arm and timepoint labels (covariates are not used: patient terms absorb patient-level
        covariates).
    n_cpus
        Threads for the per-gene fitting (the results do not depend on it).
    alpha
        Target FDR of DESeq2's independent filtering (``results(alpha = ...)``; R's default is
        0.1, tme's 0.05).
    min_count
        Pre-filter threshold (reads), see above.
    control_genes
        Genes whose median of ratios gives the size factors (a panel's housekeepers); ``None``: all
        genes (DESeq2's default). They must pass the pre-filter.

    Returns
    -------
    ``{"de_interaction": ..., "de_within_<reference_arm>": ..., "de_within_<treatment_arm>": ...}``
    (a single-arm study: ``{"de_within_<treatment_arm>": ...}`` only), each with columns
    ``gene, baseMean, log2FoldChange, lfcSE, stat, pvalue, padj``.
    """
    paired = paired_samples(samples, design)
    _check_counts(counts, paired)
    matrix = nested_design_matrix(paired, design)
    check_design_rank(matrix, paired, "within-arm paired" if design.single_arm else "nested between-arm")
    if min_count > 0:
        smallest = int(paired.groupby(["arm", "timepoint"], observed=True).size().min())
        counts = counts.loc[(counts[paired.index] >= min_count).sum(axis=1) >= smallest]
    if control_genes is not None:
        kept = [g for g in control_genes if g in counts.index]
        if not kept:
            raise TmeInputError(
                f"none of the {len(control_genes)} control (housekeeping) genes passes the count filter",
                fix="check the panel's housekeepers (expression.nanostring.housekeepers)",
            )
        control_genes = kept
    arm_index = paired["arm"].map({arm: i for i, arm in enumerate(design.arms)}).to_numpy()
    layout = PairedLayout(arm_index[0::2], matrix.to_numpy())
    control = None if control_genes is None else counts.index.isin(control_genes)
    fit = fit_paired(counts[paired.index].to_numpy(dtype=float), layout, n_threads=n_cpus, control=control)
    # post effects are ordered as design.arms: (reference, treatment), or the one arm
    contrasts = {} if design.single_arm else {"de_interaction": [-1.0, 1.0]}
    for i, arm in enumerate(design.arms):
        contrasts[f"de_within_{arm}"] = np.eye(len(design.arms))[i]
    return {
        name: pd.DataFrame({"gene": counts.index, **wald_test(fit, np.asarray(weights), alpha)})[RESULT_COLUMNS]
        for name, weights in contrasts.items()
    }
