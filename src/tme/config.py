"""The run configuration: validated against ``config.schema.yaml``, defaults filled, paths checked."""

from __future__ import annotations

import errno
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tme.configfile import check_config_data, read_yaml_config
from tme.errors import TmeInputError
from tme.expression import expression_paths
from tme.schema import validate

#: The one "arm" of a blinded analysis: every patient, arms pooled.
POOLED = "pooled"


@dataclass(frozen=True)
class Design:
    """Arms and timepoints of a paired window trial, as labelled in the sample sheet.

    ``reference_arm=None`` is a single-arm window study (within-arm analyses only). With ``blinded``
    the arm labels are never read: :attr:`arms` is the single pooled group.
    """

    reference_arm: str | None = "usual_care"
    treatment_arm: str = "anakinra"
    pre: str = "pre"
    post: str = "post"
    blinded: bool = False

    def __post_init__(self) -> None:
        if self.reference_arm == self.treatment_arm:
            raise TmeInputError(
                f"reference and treatment arm are both '{self.reference_arm}'",
                column="arm",
                fix="name two different arms in the design",
            )
        if self.pre == self.post:
            raise TmeInputError(
                f"pre and post timepoints are both '{self.pre}'",
                column="timepoint",
                fix="name two different timepoints in the design",
            )

    @property
    def single_arm(self) -> bool:
        """A single-arm study: no reference arm, so nothing is compared between arms."""
        return self.reference_arm is None and not self.blinded

    @property
    def arms(self) -> tuple[str, ...]:
        if self.blinded:
            return (POOLED,)
        return (self.treatment_arm,) if self.reference_arm is None else (self.reference_arm, self.treatment_arm)

    @property
    def timepoints(self) -> tuple[str, str]:
        return (self.pre, self.post)

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Design:
        d = config.get("design", {})
        return cls(
            d.get("reference_arm", cls.reference_arm),
            d.get("treatment_arm", cls.treatment_arm),
            d.get("pre", cls.pre),
            d.get("post", cls.post),
            bool(config.get("blinded", False)),
        )


def pooled_design(design: Design) -> Design:
    """A two-arm design whose reference arm is the pooled group and whose other arm is empty.

    Lets the within-arm machinery compute the pooled pre → post change of a blinded run.
    """
    return Design(reference_arm=POOLED, treatment_arm=f"not-{POOLED}", pre=design.pre, post=design.post)


def single_cell_paths(config: Mapping[str, Any]) -> list[str]:
    """The .h5ad files of the config's single_cell section, as a list."""
    paths = config["single_cell"]["path"]
    return [paths] if isinstance(paths, str) else list(paths)


#: Characters refused in paths: markup (<, >, quotes, backtick, &), Snakemake wildcards ({, }),
#: backslashes and control characters. Paths reach rule inputs, which Snakemake's HTML report
#: embeds unescaped in a <script> block, and braces would be read as wildcards.
UNSAFE_PATH = re.compile(r"[<>\"'`&{}\\\x00-\x1f\x7f]")


def check_path_characters(key: str, value: str, file: str | None = None) -> None:
    """Refuse a path with a character of :data:`UNSAFE_PATH`, naming the key and the character."""
    bad = UNSAFE_PATH.search(str(value))
    if bad:
        raise TmeInputError(
            f"config key '{key}' names a path with the character {bad.group()!r}, which tme refuses "
            "(it could act as markup in the HTML report or as a Snakemake wildcard)",
            file=file,
            fix="rename the file or folder without < > \" ' ` & { } \\ or control characters",
        )


