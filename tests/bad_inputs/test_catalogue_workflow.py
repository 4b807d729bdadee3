"""The workflow's own checks agree with ``tme validate`` on every catalogue case (see test_catalogue.py)."""

from __future__ import annotations

import pytest
from checks import broken, workflow_says

from tme.cli import main as tme_main

from cases import CASES

pytestmark = pytest.mark.workflow


@pytest.mark.parametrize("name", [n for n, c in CASES.items() if not c.snakemake_reads_first])
def test_workflow_checks_agree_with_validate(tmp_path, capsys, name):
    config_path, _ = broken(tmp_path, name)
    code = tme_main(["validate", "--config", str(config_path)])
    lines = capsys.readouterr().err.strip().splitlines()
    error, warned = workflow_says(config_path)
    assert {line.removeprefix("tme: warning: ") for line in lines if line.startswith("tme: warning: ")} == warned
    if code == 0:
        assert error is None, error
    else:
        assert lines[-1] == f"tme: error: {error}"
