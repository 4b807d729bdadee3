"""Provenance of a run: resolved config, input checksums, software versions, git revision, seeds.

Written to ``results/provenance.json`` at the end of every run; the report's methods section reads
it. Timestamps live only here, so every other output can be compared byte for byte across runs.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import shlex
import subprocess
import sys
from collections.abc import Mapping
from importlib.metadata import distributions
from pathlib import Path
from typing import Any

import pandas as pd

from tme import __version__


def git_revision(directory: str | Path) -> dict[str, Any]:
    """Commit and dirty flag of the repository holding ``directory`` (``unknown`` outside git)."""

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-C", str(directory), *args], capture_output=True, text=True, check=True, timeout=10
        ).stdout.strip()

    try:
        return {"commit": git("rev-parse", "HEAD"), "dirty": bool(git("status", "--porcelain", "--untracked-files=no"))}
    except (OSError, subprocess.SubprocessError):
        return {"commit": "unknown", "dirty": None}


#: Environment variable through which jobs learn the command line that started the run.
COMMAND_VARIABLE = "TME_SNAKEMAKE_COMMAND"
#: Environment variable naming tme's source tree, from which envs/tme.post-deploy.sh installs tme into
#: a conda environment (``--sdm conda``).
SOURCE_VARIABLE = "TME_SOURCE"


def remember_run(argv: list[str], workflow_dir: str | Path) -> None:
    """Record, for the run's jobs (they inherit the environment), the Snakemake command line — so that
    provenance can show it without it being a rule param, which would rerun jobs when it changes — and
    tme's source tree (the directory above ``workflow/`` when it holds ``pyproject.toml``)."""
    os.environ[COMMAND_VARIABLE] = shlex.join(argv)
    source = Path(str(workflow_dir)).parent
    if (source / "pyproject.toml").exists():
        os.environ[SOURCE_VARIABLE] = str(source.resolve())


def command_line() -> str:
    """The command line recorded by :func:`remember_command` (``unknown`` outside a workflow run)."""
    return os.environ.get(COMMAND_VARIABLE, "unknown")


def package_versions() -> dict[str, str]:
    """Every installed distribution and its version, sorted by name."""
    return dict(sorted((d.metadata["Name"].lower(), d.version) for d in distributions() if d.metadata["Name"]))


def provenance(
    config: Mapping[str, Any],
    input_files: pd.DataFrame,
    workflow_dir: str | Path,
    started: dt.datetime,
    outputs: list[str],
    command: str,
) -> dict[str, Any]:
    """The provenance record of a finished run (``command``: the Snakemake command line)."""
    return {
        "tme_version": __version__,
        "started": started.isoformat(timespec="seconds"),
        "finished": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "command": command,
        "git": git_revision(workflow_dir),
        "platform": {"python": sys.version.split()[0], "system": platform.platform(), "machine": platform.machine()},
        "seeds": {"seed": config.get("seed")},
        "analysis_plan": plan_record(config),
        "config": config,
        "inputs": input_files.to_dict(orient="records"),
        "outputs": sorted(outputs),
        "packages": package_versions(),
    }


def plan_record(config: Mapping[str, Any]) -> dict[str, Any]:
    """The analysis plan's hash, its frozen copy (if any) and an override reason, for the record."""
    from tme.plan.freeze import plan_hash

    section = config.get("analysis_plan") or {}
    frozen = Path(section.get("frozen_plan") or "plan/analysis_plan.json")
    return {
        "sha256": plan_hash(config),
        "frozen_plan": str(frozen) if frozen.exists() else None,
        "override_frozen": section.get("override_frozen"),
    }


def write_provenance(record: Mapping[str, Any], path: str | Path) -> None:
    """Write the record as indented JSON."""
    Path(path).write_text(json.dumps(record, indent=2, sort_keys=False, default=str) + "\n")
