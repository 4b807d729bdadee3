"""One look for every tme figure: arm colours, text handling and deterministic saving.

* **Colours**: the Okabe–Ito palette (Okabe & Ito 2008, "Color Universal Design"; Wong, Nat
  Methods 2011;8:441), safe for the common colour-vision deficiencies. The reference arm is always
  blue and the treatment arm vermillion, in every figure; timepoints are told apart by marker fill
  (pre open, post filled), never by colour alone.
* **Text**: every string that comes from the user (sample, patient, signature, gene-set names) goes
  through :func:`label`, which shortens it; mathtext is switched off (``text.parse_math = False``)
  inside :func:`theme`, so a ``$`` in a name is printed, not interpreted.
* **Saving**: :func:`save_figure` writes PNG (for the report) and PDF + SVG (for papers) with fixed
  dpi and no timestamps (``metadata`` Date/CreationDate = None, ``svg.hashsalt`` fixed), so the
  same data give byte-identical files on every run; :class:`FigurePages` writes many figures as
  one PNG each plus one multi-page PDF (fonts embedded once, which is most of a PDF's cost). The
  layout is computed once per figure and shared by every format. PNGs are at most
  :data:`MAX_PNG_WIDTH` pixels wide (the report shows them at natural size in a ~1140 px pane).
* **Numbers**: :func:`ci_label` and :func:`format_estimate` take the run's confidence level;
  :data:`MULTIPLICITY_LABELS` names each multiplicity procedure as figures print it.
"""

from __future__ import annotations

import logging
import math
import os
import re
from collections.abc import Iterable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # figures are only ever written to files

import matplotlib.pyplot as plt  # noqa: E402

from tme.io import atomic_path  # noqa: E402

#: Okabe–Ito colours by name.
OKABE_ITO = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky_blue": "#56B4E9",
    "bluish_green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish_purple": "#CC79A7",
}
#: Arm colours in design order: reference arm first, treatment arm second (extra arms after).
ARM_COLOURS = (
    OKABE_ITO["blue"],
    OKABE_ITO["vermillion"],
    OKABE_ITO["bluish_green"],
    OKABE_ITO["reddish_purple"],
    OKABE_ITO["orange"],
    OKABE_ITO["sky_blue"],
)
#: Colours for other categories (batches, ...), arm colours excluded so the two never get confused.
CATEGORY_COLOURS = (
    OKABE_ITO["orange"],
    OKABE_ITO["bluish_green"],
    OKABE_ITO["reddish_purple"],
    OKABE_ITO["sky_blue"],
    OKABE_ITO["yellow"],
    OKABE_ITO["black"],
)
NEUTRAL = "#4D4D4D"
MISSING = "#D9D9D9"
DPI = 150
FORMATS = ("png", "pdf", "svg")
#: Widest PNG the report shows at natural size; wider figures are saved at a lower dpi.
MAX_PNG_WIDTH = 1100
#: The tables' ``multiplicity`` values as figures print them.
MULTIPLICITY_LABELS = {
    "holm": "Holm",
    "hochberg": "Hochberg",
    "bonferroni": "Bonferroni",
    "hierarchical": "fixed sequence",
    "bh": "BH",
    "none": "unadjusted",
}

RC = {
    "text.parse_math": False,  # user strings are printed literally ($, ^, _ and \ included)
    "font.family": "DejaVu Sans",  # shipped with matplotlib: same glyphs on every machine
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.labelsize": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "legend.frameon": False,
    "figure.dpi": DPI,
    "savefig.dpi": DPI,
    "savefig.bbox": "tight",
    "pdf.fonttype": 42,  # TrueType: text stays editable in PDF
    "svg.fonttype": "none",  # text stays text in SVG (matplotlib XML-escapes it)
    "svg.hashsalt": "tme",  # fixed clip-path ids
    "path.simplify": True,
    # raster text unhinted: the glyph shapes of the PDF/SVG, and a quarter less time drawing text in
    # matplotlib 3.11 (its per-glyph rendering spends much of its time snapping outlines to pixels)
    "text.hinting": "no_hinting",
}

