"""Package exports that import their module on first use (PEP 562).

A rule script pays only for the modules it uses: ``tme.stats`` would otherwise import scipy and every
analysis, ``tme.planning`` scipy's optimisers, for a job that reads one table.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from importlib import import_module


def lazy_exports(package: str, exports: Mapping[str, str]) -> tuple[Callable[[str], object], Callable[[], list]]:
    """``(__getattr__, __dir__)`` for ``package`` whose public names come from ``exports``
    (name → submodule of ``package``)."""

    def __getattr__(name: str) -> object:
        if name in exports:
            return getattr(import_module(f"{package}.{exports[name]}"), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__() -> list[str]:
        return sorted(exports)

    return __getattr__, __dir__
