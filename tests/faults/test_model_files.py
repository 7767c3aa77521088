"""A broken model file is reported as the user's: the file and function, then the traceback
frames of their own code only (``--debug`` shows every frame), exit status 2. Ctrl-C ends with
one line and exit status 130, nothing half-written."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest
from fault_helpers import HUMAN, brainalign_process, finish, leftovers, process_env
from synthetic_data import SYNTHETIC_BENCHMARK

BROKEN = {
    "raises_on_import": (
        "import torch\n"
        "def helper():\n"
        "    return torch.zeros(2) @ torch.zeros(3)\n"
        "VALUE = helper()\n"
        "def build():\n"
        "    pass\n"
    ),
    "syntax_error": "def build(:\n    pass\n",
    "raises_when_called": (
        "def check(size):\n"
        "    raise ValueError(f'no network of size {size}')\n"
        "def build():\n"
        "    check(3)\n"
    ),
    "misuses_brainalign": (
        "import torch\n"
        "from brainalign.models import from_module\n"
        "def build():\n"
        "    return from_module(torch.nn.Identity(), lambda image: image)\n"
    ),
}
#: What each must say: the first line, and the user's own lines that the traceback shows.
EXPECTED = {
    "raises_on_import": (
        "cannot import model file {file} (for {file}:build): RuntimeError: inconsistent tensor size",
        ["line 4, in <module>", "VALUE = helper()", "line 3, in helper"],
    ),
    "syntax_error": (
        "cannot import model file {file} (for {file}:build): SyntaxError: invalid syntax",
        ["line 1", "def build(:"],
    ),
    "raises_when_called": (
        "{file}:build failed: ValueError: no network of size 3",
        ["line 4, in build", "check(3)", "line 2, in check"],
    ),
    "misuses_brainalign": (
        "{file}:build failed: BrainAlignError: from_module needs a card= or a model_id=",
        ["line 4, in build"],
    ),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_a_broken_model_file_is_reported_with_its_own_frames_only(
    cli, tmp_path, synthetic_data, case
) -> None:
    file = tmp_path / f"{case}.py"
    file.write_text(BROKEN[case], encoding="utf-8")
    data = (
        "--data-dir",
        synthetic_data,
    )  # the model fails, not the data: any readable data set does
    ran = cli(
        "score", f"{file}:build", SYNTHETIC_BENCHMARK, *data, "--results", tmp_path / "results"
    )
    assert ran.code == 2, ran
    first, frames = EXPECTED[case]
    assert ran.error_line.startswith("error: " + first.format(file=file)), ran.err
    trace = ran.err[ran.err.index("Traceback (your code only; --debug shows all):") :]
    for line in frames:
        assert line in trace, (line, trace)
    shown = [line for line in trace.splitlines() if line.strip().startswith('File "')]
    assert shown and all(f'File "{file}"' in line for line in shown), (
        trace
    )  # no brainalign, torch or importlib
    assert not (tmp_path / "results").exists()

    debug = cli(
        "--debug",
        "score",
        f"{file}:build",
        SYNTHETIC_BENCHMARK,
        *data,
        "--results",
        tmp_path / "results",
    )
    assert debug.code == 2 and debug.error_line == ran.error_line
    assert (
        "brainalign/models/zoo.py" in debug.err
    )  # the full traceback, brainalign's frames included


def _interruptible() -> None:
    """In the child, before it runs brainalign: SIGINT as an interactive shell leaves it (not
    blocked, default action). A process inherits an ignored or blocked SIGINT from its parent,
    and a test worker can have one (the full suite once left a run deaf to three Ctrl-Cs)."""
    signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGINT])
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.mark.slow
def test_ctrl_c_ends_with_one_line_exit_130_and_nothing_half_written(
    model_file, shared_data, tmp_path
) -> None:
    """Interrupted while a layer is spilled to disk and layer RDMs are being cached."""
    results, tmpdir = tmp_path / "results", tmp_path / "tmpdir"
    process = brainalign_process(
        [
            "score",
            model_file("slow"),  # 50 ms a batch: the interrupt lands mid-extraction
            HUMAN,
            "--results",
            results,
            "--data-dir",
            shared_data,
            "--memory-budget",
            "200KB",
            "--batch-size",
            "1",
        ],
        process_env(tmp_path),
        preexec_fn=_interruptible,
    )
    deadline = time.monotonic() + 300
    while (
        not any(tmpdir.glob("brainalign-spill-*/*"))
        and process.poll() is None
        and time.monotonic() < deadline
    ):
        time.sleep(0.01)
    assert process.poll() is None, finish(process)
    status = Path(f"/proc/{process.pid}/status")
    handling = [  # what the child does with signals, for the message if it ignores this one
        line
        for line in (status.read_text() if status.exists() else "").splitlines()
        if line.startswith(("SigBlk", "SigIgn"))
    ]
    process.send_signal(signal.SIGINT)
    ran = finish(process)
    assert ran.code == 130, (ran, handling, signal.getsignal(signal.SIGINT))
    assert (
        ran.err.strip().splitlines()[-1]
        == "interrupted; run the same command again to resume where it stopped"
    )
    assert "Traceback" not in ran.err
    assert not results.exists()
    assert (
        leftovers(tmp_path / "cache", tmpdir) == []
    )  # its own cleanup ran: no scratch, no temporary file
