"""Statistics for paired two-arm window trials: paired/between-arm analyses, DE, GSEA.

Public API
----------
:class:`Design`, :func:`changes_within_arm`, :func:`effects_between_arms` (tables documented in
:mod:`tme.stats.paired`), :func:`benjamini_hochberg`; the building blocks
:func:`signed_rank_test`, :func:`rank_sum_test`, :func:`paired_t`, :func:`welch_t`,
:func:`ancova`, :func:`mixed_model_interaction`, :func:`bootstrap_mean_change_difference`;
gene level :func:`differential_expression` (:mod:`tme.stats.de`) and :func:`prerank_gsea`
(:mod:`tme.stats.gsea`).
"""

from tme.stats.bootstrap import bootstrap_mean_change_difference
from tme.stats.de import differential_expression
from tme.stats.design import Design
from tme.stats.gsea import prerank_gsea
from tme.stats.mixed import mixed_model_interaction
from tme.stats.multiplicity import benjamini_hochberg
from tme.stats.paired import (
    BETWEEN_COLUMNS,
    WITHIN_COLUMNS,
    changes_within_arm,
    effects_between_arms,
)
from tme.stats.parametric import ancova, paired_t, welch_t
from tme.stats.rank_tests import rank_sum_test, signed_rank_test
from tme.stats.result import Estimate

__all__ = [
    "BETWEEN_COLUMNS",
    "WITHIN_COLUMNS",
    "Design",
    "Estimate",
    "ancova",
    "benjamini_hochberg",
    "bootstrap_mean_change_difference",
    "changes_within_arm",
    "differential_expression",
    "effects_between_arms",
    "mixed_model_interaction",
    "paired_t",
    "prerank_gsea",
    "rank_sum_test",
    "signed_rank_test",
    "welch_t",
]
