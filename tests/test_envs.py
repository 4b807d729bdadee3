"""Conda environment files (envs/*.yaml) agree with pyproject.toml.

Conda channels cannot be reached from CI, so the environments are not solved here; instead
these tests check what can go wrong without a solver: a pin outside the range pyproject.toml
allows, a dependency missing from the environment, an unpinned or badly channelled package,
and a rule's ``conda:`` directive naming a file that does not exist.
"""

from __future__ import annotations

import os
import re
import tomllib
import warnings
from importlib import metadata
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
ENV_DIR = ROOT / "envs"
MAIN_ENV = ENV_DIR / "tme.yaml"

# PyPI name -> conda package name, where they differ.
CONDA_NAME = {"matplotlib": "matplotlib-base"}
ALLOWED_CHANNELS = {"conda-forge", "bioconda", "nodefaults"}
# conda match spec: name, then an optional version constraint ("==1.2.3", "=1.2", ">=1,<2")
SPEC = re.compile(r"^(?:(?P<channel>[\w.-]+)::)?(?P<name>[A-Za-z0-9_.-]+)\s*(?P<constraint>[=<>!~].*)?$")


def env_files() -> list[Path]:
    return sorted(ENV_DIR.glob("*.yaml")) + sorted(ENV_DIR.glob("*.yml"))


def load_env(path: Path) -> dict:
    with path.open() as fh:
        env = yaml.safe_load(fh)
    assert isinstance(env, dict), f"{path}: not a YAML mapping"
    return env


def conda_pins(env: dict) -> dict[str, str | None]:
    """Conda dependencies as {canonical name: constraint or None}; the pip sub-list is skipped."""
    pins = {}
    for dep in env.get("dependencies", []):
        if isinstance(dep, dict):  # {"pip": [...]}
            continue
        match = SPEC.match(str(dep).strip())
        assert match, f"cannot parse conda dependency {dep!r}"
        pins[canonicalize_name(match["name"])] = (match["constraint"] or "").strip() or None
    return pins


def exact_version(constraint: str | None) -> str | None:
    """'==1.2.3' or '=1.2.3' (conda's exact form) -> '1.2.3'; anything else -> None."""
    if constraint and (m := re.fullmatch(r"==?\s*([0-9][0-9A-Za-z.+!-]*)", constraint)):
        return m[1]
    return None


def pyproject() -> dict:
    with (ROOT / "pyproject.toml").open("rb") as fh:
        return tomllib.load(fh)


def runtime_requirements() -> list[Requirement]:
    return [Requirement(r) for r in pyproject()["project"]["dependencies"]]


def conda_name(req: Requirement) -> str:
    return canonicalize_name(CONDA_NAME.get(canonicalize_name(req.name), req.name))


def test_env_files_exist():
    assert MAIN_ENV.is_file(), "envs/tme.yaml (the workflow's conda environment) is missing"


@pytest.mark.parametrize("path", env_files(), ids=lambda p: p.name)
def test_env_file_well_formed(path):
    env = load_env(path)
    assert env.get("name"), f"{path.name}: give the environment a name"
    channels = env.get("channels") or []
    assert channels, f"{path.name}: list its channels (conda-forge, bioconda)"
    assert set(channels) <= ALLOWED_CHANNELS, (
        f"{path.name}: channels {channels} - use only conda-forge and bioconda (no 'defaults')"
    )
    if "bioconda" in channels and "conda-forge" in channels:
        assert channels.index("conda-forge") < channels.index("bioconda"), (
            f"{path.name}: conda-forge must come before bioconda (Bioconda's channel order)"
        )
    assert "defaults" not in channels


@pytest.mark.parametrize("path", env_files(), ids=lambda p: p.name)
def test_every_conda_dependency_pinned(path):
    unpinned = [name for name, c in conda_pins(load_env(path)).items() if c is None and name not in {"pip"}]
    assert not unpinned, f"{path.name}: pin these to an exact version: {unpinned}"


