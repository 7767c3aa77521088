"""The README's two opening commands, and the docs' "Your own model" example, run as written."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"
YOUR_MODEL = README.parent / "docs" / "guide" / "your-model.md"


def your_model_example() -> str:
    """The first Python block of the docs' "Your own model" page."""
    match = re.search(r"```python\n(.*?)```", YOUR_MODEL.read_text(encoding="utf-8"), re.DOTALL)
    assert match, f"{YOUR_MODEL} has no Python example"
    return match.group(1)


def test_readme_opens_with_the_two_commands_ci_runs() -> None:
    tests = subprocess.run([sys.executable, str(README.parent / ".ci" / "readme_command.py"), "tests"],
                           check=True, capture_output=True, text=True).stdout.strip()
    main = subprocess.run([sys.executable, str(README.parent / ".ci" / "readme_command.py"), "run"],
                          check=True, capture_output=True, text=True).stdout.strip()
    assert tests.endswith("tox -e tests") and main.endswith("tox -e run")


def test_submit_your_model_example_runs(shared_data, tmp_path, monkeypatch, capsys) -> None:
    code = your_model_example()
    monkeypatch.chdir(tmp_path)
    exec(compile(code, "docs/guide/your-model.md", "exec"), {"__name__": "docs_example"})
    out = capsys.readouterr().out
    assert "mur2013.judgements@2 scored" in out
    assert (tmp_path / "results" / "leaderboard.html").is_file()
    assert "my_net" in (tmp_path / "results" / "leaderboard.html").read_text(encoding="utf-8")


def test_submit_your_model_cli_route(shared_data, tmp_path) -> None:
    """The same network as FILE.py:FUNCTION through `brainalign score`."""
    code = your_model_example()
    network = code.split("outcomes =")[0]
    body = "\n".join("    " + line for line in network.splitlines())
    (tmp_path / "my_net.py").write_text(f"def build():\n{body}\n    return model\n", encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "brainalign.cli", "-q", "score", f"{tmp_path / 'my_net.py'}:build",
         "mur2013.judgements", "--results", str(tmp_path / "results"), "--data-dir", str(shared_data)],
        capture_output=True, text=True, check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "my_net" in done.stdout and "scored" in done.stdout
