"""The package's layering is a contract: the import-linter contracts in pyproject.toml hold (data
flows one way, each layer imports only the layers below it, and no package has an import cycle),
and the checker does catch a violation."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from importlinter.cli import lint_imports

ROOT = Path(__file__).resolve().parents[1]


def test_the_import_contracts_in_pyproject_hold(capsys) -> None:
    code = lint_imports(config_filename=str(ROOT / "pyproject.toml"), no_cache=True, no_logo=True)
    assert code == 0, capsys.readouterr().out


def test_an_upward_import_breaks_the_layers_contract(tmp_path: Path, capsys) -> None:
    """Declared upside down (the pure maths above the front door), the real imports break it."""
    config = tmp_path / "upside-down.toml"
    config.write_text(
        '[tool.importlinter]\nroot_package = "brainalign"\n\n'
        '[[tool.importlinter.contracts]]\nname = "upside down"\ntype = "layers"\n'
        'layers = ["brainalign.rsa", "brainalign.models", "brainalign.api"]\n'
    )
    assert lint_imports(config_filename=str(config), no_cache=True, no_logo=True) == 1
    assert "brainalign.api is not allowed to import brainalign.models" in capsys.readouterr().out


@pytest.mark.parametrize("package", ["rsa", "stimuli", "models", "neural_data", "probe", "benchmarks", "results"])
def test_the_layout_page_describes_every_package(package: str) -> None:
    page = (ROOT / "docs" / "layout.md").read_text(encoding="utf-8")
    described = re.search(rf"^\| `{package}[/.]", page, re.M)
    assert described, f"docs/layout.md does not describe {package}"


def test_tests_use_their_own_cache_and_folders(tmp_path: Path, tmp_path_factory) -> None:
    from brainalign.paths import cache_dir
    from brainalign.results import default_results_dir

    assert cache_dir().is_relative_to(tmp_path_factory.getbasetemp())
    assert default_results_dir().is_relative_to(tmp_path) and Path.cwd() == tmp_path
