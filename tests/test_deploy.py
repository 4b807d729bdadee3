"""Catalog deployment: `snakedeploy deploy-workflow` of this repository into a fresh directory, then
the workflow run there as a Snakemake module on the .test config, report included.

snakedeploy's local-path provider writes the module's snakefile relative to the source root
(``"workflow/Snakefile"``), which only resolves from inside the source; a deployment from GitHub
writes ``github("<owner>/tme", path="workflow/Snakefile", tag=...)`` instead. The test points the
module at the deployed source copy by its absolute path — the one line a GitHub deployment differs in.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conftest import REPO, SNAKEMAKE

pytestmark = pytest.mark.workflow


def tracked_copy(dest: Path) -> Path:
    """The repository's files as a clone would have them (tracked and unignored ones, as in the work tree)."""
    files = (
        subprocess.run(
            ["git", "-C", str(REPO), "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
            capture_output=True,
            check=True,
        )
        .stdout.decode()
        .split("\0")
    )
    for name in filter(None, files):
        source = REPO / name
        if source.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / name)
    return dest


@pytest.fixture(scope="module")
def deployed(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("deploy")
    source = tracked_copy(root / "tme")
    dest = root / "analysis"
    snakedeploy = Path(sys.executable).with_name("snakedeploy")
    if not snakedeploy.exists():  # snakedeploy 0.17 supports Python < 3.13
        pytest.skip(f"snakedeploy is not installed for Python {sys.version.split()[0]}")
    done = subprocess.run(
        [snakedeploy, "deploy-workflow", str(source), str(dest), "--branch", "main"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    snakefile = dest / "workflow" / "Snakefile"
    text = snakefile.read_text()
    assert '"workflow/Snakefile"' in text and "use rule * from" in text, text
    snakefile.write_text(text.replace('"workflow/Snakefile"', f'"{source}/workflow/Snakefile"'))
    assert (dest / "LICENSE").exists() and (dest / "config" / "README.md").exists()
    config = yaml.safe_load((source / ".test" / "config" / "config.yaml").read_text())
    for section, key in (("samples", None), ("expression", "path"), ("immune", "path")):
        holder = config if key is None else config[section]
        field = section if key is None else key
        holder[field] = str(source / ".test" / holder[field])
    (dest / "config" / "config.yaml").write_text(yaml.safe_dump(config))
    for args in ((), ("--report", "results/report.html")):
        done = subprocess.run(
            [str(SNAKEMAKE), "--cores", "2", "--quiet", "rules", *args],
            cwd=dest,
            capture_output=True,
            text=True,
            timeout=900,
        )
        assert done.returncode == 0, done.stderr[-4000:]
    return dest


def test_module_run_writes_results_and_report(deployed):
    results = deployed / "results"
    for name in ("tables/effects_between_arms.tsv", "tables/de_interaction.tsv", "provenance.json", "report.html"):
        assert (results / name).stat().st_size > 0, name


def test_methods_page_keeps_its_provenance_as_a_module(deployed):
    methods = (deployed / "results" / "report" / "methods.html").read_text()
    record = json.loads((deployed / "results" / "provenance.json").read_text())
    assert record["started"] in methods and "<h2>Run</h2>" in methods
