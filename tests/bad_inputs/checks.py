"""Helpers of the bad-input catalogue's tests: a broken copy of the tiny cohort, the files under a
directory, the message checks and what the workflow's own checks say."""

from __future__ import annotations

import warnings
from pathlib import Path

import yaml

from tme.errors import MAX_MESSAGE, TmeInputError, TmeInputWarning

from cases import CASES, tiny_cohort


def broken(tmp_path: Path, name: str) -> tuple[Path, dict]:
    """The tiny cohort with case ``name`` applied; returns the config file and the config."""
    root = tmp_path / "inputs"
    root.mkdir()
    config = tiny_cohort(root)
    case = CASES[name]
    case.break_it(root, config)
    path = tmp_path / "config.yaml"
    path.write_text(
        case.config_text(config) if case.config_text else yaml.safe_dump(config),
        encoding="utf-8",
        errors="surrogateescape",
    )
    return path, config


def files(root: Path) -> dict[str, tuple[int, int]]:
    return {
        str(p): (p.stat().st_size, p.stat().st_mtime_ns) for p in root.rglob("*") if not p.is_symlink() and p.is_file()
    }


def check_message(message: str, name: str, config_path: Path, inputs: Path) -> None:
    case = CASES[name]
    assert message.count("\n") == 0 and "Fix:" in message, message
    assert len(message) <= MAX_MESSAGE + len("tme: error: "), len(message)
    for fragment in case.fragments:
        assert fragment in message, (fragment, message[:3000])
    named = [p.name for p in inputs.rglob("*")] + [config_path.name, "config"]
    assert any(n in message for n in named), f"no file named: {message}"
    if not case.whole_file:
        assert any(k in message for k in ("line ", "column '", "key '", "config key")), f"no location: {message}"


def workflow_says(config_path: Path) -> tuple[str | None, set[str]]:
    """What the workflow says (error, warnings): Snakemake's config reader, then common.smk's checks,
    then the first rule's."""
    from snakemake.common.configfile import load_configfile

    from tme.inputs import check_inputs
    from tme.workflow import check_workflow_config

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", TmeInputWarning)
        try:
            config, _, _ = check_workflow_config(load_configfile(str(config_path)), [str(config_path)])
            check_inputs(config)
            error = None
        except TmeInputError as exc:
            error = str(exc)
    return error, {str(w.message) for w in caught if issubclass(w.category, TmeInputWarning)}