_METADATA = {
    "png": {"Software": None},
    "pdf": {"Creator": None, "Producer": None, "CreationDate": None, "ModDate": None},
    "svg": {"Date": None, "Creator": None},
}


@contextmanager
def theme() -> Iterator[None]:
    """Matplotlib settings of tme figures, restored on exit (no global state is changed)."""
    with plt.rc_context(RC):
        yield


def arm_colours(arms: Sequence[str]) -> dict[str, str]:
    """Arm → colour; ``arms`` in design order (reference first). One group (a blinded run's pooled
    arms) is drawn in neutral grey, never in an arm's colour."""
    if len(arms) == 1:
        return {arms[0]: NEUTRAL}
    return {arm: ARM_COLOURS[i % len(ARM_COLOURS)] for i, arm in enumerate(arms)}


def category_colours(values: Iterable[str]) -> dict[str, str]:
    """Sorted distinct values → colours (batches, sample types)."""
    levels = sorted({str(v) for v in values})
    return {v: CATEGORY_COLOURS[i % len(CATEGORY_COLOURS)] for i, v in enumerate(levels)}


def arm_label(arm: str) -> str:
    """How an arm is written in figures: ``usual_care`` → ``usual care``."""
    return label(str(arm).replace("_", " "), 30)


def label(text: object, width: int = 40, lines: int = 1) -> str:
    """A user string made safe and short for a figure: at most ``lines`` lines of ``width`` characters.

    Long names are wrapped at word boundaries (``_`` and ``|`` count as boundaries) and the last
    line is truncated with an ellipsis; the full name stays in the tables. Control characters are
    replaced by spaces. Mathtext is off in :func:`theme`, so ``$`` needs no escaping there; use
    :func:`escape_mathtext` for text drawn outside :func:`theme`.
    """
    s = "" if text is None else str(text)
    s = "".join(" " if (ord(c) < 32 or ord(c) == 127) else c for c in s).strip()
    if len(s) <= width:
        return s
    if lines <= 1:
        return s[: width - 1] + "…"
    wrapped = _wrap(s, width)
    out = wrapped[:lines]
    if len(wrapped) > lines:
        out[-1] = out[-1][: width - 1] + "…"
    return "\n".join(out)


def _wrap(s: str, width: int) -> list[str]:
    """Greedy wrap that may break after spaces, ``_``, ``|``, ``/`` and ``-`` (and inside long words)."""
    tokens = re.findall(r"[^ _|/-]+[ _|/-]*|[ _|/-]+", s)
    lines = [""]
    for token in tokens:
        while len(token) > width:  # a word longer than a line: hard split
            room = width - len(lines[-1])
            if room <= 0:
                lines.append("")
                continue
            lines[-1] += token[:room]
            token = token[room:]
            lines.append("")
        if lines[-1] and len(lines[-1]) + len(token.rstrip()) > width:
            lines.append("")
        lines[-1] += token
    return [line.rstrip() for line in lines if line.strip()]


def escape_mathtext(text: str) -> str:
    """Escape ``$`` so matplotlib draws it literally even with mathtext on."""
    return str(text).replace("$", r"\$")


def format_p(p: float, name: str = "adj. p") -> str:
    """``adj. p = 0.012``, ``adj. p < 0.001`` or ``adj. p = NA`` (``name`` names the p-value)."""
    try:
        p = float(p)
    except (TypeError, ValueError):
        return f"{name} = NA"
    if p != p:
        return f"{name} = NA"
    if p < 0.001:
        return f"{name} < 0.001"
    return f"{name} = {p:.3f}" if p < 0.1 else f"{name} = {p:.2f}"


def ci_label(conf_level: float = 0.95) -> str:
    """``95% CI`` for ``conf_level`` 0.95, ``90% CI`` for 0.9, ``97.5% CI`` for 0.975."""
    return f"{100 * conf_level:.4g}% CI"


