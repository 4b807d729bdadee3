"""tme: paired tumour-microenvironment biomarker analysis for window-of-opportunity trials."""

from importlib.metadata import PackageNotFoundError, version

from tme.errors import TmeInputError, TmeInputWarning

try:
    __version__ = version("tme")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0+unknown"

__all__ = ["TmeInputError", "TmeInputWarning", "__version__"]
