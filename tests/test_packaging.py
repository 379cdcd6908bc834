"""The promises a newcomer relies on: packaging, the README's set-up commands, CI."""

from __future__ import annotations

import importlib.metadata
import os
import re
import shlex
import subprocess
import tomllib
from pathlib import Path

import pytest

import fieldtheory as ft
from fieldtheory import cli

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def setup_commands() -> list[str]:
    """The command lines of the first code block in the README's "Set up" section."""
    readme = (ROOT / "README.md").read_text()
    section = re.search(r"^## Set up\n(.*?)(?=^## )", readme, re.S | re.M)
    assert section, "README.md has no '## Set up' section"
    block = re.search(r"```(?:bash|sh|console)?\n(.*?)```", section.group(1), re.S)
    assert block, "the Set up section has no code block"
    lines = [line.strip() for line in block.group(1).splitlines()]
    return [line for line in lines if line and not line.startswith("#")]


def test_every_subpackage_is_listed():
    packages = set(PYPROJECT["tool"]["setuptools"]["packages"])
    found = {
        ".".join(init.parent.relative_to(ROOT).parts)
        for init in (ROOT / "fieldtheory").rglob("__init__.py")
        if "__pycache__" not in init.parts
    }
    mapped = set(PYPROJECT["tool"]["setuptools"].get("package-dir", {}))
    missing = found - packages
    assert not missing, f"add to [tool.setuptools] packages: {sorted(missing)}"
    stale = packages - found - mapped
    assert not stale, f"listed but no such package: {sorted(stale)}"
    for package, folder in PYPROJECT["tool"]["setuptools"].get("package-dir", {}).items():
        assert (ROOT / folder / "__init__.py").is_file(), package


def test_console_script():
    assert PYPROJECT["project"]["scripts"]["fieldtheory"] == "fieldtheory.cli:main"
    entry = [e for e in importlib.metadata.entry_points(group="console_scripts")
             if e.name == "fieldtheory"]
    assert entry, "the fieldtheory console script is not installed (pip install -e .)"
    assert entry[0].load() is cli.main


def test_versions_agree():
    assert ft.__version__ == PYPROJECT["project"]["version"]
    assert importlib.metadata.version("fieldtheory") == ft.__version__


def test_readme_has_exactly_two_setup_commands():
    commands = setup_commands()
    assert len(commands) == 2, commands
    main_job, tests = commands
    assert main_job.startswith("pip install -e . && fieldtheory ")
    assert tests == "pip install -e '.[test]' && pytest -n 2"


def test_readme_main_job_is_a_valid_command_line():
    main_job = setup_commands()[0]
    argv = shlex.split(main_job.split("&&")[1])
    assert argv[0] == "fieldtheory"
    args = cli.build_parser().parse_args(argv[1:])
    assert args.command in cli.COMMANDS
    if hasattr(args, "model"):
        ft.load_model(args.model)


def test_test_extra_has_what_the_tests_need():
    extra = " ".join(PYPROJECT["project"]["optional-dependencies"]["test"])
    assert "pytest" in extra and "pytest-xdist" in extra  # the README runs pytest -n 2


def test_ci_runs_the_readme_test_command():
    script = (ROOT / ".ci" / "run").read_text()
    lines = [line.strip() for line in script.splitlines()]
    assert "set -euo pipefail" in lines
    assert any(line.startswith("python3 -m venv") for line in lines), "a fresh venv"
    for part in setup_commands()[1].split("&&"):
        part = part.strip()
        assert any(line == part or line.startswith(part + " ") for line in lines), (
            f"{part!r} (from the README's test command) is not run by .ci/run")
    assert re.search(r'"\$status" -eq 5', script), "pytest's exit 5 (no tests) must fail CI"


def test_ci_installs_the_optional_extras_so_that_their_tests_run():
    script = (ROOT / ".ci" / "run").read_text()
    extras = PYPROJECT["project"]["optional-dependencies"]
    installed = set()
    for line in script.splitlines():
        match = re.fullmatch(r"pip install -e '\.\[([a-z,]+)\]'", line.strip())
        if match:
            installed |= set(match.group(1).split(","))
    assert {"test", "plot", "dask", "nest", "nnmt"} <= installed <= set(extras)
    assert any("matplotlib" in r for r in extras["plot"])
    assert any(r.startswith("dask") for r in extras["dask"])


def test_blas_threads_are_limited_in_the_test_configuration():
    # set by tests/conftest.py before numpy loads (an explicit environment value wins)
    for variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        assert os.environ[variable].isdigit(), variable
    threadpoolctl = pytest.importorskip("threadpoolctl")
    limit = int(os.environ["OPENBLAS_NUM_THREADS"])
    for pool in threadpoolctl.threadpool_info():
        if pool["internal_api"] == "openblas":
            assert pool["num_threads"] <= limit, pool


def test_ci_script_parses():
    subprocess.run(["bash", "-n", str(ROOT / ".ci" / "run")], check=True)


@pytest.mark.parametrize("name", ["README.md", "docs/conventions.md", "docs/index.md"])
def test_documents_exist(name):
    assert (ROOT / name).is_file()