def _input_paths(config: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(config key, path) of every input file the config names."""
    out = [("samples", config["samples"])]
    rlf = ((config.get("expression") or {}).get("nanostring") or {}).get("rlf")
    out += [
        ("expression.nanostring.rlf" if p == rlf else "expression.path", p)
        for p in expression_paths(config.get("expression"))
    ]
    if config.get("immune"):
        out.append(("immune.path", config["immune"]["path"]))
    if config.get("single_cell"):
        out += [(f"single_cell.path[{i}]", p) for i, p in enumerate(single_cell_paths(config))]
    cells = config.get("cells") or {}
    out += [(f"cells.{key}", cells[key]) for key in ("manifest", "regions") if cells.get(key)]
    out += [(f"scoring.gene_sets[{i}]", p) for i, p in enumerate(config.get("scoring", {}).get("gene_sets", []))]
    patients = (config.get("analysis_plan") or {}).get("patients")
    if patients:
        out.append(("analysis_plan.patients.path", patients["path"]))
    return out


def _check_cells(config: Mapping[str, Any], file: str | None, base_dir: str | os.PathLike) -> None:
    """The ``cells`` section's checks that need no data: one source of exports, no pseudonymisation
    (export file names and job names carry the sample IDs), a directory that exists, and the phenotype
    map and metric names (:class:`tme.cells.CellSettings`)."""
    from tme.cells import CellSettings

    cells = config["cells"]
    if bool(cells.get("manifest")) == bool(cells.get("directory")):
        raise TmeInputError(
            f"config key 'cells' names {'both' if cells.get('manifest') else 'neither'} of cells.manifest and "
            "cells.directory; exactly one says where the exports are",
            file=file,
            fix="list the exports in a manifest (sample_id, file) or name the directory that holds "
            "<sample_id>.csv files",
        )
    if config.get("pseudonymise_ids"):
        raise TmeInputError(
            "config key 'pseudonymise_ids' is true, but pseudonymisation does not yet cover cell exports (the "
            "per-biopsy jobs and their files are named by sample_id)",
            file=file,
            fix="pseudonymise the sample IDs of the sheet, manifest and exports upstream, or run without "
            "pseudonymise_ids",
        )
    if cells.get("directory"):
        check_path_characters("cells.directory", cells["directory"], file)
        if not Path(base_dir, cells["directory"]).is_dir():
            raise TmeInputError(
                f"config key 'cells.directory' names no directory: {cells['directory']}",
                file=file,
                fix="correct the path (relative paths start at the directory Snakemake runs in)",
            )
    try:
        settings = CellSettings.from_config(cells)
        settings.plan.check(settings.phenotypes.types)
    except TmeInputError as error:  # the error names the config key; the file is the config
        error.file = error.file or file
        raise


def validate_config(
    config: Mapping[str, Any], *, file: str | os.PathLike | None = None, base_dir: str | os.PathLike = "."
) -> dict:
    """Validate a config dict, fill defaults, check that its input files exist.

    Raises :class:`TmeInputError` naming the config file, the key and the fix.
    """
    file = None if file is None else str(file)
    if not isinstance(config, Mapping) or not config:
        raise TmeInputError("the config is empty", file=file, fix="start from config/config.yaml")
    check_config_data(config, file)
    if "samples" not in config:
        raise TmeInputError(
            "config key 'samples' is missing", file=file, fix="set samples: <path to the sample sheet TSV>"
        )
    config = validate(dict(config), "config", file=file)
    d = config["design"]
    if d["reference_arm"] == d["treatment_arm"]:
        raise TmeInputError(
            "config keys 'design.reference_arm' and 'design.treatment_arm' name the same arm",
            file=file,
            fix="name the control arm and the experimental arm differently",
        )
    if d["pre"] == d["post"]:
        raise TmeInputError(
            "config keys 'design.pre' and 'design.post' name the same timepoint",
            file=file,
            fix="name the baseline and post-window timepoints differently",
        )
    if not any(config.get(k) for k in ("expression", "immune", "single_cell", "cells")):
        raise TmeInputError(
            "the config names no data: none of the config keys 'expression', 'immune', 'single_cell', 'cells' is set",
            file=file,
            fix="add at least one of these sections",
        )
    if config.get("single_cell") and config.get("pseudonymise_ids"):
        raise TmeInputError(
            "pseudonymise_ids does not yet cover single-cell files (their obs holds the original IDs)",
            file=file,
            fix="pseudonymise the sample_id of the .h5ad files upstream, or run without pseudonymise_ids",
        )
    if config.get("cells"):
        _check_cells(config, file, base_dir)
    for key in ("key_file", "mapping_file"):
        value = config["pseudonymisation"].get(key)
        if value and Path(base_dir, value).resolve().is_relative_to(Path(base_dir, "results").resolve()):
            raise TmeInputError(
                f"config key 'pseudonymisation.{key}' points inside results/ ({value})",
                file=file,
                fix="keep the key and the ID mapping outside results/, which is shared with the report",
            )
    for key in ("key_file", "mapping_file"):
        if config["pseudonymisation"].get(key):
            check_path_characters(f"pseudonymisation.{key}", config["pseudonymisation"][key], file)
    from tme.plan import AnalysisPlan  # the plan's own checks that need no data

    AnalysisPlan.from_config(config, file)
    from tme.planning.settings import PlanningSettings  # the planning section's checks that need no data

    PlanningSettings.from_config(config, file)
    for key in ("frozen_plan",):
        check_path_characters(f"analysis_plan.{key}", config["analysis_plan"][key], file)
    for key, value in _input_paths(config):
        check_path_characters(key, value, file)
        path = Path(base_dir, value)
        try:
            if path.is_dir():
                raise TmeInputError(
                    f"config key '{key}' names a directory, not a file: {value}",
                    file=file,
                    fix="point the key at the file itself"
                    + (
                        " (a folder of .RCC files needs expression.format: nanostring_rcc)"
                        if key == "expression.path"
                        else ""
                    ),
                )
            path.stat()
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                problem, fix = "is a symbolic link loop", "replace the link with the real file or a link to it"
            else:
                problem = "does not exist" + (" (a broken symbolic link)" if path.is_symlink() else "")
                fix = "correct the path (relative paths start at the directory Snakemake runs in)"
            raise TmeInputError(
                f"config key '{key}' names a path that {problem}: {value}", file=file, fix=fix
            ) from None
    return config


def load_config(path: str | os.PathLike) -> dict:
    """Read a YAML config file strictly (:func:`tme.configfile.read_yaml_config`) and validate it."""
    return validate_config(read_yaml_config(path), file=path)
