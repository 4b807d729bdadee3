"""Run the bad-input catalogue (tests/bad_inputs/cases.py) three ways.

* ``tme validate`` on every case: exit ≠ 0 with one line naming the file (and line, column or
  config key) and the fix, at most 2,000 characters — or, for a usable case, exit 0 and the
  documented warning — and no file written anywhere (neither the pseudonymisation key nor the ID map).
* The checks the workflow runs (Snakemake's own config reader, then :func:`tme.workflow.check_workflow_config`
  as ``common.smk`` calls it, then :func:`tme.inputs.check_inputs` as the first rule calls it) give the
  same message as ``tme validate`` on every case that Snakemake does not reject itself first.
* Real Snakemake runs on at least one case per kind of input: non-zero exit, tme's message, no
  traceback, nothing under ``results/`` and no key or ID map.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
import yaml

from tme.cli import main as tme_main
from tme.errors import MAX_MESSAGE, TmeInputError, TmeInputWarning

from cases import CASES, tiny_cohort
from conftest import run_workflow

pytestmark = pytest.mark.workflow


def test_catalogue_has_at_least_100_bad_inputs():
    assert sum(not case.usable for case in CASES.values()) >= 100


def _broken(tmp_path: Path, name: str) -> tuple[Path, dict]:
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


def _files(root: Path) -> dict[str, tuple[int, int]]:
    return {
        str(p): (p.stat().st_size, p.stat().st_mtime_ns) for p in root.rglob("*") if not p.is_symlink() and p.is_file()
    }


def _check_message(message: str, name: str, config_path: Path, inputs: Path) -> None:
    case = CASES[name]
    assert message.count("\n") == 0 and "Fix:" in message, message
    assert len(message) <= MAX_MESSAGE + len("tme: error: "), len(message)
    for fragment in case.fragments:
        assert fragment in message, (fragment, message[:3000])
    named = [p.name for p in inputs.rglob("*")] + [config_path.name, "config"]
    assert any(n in message for n in named), f"no file named: {message}"
    if not case.whole_file:
        assert any(k in message for k in ("line ", "column '", "key '", "config key")), f"no location: {message}"


@pytest.mark.parametrize("name", list(CASES))
def test_validate(tmp_path, capsys, name):
    case = CASES[name]
    config_path, _ = _broken(tmp_path, name)
    before = _files(tmp_path)
    code = tme_main(["validate", "--config", str(config_path)])
    err = capsys.readouterr().err.strip()
    assert _files(tmp_path) == before, "tme validate wrote or changed a file"  # neither key nor ID map
    if case.usable:
        assert code == 0, err
        if case.warns:
            assert case.warns in err and err.startswith("tme: warning: "), err
        return
    assert code != 0
    _check_message(err, name, config_path, tmp_path / "inputs")


def _workflow_says(config_path: Path) -> tuple[str | None, set[str]]:
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


@pytest.mark.parametrize("name", [n for n, c in CASES.items() if not c.snakemake_reads_first])
def test_workflow_checks_agree_with_validate(tmp_path, capsys, name):
    config_path, _ = _broken(tmp_path, name)
    code = tme_main(["validate", "--config", str(config_path)])
    lines = capsys.readouterr().err.strip().splitlines()
    error, warned = _workflow_says(config_path)
    assert {line.removeprefix("tme: warning: ") for line in lines if line.startswith("tme: warning: ")} == warned
    if code == 0:
        assert error is None, error
    else:
        assert lines[-1] == f"tme: error: {error}"


# One case per kind of input (and every earlier class of leftover files) through real Snakemake.
SNAKEMAKE = [
    "sheet: duplicate sample_id",
    "sheet: symlink loop",
    "sheet: BOM and CRLF (usable)",
    "config: unknown key",
    "yaml: duplicated top-level key",
    "yaml: alias bomb",
    "label: arm label with RST raw directive",
    "path: gene-set path with </script>",
    "sheet: covariate is not a column",
    "sheet: nan in a numeric column",
    "sheet: 5 MB cell",
    "counts: non-integer (TPM declared as counts)",
    "counts: truncated gzip",
    "counts: no identifier maps to a gene",
    "counts: every post of an arm below the library size",
    "nfcore: negative TPM",
    "normalised: text cell",
    "normalised: counts declared as log2",
    "immune: two units",
    "immune: logit on a density",
    "gmt: line with no genes",
    "gmt: truncated .gmt.gz",
    "tsv gene set: non-numeric weight",
    "planning: too few pairs to estimate the correlation",
    "rcc: file cut mid-section",
    "rcc: mixed panels in one folder",
    "immune: intensity 2++",
    "plan: endpoint below the coverage rule",
]


@pytest.mark.parametrize("name", SNAKEMAKE)
def test_workflow_stops_without_output(tmp_path, name):
    case = CASES[name]
    config_path, _ = _broken(tmp_path, name)
    workdir = tmp_path / "run"
    args = ("--until", "sample_flow") if case.usable else ()
    proc = run_workflow(workdir, None, *args, configfile=config_path)
    text = proc.stdout + proc.stderr
    if case.usable:
        assert proc.returncode == 0, text[-3000:]
        assert (workdir / "results" / "tables" / "sample_flow.tsv").exists()
        return
    assert proc.returncode != 0, text[-2000:]
    assert "Fix:" in text and "Traceback" not in text, text[-3000:]
    for fragment in case.fragments:
        assert fragment in text, (fragment, text[-3000:])
    leftovers = [p for p in (workdir / "results").rglob("*") if p.is_file()] if (workdir / "results").exists() else []
    assert leftovers == []
    assert not (tmp_path / "secure" / "ids.tsv").exists() and not (tmp_path / "secure" / "key").exists()
