"""The package's layering is a contract: the import-linter contracts in pyproject.toml hold (data
flows one way, each layer imports only the layers below it, and no package has an import cycle),
and the checker does catch a violation. import-linter runs in a process of its own: its logging
set-up would switch off brainalign's loggers for the rest of this one."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def lint_imports(config: Path) -> subprocess.CompletedProcess[str]:
    """``lint-imports --config CONFIG`` (import-linter's command) in a process of its own."""
    script = "import sys; from importlinter.cli import lint_imports_command; sys.exit(lint_imports_command())"
    return subprocess.run(
        [sys.executable, "-c", script, "--config", str(config), "--no-cache"],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
        timeout=300,
    )


def test_the_import_contracts_in_pyproject_hold() -> None:
    linted = lint_imports(ROOT / "pyproject.toml")
    assert linted.returncode == 0, linted.stdout + linted.stderr


def test_an_upward_import_breaks_the_layers_contract(tmp_path: Path) -> None:
    """Declared upside down (the pure maths above the front door), the real imports break it."""
    config = tmp_path / "upside-down.toml"
    config.write_text(
        '[tool.importlinter]\nroot_package = "brainalign"\n\n'
        '[[tool.importlinter.contracts]]\nname = "upside down"\ntype = "layers"\n'
        'layers = ["brainalign.rsa", "brainalign.models", "brainalign.api"]\n'
    )
    linted = lint_imports(config)
    assert linted.returncode == 1
    assert "brainalign.api is not allowed to import brainalign.models" in linted.stdout


@pytest.mark.parametrize(
    "package", ["rsa", "stimuli", "models", "neural_data", "probe", "benchmarks", "results"]
)
def test_the_layout_page_describes_every_package(package: str) -> None:
    page = (ROOT / "docs" / "layout.md").read_text(encoding="utf-8")
    described = re.search(rf"^\| `{package}[/.]", page, re.M)
    assert described, f"docs/layout.md does not describe {package}"


def test_tests_use_their_own_cache_and_folders(tmp_path: Path, tmp_path_factory) -> None:
    from brainalign.paths import cache_dir
    from brainalign.results import default_results_dir

    assert cache_dir().is_relative_to(tmp_path_factory.getbasetemp())
    assert default_results_dir().is_relative_to(tmp_path) and Path.cwd() == tmp_path
