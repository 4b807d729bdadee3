"""Statistics for paired two-arm window trials: paired/between-arm analyses, DE, GSEA.

Public API
----------
:class:`Design`, :func:`changes_within_arm`, :func:`effects_between_arms` (tables documented in
:mod:`tme.stats.paired`), :func:`benjamini_hochberg`; the building blocks
:func:`signed_rank_test`, :func:`rank_sum_test`, :func:`paired_t`, :func:`welch_t`,
:func:`ancova`, :func:`mixed_model_interaction`, :func:`bootstrap_mean_change_difference`;
sign-off analyses per endpoint: :func:`sensitivity_analyses` (``ancova``, ``ancova_hc3``,
``clda``, ``mi_mar``, ``tipping_point`` rows; :mod:`tme.stats.sensitivity`),
:func:`readable_effects` (LS means, back-transformed ratio, standardised effect;
:mod:`tme.stats.effects`), :func:`residual_diagnostics` (:mod:`tme.stats.diagnostics`) and their
building blocks :func:`clda`, :func:`ancova_hc3`, :func:`multiple_imputation_ancova`,
:func:`impute_posts`, :func:`tipping_point`, :func:`rubin_pool`, :func:`kenward_roger`;
gene level :func:`differential_expression` (:mod:`tme.stats.de`) and :func:`prerank_gsea`
(:mod:`tme.stats.gsea`).
"""

from tme.lazy import lazy_exports

#: Public name → the module of tme.stats that defines it (imported on first use: statsmodels and
#: scipy.stats are slow to import and a job needs only its own analysis).
_API = {
    "bootstrap_mean_change_difference": "bootstrap",
    "clda": "clda",
    "differential_expression": "de",
    "Design": "design",
    "DIAGNOSTIC_COLUMNS": "diagnostics",
    "RESIDUAL_COLUMNS": "diagnostics",
    "residual_diagnostics": "diagnostics",
    "READABLE_COLUMNS": "effects",
    "readable_effects": "effects",
    "prerank_gsea": "gsea",
    "impute_posts": "imputation",
    "multiple_imputation_ancova": "imputation",
    "rubin_pool": "imputation",
    "tipping_point": "imputation",
    "kenward_roger": "kenward_roger",
    "mixed_model_interaction": "mixed",
    "benjamini_hochberg": "multiplicity",
    "adjust": "multiplicity",
    "BETWEEN_COLUMNS": "paired",
    "WITHIN_COLUMNS": "paired",
    "changes_within_arm": "paired",
    "effects_between_arms": "paired",
    "ancova": "parametric",
    "ancova_hc3": "parametric",
    "paired_t": "parametric",
    "welch_t": "parametric",
    "rank_sum_test": "rank_tests",
    "signed_rank_test": "rank_tests",
    "Estimate": "result",
    "SENSITIVITY_COLUMNS": "sensitivity",
    "TIPPING_GRID_COLUMNS": "sensitivity",
    "sensitivity_analyses": "sensitivity",
    "BETWEEN_ARM": "analyses",
}

__all__ = sorted(_API)


lazy_exports(__name__, _API)