def format_number(x: object, digits: int) -> str:
    """``x`` with ``digits`` decimals and a true minus sign; ``NA`` when missing; never ``−0.0``."""
    try:
        x = float(x)
    except (TypeError, ValueError):
        return "NA"
    if not math.isfinite(x):
        return "NA"
    text = f"{x:.{digits}f}"
    return text.lstrip("-") if float(text) == 0 else text.replace("-", "−")


def ci_digits(low: object, high: object) -> int:
    """Decimals that show two significant digits of a CI's half-width (0 to 4; 2 without a CI)."""
    try:
        half = abs(float(high) - float(low)) / 2
    except (TypeError, ValueError):
        return 2
    if not math.isfinite(half) or half == 0:
        return 2
    return min(max(1 - math.floor(math.log10(half)), 0), 4)


def format_estimate(
    estimate: float, low: float, high: float, digits: int | None = None, conf_level: float = 0.95
) -> str:
    """``−0.52 (95% CI −0.80 to −0.24)`` (the level from ``conf_level``; ``digits`` by default from
    the CI's width, :func:`ci_digits`)."""
    d = ci_digits(low, high) if digits is None else digits
    values = (format_number(v, d) for v in (estimate, low, high))
    return "{} ({} {} to {})".format(next(values), ci_label(conf_level), *values)


def adjusted_p_name(method: object) -> str:
    """``adj. p (Holm)``: an adjusted p-value named with its procedure (a ``multiplicity`` value)."""
    key = "" if method is None else str(method).strip()
    if not key or key.lower() == "nan":
        return "adj. p"
    return f"adj. p ({MULTIPLICITY_LABELS.get(key, label(key, 20))})"


def tight_layout(fig, **kwargs) -> None:
    """``fig.tight_layout(**kwargs)`` applied once, leaving no layout engine on the figure.

    ``Figure.tight_layout`` leaves a placeholder engine behind, and ``savefig`` lays out (draws) a
    figure with any engine once more before drawing it: a third of a figure rule's time for three
    formats. The margins it computes are kept as ``subplots_adjust`` values.
    """
    from matplotlib.layout_engine import TightLayoutEngine

    TightLayoutEngine(**kwargs).execute(fig)


def _layout_box(fig):
    """The figure's tight bounding box in inches, padded as ``bbox_inches="tight"`` pads it.

    Computed once and passed to every format's ``savefig`` (each would otherwise lay the figure
    out again to find it).
    """
    box = fig.get_tightbbox(fig.canvas.get_renderer())
    return box.padded(plt.rcParams["savefig.pad_inches"])


def png_dpi(width_inches: float, dpi: int = DPI, max_width: int = MAX_PNG_WIDTH) -> float:
    """``dpi``, lowered so that a figure ``width_inches`` wide is at most ``max_width`` pixels."""
    return min(float(dpi), max_width / width_inches) if width_inches > 0 else float(dpi)


def _savefig(fig, target, fmt: str, box, dpi: int) -> None:
    """``box``: the tight bounding box, or None to save the whole figure as laid out."""
    width = fig.get_figwidth() if box is None else box.width
    resolution = png_dpi(width, dpi) if fmt == "png" else dpi
    fig.savefig(target, format=fmt, dpi=resolution, metadata=_METADATA[fmt], bbox_inches=box, facecolor="white")


def save_figure(fig, stem: str | os.PathLike, formats: Sequence[str] = FORMATS, dpi: int = DPI) -> list[Path]:
    """Write ``fig`` to ``stem.png``, ``stem.pdf`` and ``stem.svg`` deterministically and close it.

    Each file is written atomically (a failed save leaves no partial file). Returns the paths.
    """
    stem = Path(stem)
    if stem.suffix.lower().lstrip(".") in FORMATS:
        stem = stem.with_suffix("")
    paths = []
    logging.getLogger("fontTools").setLevel(logging.WARNING)  # font subsetting chatter in rule logs
    with theme():
        box = _layout_box(fig)
        for fmt in formats:
            path = stem.parent / f"{stem.name}.{fmt}"
            with atomic_path(path) as tmp:
                _savefig(fig, tmp, fmt, box, dpi)
            paths.append(path)
    plt.close(fig)
    return paths