def test_python_pin_satisfies_requires_python():
    pins = conda_pins(load_env(MAIN_ENV))
    assert "python" in pins, "envs/tme.yaml: pin python"
    lowest = re.match(r"^[=>~]*\s*([0-9.]+)", pins["python"])[1]
    requires = SpecifierSet(pyproject()["project"]["requires-python"])
    assert Version(lowest) in requires or Version(lowest + ".0") in requires, (
        f"envs/tme.yaml allows python {pins['python']}, pyproject.toml requires {requires}"
    )


def test_conda_environment_installs_tme_from_the_workflow_source():
    """Jobs under ``--sdm conda`` import tme: Snakemake runs envs/tme.post-deploy.sh in the new
    environment, which installs tme from TME_SOURCE, which the workflow exports."""
    script = ENV_DIR / "tme.post-deploy.sh"
    assert script.is_file() and script.stat().st_mode & 0o111, "envs/tme.post-deploy.sh missing or not executable"
    assert re.search(r"pip install --no-deps .*TME_SOURCE", script.read_text())
    assert "setuptools" in conda_pins(load_env(MAIN_ENV))
    from tme.provenance import SOURCE_VARIABLE, remember_run

    remember_run(["snakemake"], ROOT / "workflow")
    assert SOURCE_VARIABLE == "TME_SOURCE" and os.environ["TME_SOURCE"] == str(ROOT.resolve())
    assert "remember_run(sys.argv, workflow.basedir)" in (ROOT / "workflow/rules/common.smk").read_text()


def test_every_runtime_dependency_in_env():
    pins = conda_pins(load_env(MAIN_ENV))
    missing = [str(r) for r in runtime_requirements() if conda_name(r) not in pins]
    assert not missing, f"pyproject.toml dependencies missing from envs/tme.yaml: {missing}"


@pytest.mark.parametrize("req", runtime_requirements(), ids=lambda r: r.name)
def test_env_pin_within_pyproject_range(req):
    pins = conda_pins(load_env(MAIN_ENV))
    constraint = pins.get(conda_name(req))
    if constraint is None:
        pytest.fail(f"{req.name} is not pinned in envs/tme.yaml")
    version = exact_version(constraint)
    assert version, f"envs/tme.yaml: pin {conda_name(req)} exactly (==X.Y.Z), not {constraint!r}"
    assert req.specifier.contains(version, prereleases=True), (
        f"envs/tme.yaml pins {conda_name(req)}=={version} but pyproject.toml allows {req.specifier}: change one of them"
    )


def test_env_pins_match_installed_versions():
    """The pins describe the tested virtualenv.  Drift (a newer PyPI release installed in a fresh
    venv) is reported as a warning, not a failure: it is expected over time and harmless as long
    as both stay inside pyproject.toml's ranges, which the test above enforces."""
    pins = conda_pins(load_env(MAIN_ENV))
    by_conda = {canonicalize_name(v): k for k, v in CONDA_NAME.items()}
    drift = []
    for name, constraint in pins.items():
        version = exact_version(constraint)
        if name in {"python", "pip"} or not version:
            continue
        try:
            installed = metadata.version(by_conda.get(name, name))
        except metadata.PackageNotFoundError:
            continue
        if Version(installed) != Version(version):
            drift.append(f"{name}: env {version}, installed {installed}")
    if drift:
        warnings.warn("envs/tme.yaml pins differ from this environment: " + "; ".join(drift), stacklevel=1)


def test_rule_conda_directives_point_at_env_files():
    """Every ``conda:`` in the workflow names an existing file under envs/."""
    pattern = re.compile(r"^\s*conda:\s*(?:\n\s*)?[\"']([^\"']+)[\"']", re.MULTILINE)
    bad = []
    for smk in [ROOT / "Snakefile", *sorted((ROOT / "workflow" / "rules").glob("*.smk"))]:
        if not smk.is_file():
            continue
        for target in pattern.findall(smk.read_text()):
            # Snakemake resolves conda: paths relative to the file that contains the rule
            resolved = (smk.parent / target).resolve()
            if not resolved.is_file() or ENV_DIR.resolve() not in resolved.parents:
                bad.append(f"{smk.relative_to(ROOT)}: conda: {target!r}")
    assert not bad, f"conda: directives naming missing files or files outside envs/: {bad}"
