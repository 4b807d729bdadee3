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

from tme.stats.bootstrap import bootstrap_mean_change_difference
from tme.stats.clda import clda
from tme.stats.de import differential_expression
from tme.stats.design import Design
from tme.stats.diagnostics import DIAGNOSTIC_COLUMNS, RESIDUAL_COLUMNS, residual_diagnostics
from tme.stats.effects import READABLE_COLUMNS, readable_effects
from tme.stats.gsea import prerank_gsea
from tme.stats.imputation import impute_posts, multiple_imputation_ancova, rubin_pool, tipping_point
from tme.stats.kenward_roger import kenward_roger
from tme.stats.mixed import mixed_model_interaction
from tme.stats.multiplicity import benjamini_hochberg
from tme.stats.paired import (
    BETWEEN_COLUMNS,
    WITHIN_COLUMNS,
    changes_within_arm,
    effects_between_arms,
)
from tme.stats.parametric import ancova, ancova_hc3, paired_t, welch_t
from tme.stats.rank_tests import rank_sum_test, signed_rank_test
from tme.stats.result import Estimate
from tme.stats.sensitivity import SENSITIVITY_COLUMNS, TIPPING_GRID_COLUMNS, sensitivity_analyses

__all__ = [
    "BETWEEN_COLUMNS",
    "DIAGNOSTIC_COLUMNS",
    "READABLE_COLUMNS",
    "RESIDUAL_COLUMNS",
    "SENSITIVITY_COLUMNS",
    "TIPPING_GRID_COLUMNS",
    "WITHIN_COLUMNS",
    "Design",
    "Estimate",
    "ancova",
    "ancova_hc3",
    "benjamini_hochberg",
    "bootstrap_mean_change_difference",
    "changes_within_arm",
    "clda",
    "differential_expression",
    "effects_between_arms",
    "impute_posts",
    "kenward_roger",
    "mixed_model_interaction",
    "multiple_imputation_ancova",
    "paired_t",
    "prerank_gsea",
    "rank_sum_test",
    "readable_effects",
    "residual_diagnostics",
    "rubin_pool",
    "sensitivity_analyses",
    "signed_rank_test",
    "tipping_point",
    "welch_t",
]
