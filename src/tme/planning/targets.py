"""Plan endpoints and target effects in the units a protocol states them in.

A target effect is the smallest between-arm difference in change worth detecting. It is given
either as a difference on the endpoint's analysis scale (``scale="difference"``: e.g. −0.05
singscore units, +10 sTILs percentage points) or, for endpoints analysed on a log scale, as a
**fold change** of the treatment arm relative to the reference arm (post, adjusted for baseline):
``scale="log2"`` (log2 expression, log2 CPM + 1) converts a fold change ``f`` to the difference
``log2(f)``; ``scale="ln"`` (natural-log analysis scales such as tme's ``log1p`` densities)
to ``ln(f)`` — for ``log1p`` it is the fold change of ``1 + density``, close to the fold change of
the density when densities are well above 1 cell/mm². ``f < 1`` is a decrease.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from tme.errors import TmeInputError

#: How a target effect is given → the base of the analysis scale's logarithm (None: a difference).
SCALES: Mapping[str, float | None] = {"difference": None, "log2": 2.0, "ln": float(np.e)}


@dataclass(frozen=True)
class Target:
    """One endpoint's target effect.

    Parameters
    ----------
    endpoint
        Endpoint name in the analysis plan.
    effect
        The effect: a difference (``scale="difference"``) or a fold change (``"log2"``, ``"ln"``).
    scale
        ``"difference"``, ``"log2"`` or ``"ln"`` (module docstring).
    """

    endpoint: str
    effect: float
    scale: str = "difference"

    def __post_init__(self) -> None:
        where = f"planning target of endpoint '{self.endpoint}'"
        if self.scale not in SCALES:
            raise TmeInputError(
                f"{where}: unknown scale {self.scale!r}", column="scale", fix=f"use one of {list(SCALES)}"
            )
        fold = SCALES[self.scale] is not None
        if not np.isfinite(self.effect) or (fold and self.effect <= 0):
            what = "positive fold change" if fold else "number"
            raise TmeInputError(
                f"{where}: effect {self.effect} is not a {what}",
                column="effect",
                fix="give e.g. 1.5 (a 1.5-fold increase) or 0.67 (a decrease)"
                if fold
                else "give the difference on the analysis scale",
            )
        if self.difference == 0:
            what = "a fold change of 1" if fold else "a difference of 0"
            raise TmeInputError(
                f"{where}: the target effect is {what}, which no sample size can detect (power stays at alpha)",
                column="effect",
                fix="give the smallest effect worth detecting",
            )

    @property
    def difference(self) -> float:
        """The effect as a difference on the analysis scale (log of the fold change)."""
        base = SCALES[self.scale]
        return float(self.effect) if base is None else float(np.log(self.effect) / np.log(base))

    def readable(self, difference: float) -> float:
        """An analysis-scale difference in this target's units (fold change or difference)."""
        base = SCALES[self.scale]
        return float(difference) if base is None else float(base**difference)


def nearest(name: str, names: Sequence[str]) -> str:
    """`` (did you mean 'x'?)`` or, with no close name, the list of names."""
    close = difflib.get_close_matches(name, list(names), n=3)
    return f" (did you mean {', '.join(map(repr, close))}?)" if close else f" (plan endpoints: {', '.join(names)})"


def resolve_targets(endpoints: Sequence[str], targets: Mapping[str, Target | Mapping]) -> dict[str, Target]:
    """Targets for the plan's ``endpoints``, in plan order; every endpoint needs one.

    ``targets`` maps endpoint → :class:`Target` or a mapping ``{effect, scale}`` (as in the config).
    A target naming an endpoint not in the plan is an error with the nearest names.
    """
    endpoints = list(endpoints)
    if not endpoints:
        raise TmeInputError(
            "the plan has no endpoint to plan for",
            column="endpoints",
            fix="name the primary endpoints of the analysis plan",
        )
    for name in targets:
        if name not in endpoints:
            raise TmeInputError(
                f"planning target names endpoint {name!r}, which is not in the plan" + nearest(name, endpoints),
                column="targets",
                fix="use the endpoint names of the analysis plan",
            )
    missing = [e for e in endpoints if e not in targets]
    if missing:
        raise TmeInputError(
            f"no target effect for plan endpoint(s) {missing}",
            column="targets",
            fix="give each endpoint the smallest effect worth detecting (effect and scale)",
        )
    out = {}
    for name in endpoints:
        t = targets[name]
        out[name] = t if isinstance(t, Target) else Target(name, t["effect"], t.get("scale", "difference"))
    return out