class FigurePages:
    """Many figures as one PNG each (for the report) and one multi-page PDF (for papers).

    A multi-page PDF embeds its fonts once, where one PDF per figure would subset them per
    figure (most of the cost of writing a PDF). Use as a context manager; the PDF appears
    atomically when the block ends without error::

        with FigurePages("forest.pdf") as pages:
            for fig, png in figures:
                pages.save(fig, png)
    """

    def __init__(self, pdf: str | os.PathLike, dpi: int = DPI):
        self.pdf, self.dpi = Path(pdf), dpi
        self._stack = ExitStack()
        self._pages = None

    def __enter__(self) -> FigurePages:
        from matplotlib.backends.backend_pdf import PdfPages

        logging.getLogger("fontTools").setLevel(logging.WARNING)
        with ExitStack() as stack:
            tmp = stack.enter_context(atomic_path(self.pdf))
            self._pages = stack.enter_context(PdfPages(tmp, metadata=_METADATA["pdf"]))
            self._stack = stack.pop_all()
        return self

    def save(self, fig, png: str | os.PathLike) -> Path:
        """Write ``fig`` to ``png`` and as the next page of the PDF (both cut to the tight bounding box,
        found once), and close it."""
        png = Path(png)
        with theme():
            box = _layout_box(fig)
            with atomic_path(png) as tmp:
                _savefig(fig, tmp, "png", box, self.dpi)
            self._pages.savefig(fig, dpi=self.dpi, bbox_inches=box, facecolor="white")
        plt.close(fig)
        return png

    def __exit__(self, *exc) -> bool:
        return self._stack.__exit__(*exc)


def plain_log_ticks(ax, axis: str = "y") -> None:
    """Tick labels of a log or symlog axis as plain numbers (the default ones need mathtext)."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    target = ax.yaxis if axis == "y" else ax.xaxis
    if target.get_scale() == "log":  # 1-2-5 ticks: narrow ranges still get several labels
        target.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    target.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.10g}"))
    target.set_minor_formatter(NullFormatter())


def empty_figure(message: str, title: str = "", size=(6, 2.5)):
    """A figure that says why there is nothing to plot (the rule still has its output)."""
    with theme():
        fig, ax = plt.subplots(figsize=size)
        ax.axis("off")
        if title:
            ax.set_title(label(title, 80))
        ax.text(0.5, 0.5, label(message, 90, lines=4), ha="center", va="center", wrap=True, color=NEUTRAL)
    return fig


def timepoint_count_ticks(
    ax, sub, arms: Sequence[str], pre: str, post: str, colours, *, spacing: float, width: int, arm_fontsize: float
) -> None:
    """Tick labels ``pre / n = 20`` at ``spacing * i`` and ``spacing * i + 1`` for arm ``i`` (timepoint
    names cut to ``width`` characters, 6.5 pt), and ``arm / 19 pairs`` under each arm (``arm_fontsize``),
    counted from ``sub`` (``patient_id, arm, timepoint, value``)."""
    from tme.plots.data import timepoint_counts

    ticks, names = [], []
    for i, arm in enumerate(arms):
        n_pre, n_post, n_pairs = timepoint_counts(sub, arm, pre, post)
        ticks += [spacing * i, spacing * i + 1]
        names += [f"{label(pre, width)}\nn = {n_pre}", f"{label(post, width)}\nn = {n_post}"]
        ax.text(
            spacing * i + 0.5,
            -0.2,
            f"{arm_label(arm)}\n{n_pairs} pairs",
            transform=ax.get_xaxis_transform(),
            ha="center",
            va="top",
            fontsize=arm_fontsize,
            color=colours[arm],
            fontweight="bold",
        )
    ax.set_xticks(ticks, names, fontsize=6.5)
