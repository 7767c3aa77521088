"""The `brainalign` command run in this process, as the tests call it: its exit status and what
it printed (in-process, so faults can be injected with monkeypatch)."""

from __future__ import annotations

import pytest

from brainalign.cli import main


def run_cli(argv: list[object], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """``brainalign ARGV``: (exit status, stdout, stderr) since the last capture was read."""
    try:
        main([str(a) for a in argv])
        code = 0
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
    out, err = capsys.readouterr()
    return code, out, err
