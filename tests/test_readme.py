"""What the README documents runs: every Python block as written, from the repository root, and the
"your own trial" commands on a trial of plain integer counts (the ``counts`` format), to a report, and the
``tme power`` commands on a finished run."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from tme.planning import TABLE_COLUMNS

from conftest import REPO, cohort_config

PYTHON_BLOCKS = re.findall(r"```python\n(.*?)```", (REPO / "README.md").read_text(), re.S)


def test_the_readme_has_python_examples():
    assert PYTHON_BLOCKS


@pytest.mark.parametrize("block", range(len(PYTHON_BLOCKS)))
def test_python_block_runs(block):
    done = subprocess.run(
        [sys.executable, "-c", PYTHON_BLOCKS[block]], cwd=REPO, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Traceback" not in done.stderr


def readme_block(marker: str) -> list[list[str]]:
    """The command lines of the README's fenced block after ``<!-- marker``, comments dropped."""
    text = (REPO / "README.md").read_text()
    block = text[text.index(f"<!-- {marker}") :].split("```bash\n", 1)[1].split("```", 1)[0]
    return [shlex.split(line.split("  #")[0]) for line in block.splitlines() if line.strip()]


@pytest.mark.workflow
def test_own_trial_commands_end_in_a_report(tmp_path):
    """A trial with its own files (integer counts, immune table) in a copy of the repository layout."""
    for name in ("Snakefile", "workflow", "config"):
        (tmp_path / name).symlink_to(REPO / name)
    data = REPO / ".test" / "data"
    salmon = pd.read_csv(data / "salmon.merged.gene_counts.tsv.gz", sep="\t")
    salmon.drop(columns="gene_id").set_index("gene_name").round().astype(int).to_csv(tmp_path / "counts.tsv", sep="\t")
    config = {
        "samples": str(data / "samples.tsv"),
        "expression": {"path": "counts.tsv", "format": "counts"},
        "immune": {"path": str(data / "immune.tsv")},
        "scoring": {"collections": ["tme_il1", "danaher2017"]},
        "statistics": {"n_bootstrap": 100, "gsea_permutations": 100},
    }
    (tmp_path / "my.yaml").write_text(yaml.safe_dump(config))
    commands = readme_block("own-trial-commands")
    assert [c[:2] for c in commands] == [[".venv/bin/tme", "validate"], [".venv/bin/tme", "run"]], commands
    _run_readme_commands(commands, tmp_path)
    assert (tmp_path / "results" / "report.html").stat().st_size > 100_000
    assert (tmp_path / "results" / "tables" / "de_interaction.tsv").exists()  # counts: gene level too


def _run_readme_commands(commands: list[list[str]], cwd: Path) -> None:
    for command in commands:
        program = str(Path(sys.executable).with_name(command[0].removeprefix(".venv/bin/")))
        done = subprocess.run([program, *command[1:]], cwd=cwd, capture_output=True, text=True, timeout=1200)
        assert done.returncode == 0, (command, done.stderr[-3000:])


@pytest.mark.workflow
def test_power_commands_plan_from_a_finished_run(small_run, small_cohort, tmp_path):
    """The shared small run's results (copied) and its config with a plan and a planning section."""
    shutil.copytree(small_run / "results", tmp_path / "results")
    plan = {"endpoints": [{"name": "il1", "feature": "TME_IL1_INDUCED|singscore", "role": "primary"},
                          {"name": "tam", "feature": "CD68", "role": "primary"}]}  # fmt: skip
    planning = {"targets": {"il1": {"effect": -0.1}, "tam": {"effect": 0.67, "scale": "ln"}},
                "n_trials": 200, "n_bootstrap": 200}  # fmt: skip
    (tmp_path / "my.yaml").write_text(
        yaml.safe_dump(cohort_config(small_cohort, analysis_plan=plan, planning=planning))
    )
    commands = readme_block("power-commands")
    assert [c[:2] for c in commands] == [[".venv/bin/tme", "validate"], [".venv/bin/tme", "power"]], commands
    _run_readme_commands(commands, tmp_path)
    table = pd.read_csv(tmp_path / "results" / "tables" / "planning.tsv", sep="\t")
    assert list(table.columns) == TABLE_COLUMNS and list(table["endpoint"]) == ["il1", "tam"]
    assert (table["n_per_arm"] >= table["n_pairs_per_arm"]).all() and table["power_simulated"].between(0, 1).all()
    assert (tmp_path / "results" / "figures" / "planning" / "power_curves.png").stat().st_size > 10_000
