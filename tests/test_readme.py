"""The README's two opening commands (the ones tox.ini defines and CI runs), and the docs' "Your
own model" example, run as written."""

from __future__ import annotations

import configparser
import re
from pathlib import Path

from cli_run import run_cli

README = Path(__file__).resolve().parent.parent / "README.md"
YOUR_MODEL = README.parent / "docs" / "guide" / "your-model.md"


def your_model_example() -> str:
    """The first Python block of the docs' "Your own model" page."""
    match = re.search(r"```python\n(.*?)```", YOUR_MODEL.read_text(encoding="utf-8"), re.DOTALL)
    assert match, f"{YOUR_MODEL} has no Python example"
    return match.group(1)


def _opening_commands() -> list[str]:
    """The commands of the README's first fenced code block (comments and blank lines aside)."""
    block = re.search(
        r"```(?:bash|sh|console)?\n(.*?)```", README.read_text(encoding="utf-8"), re.DOTALL
    )
    assert block, "README.md has no fenced code block"
    return [
        line
        for line in block.group(1).splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]


def test_the_readme_opens_with_the_two_commands_that_tox_defines_and_ci_runs() -> None:
    commands = _opening_commands()
    assert len(commands) >= 2, commands
    main, tests = commands[:2]
    assert re.search(r"\btox -e run$", main) and re.search(r"\btox -e tests$", tests), commands[:2]

    tox = configparser.ConfigParser(interpolation=None)
    tox.read(README.parent / "tox.ini", encoding="utf-8")
    assert {"testenv:run", "testenv:tests"} <= set(tox.sections())

    ci = (README.parent / ".ci" / "run").read_text(encoding="utf-8")
    ci_lines = [line for line in ci.splitlines() if not line.lstrip().startswith("#")]
    assert any(tests in line for line in ci_lines), "CI must run the README's test command verbatim"


def test_submit_your_model_example_runs(shared_data, tmp_path, monkeypatch, capsys) -> None:
    code = your_model_example()
    monkeypatch.chdir(tmp_path)
    exec(compile(code, "docs/guide/your-model.md", "exec"), {"__name__": "docs_example"})
    out = capsys.readouterr().out
    assert "mur2013.judgements@2 scored" in out
    assert (tmp_path / "results" / "leaderboard.html").is_file()
    assert "my_net" in (tmp_path / "results" / "leaderboard.html").read_text(encoding="utf-8")


def test_submit_your_model_cli_route(shared_data, tmp_path, capsys) -> None:
    """The same network as FILE.py:FUNCTION through `brainalign score` (the CLI in this process:
    the fault tests load model files in processes of their own)."""
    code = your_model_example()
    network = code.split("outcomes =")[0]
    body = "\n".join("    " + line for line in network.splitlines())
    (tmp_path / "my_net.py").write_text(
        f"def build():\n{body}\n    return model\n", encoding="utf-8"
    )
    status, out, err = run_cli(
        [
            "-q",
            "score",
            f"{tmp_path / 'my_net.py'}:build",
            "mur2013.judgements",
            "--results",
            tmp_path / "results",
            "--data-dir",
            shared_data,
        ],
        capsys,
    )
    assert status == 0, err
    assert "my_net" in out and "scored" in out
