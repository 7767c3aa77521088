"""tools/gpu_check.py, run as a GPU machine would run it, on the CPU: a tiny model (a model file,
with a layer policy) on a small built probe and the 92-image benchmarks, scored twice and every
number compared. What the script checks does not depend on the model's size; a tiny one keeps the
check cheap."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from probe_synthetic import build_small_probe

SCRIPT = Path(__file__).parents[1] / "tools" / "gpu_check.py"
#: Tiny seeded networks, loaded as ``fault_models.py:FUNCTION``.
MODEL_FILE = Path(__file__).parent / "faults" / "fault_models.py"


@pytest.mark.slow
def test_gpu_check_scores_twice_and_finds_every_number_equal(
    tmp_path: Path, shared_data: Path
) -> None:
    probe = build_small_probe(tmp_path)
    models = shutil.copy(MODEL_FILE, tmp_path / MODEL_FILE.name)
    done = subprocess.run(
        [
            sys.executable,
            str(SCRIPT),
            str(probe),
            str(shared_data),
            "--device",
            "cpu",
            "--model",
            f"{models}:tiny=all",
            "--n-boot",
            "50",
            "--batch-size",
            "16",
        ],
        capture_output=True,
        text=True,
        timeout=900,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    compared = [line for line in lines if "numbers agree" in line]
    # every benchmark of the default run (the four 92-image human benchmarks, the probe and the
    # 92-image targets under the other metrics), each with its numbers checked
    checked = {line.split()[1] for line in compared}
    human = (
        "algonauts2019.92images.EVC",
        "algonauts2019.92images.IT",
        "kriegeskorte2008.hIT",
        "mur2013.judgements",
    )
    assert {f"{b}@2" for b in human} <= checked, done.stdout
    assert {f"algonauts2019.92images.IT.{m}@1" for m in ("wrsa", "cka", "encoding")} <= checked
    assert any(b.startswith("probe.saliency_semantic~") for b in checked)
    assert all(int(line.split("numbers")[0].split()[-1]) > 10 for line in compared)
    for title in ("cpu (cpu)", "cpu reference"):
        at = lines.index(next(line for line in lines if line.startswith(title)))
        assert "forward passes" in "\n".join(lines[at : at + 10])


def test_gpu_check_without_a_gpu_says_so(tmp_path: Path, shared_data: Path) -> None:
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU: the check itself is the test")
    done = subprocess.run(
        [sys.executable, str(SCRIPT), str(tmp_path), str(shared_data)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 2 and done.stderr.startswith("error: no CUDA device"), done.stderr
