"""What the README documents runs: every Python block as written, from the repository root."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from conftest import REPO

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
