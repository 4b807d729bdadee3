"""Package exports that import their module on first use (the package module's ``__class__`` swapped).

A rule script pays only for the modules it uses: ``tme.stats`` would otherwise import scipy and every
analysis, ``tme.planning`` scipy's optimisers, ``tme.nanostring`` anndata, for a job that reads one
table or a Snakefile that only plans jobs.
"""

from __future__ import annotations

import sys
import types
from collections.abc import Mapping
from importlib import import_module


def lazy_exports(package: str, exports: Mapping[str, str]) -> None:
    """Make the public names of ``package`` (name → submodule in ``exports``) load on first use.

    The package's class is swapped rather than given a module ``__getattr__``: an export named like
    its submodule (``tme.stats.clda``, ``tme.nanostring.normalise``) must stay the function once the
    import system has bound the submodule to that name on the package.
    """

    class LazyPackage(types.ModuleType):
        def __getattribute__(self, name: str):
            if name in exports:
                return getattr(import_module(f"{package}.{exports[name]}"), name)
            return super().__getattribute__(name)

        def __dir__(self) -> list[str]:
            return sorted(set(super().__dir__()) | set(exports))

    sys.modules[package].__class__ = LazyPackage
