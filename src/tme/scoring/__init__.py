"""Gene-set scoring: ssGSEA, GSVA, z-score, PLAGE, singscore, means, weighted sums, CYT,
MCP-counter and ESTIMATE, on AnnData or genes x samples DataFrames.

``score(data, signatures, method)`` returns a samples x signatures DataFrame;
``coverage(genes, signatures)`` reports which signature genes the data contain.
ssGSEA, GSVA, z-score and PLAGE reproduce R GSVA 1.46.0 (tests/test_scoring_parity.py).
"""

from tme.scoring._api import METHODS, coverage, score
from tme.scoring.estimate import estimate_score, tumour_purity

__all__ = ["METHODS", "coverage", "estimate_score", "score", "tumour_purity"]
