"""Run the bad-input catalogue (tests/bad_inputs/cases.py) three ways (three modules, so that
pytest-xdist spreads them over workers; helpers in checks.py).

* here, ``tme validate`` on every case: exit ≠ 0 with one line naming the file (and line, column or
  config key) and the fix, at most 2,000 characters — or, for a usable case, exit 0 and the
  documented warning — and no file written anywhere (neither the pseudonymisation key nor the ID map).
* test_catalogue_workflow.py: the checks the workflow runs (Snakemake's own config reader, then
  :func:`tme.workflow.check_workflow_config` as ``common.smk`` calls it, then
  :func:`tme.inputs.check_inputs` as the first rule calls it) give the same message as
  ``tme validate`` on every case that Snakemake does not reject itself first.
* test_catalogue_snakemake.py: real Snakemake runs on one case per kind of input: non-zero exit,
  tme's message, no traceback, nothing under ``results/`` and no key or ID map.
"""

from __future__ import annotations

import pytest
from checks import broken, check_message, files

from tme.cli import main as tme_main

from cases import CASES

pytestmark = pytest.mark.workflow


def test_catalogue_has_at_least_100_bad_inputs():
    assert sum(not case.usable for case in CASES.values()) >= 100


@pytest.mark.parametrize("name", list(CASES))
def test_validate(tmp_path, capsys, name):
    case = CASES[name]
    config_path, _ = broken(tmp_path, name)
    before = files(tmp_path)
    code = tme_main(["validate", "--config", str(config_path)])
    err = capsys.readouterr().err.strip()
    assert files(tmp_path) == before, "tme validate wrote or changed a file"  # neither key nor ID map
    if case.usable:
        assert code == 0, err
        if case.warns:
            assert case.warns in err and err.startswith("tme: warning: "), err
        return
    assert code != 0
    check_message(err, name, config_path, tmp_path / "inputs")
