"""`brainalign verify` says what is true and cleans up after itself: a spec whose data changed
since a result was scored now defines another benchmark id (both ids are named, and the files that
differ), and a verify killed while writing its record leaves a temporary file that the next
verify removes."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
from fault_helpers import leftovers, process_env, spec_data, spec_file, write_rdms

from brainalign.benchmarks.spec import SpecBenchmark
from brainalign.results import ResultsStore
from brainalign.results.verification_record import read_record


def _scored(cli, tmp_path: Path) -> tuple[Path, Path, Path]:
    """A spec benchmark over synthetic data, the pixel baseline scored on it: (spec, results, result file)."""
    spec_data(tmp_path / "lab")
    spec = spec_file(tmp_path / "lab")
    ran = cli("-q", "score", "pixels", spec, "--results", tmp_path / "results")
    assert ran.code == 0, ran
    (result,) = sorted((tmp_path / "results").rglob("*.json"))
    return spec, tmp_path / "results", result


def test_a_spec_whose_data_changed_is_reported_as_another_id(cli, tmp_path) -> None:
    spec, results, _ = _scored(cli, tmp_path)
    (entry,) = ResultsStore(results).list()
    squares = np.load(tmp_path / "lab" / "judgements.npy")
    squares[0, 1, 2] = squares[0, 2, 1] = squares[0, 1, 2] + 0.5  # one number changed since
    write_rdms(tmp_path / "lab", squares)
    now = SpecBenchmark(spec).identifier
    assert now != entry.benchmark
    ran = cli("-q", "verify", results, "--spec", spec)
    assert ran.code == 1, ran
    said = " ".join(ran.out.split())
    assert (
        f"the spec file {spec} now defines benchmark {now}, not {entry.benchmark} that this result was "
        "scored on: its data or definition changed since (files that differ: judgements.npy)"
    ) in said
    assert "not known here" not in said


def test_a_verify_killed_while_writing_its_record_leaves_nothing_behind(cli, tmp_path) -> None:
    spec, results, result = _scored(cli, tmp_path)
    dying = textwrap.dedent(f"""
        import contextlib, os, signal
        import brainalign._files as files

        original = files.atomic_path

        @contextlib.contextmanager
        def killed_while_writing(path):
            with original(path) as tmp:
                if str(path).endswith(".verification"):
                    tmp.write_bytes(b'{{"half": ')
                    os.kill(os.getpid(), signal.SIGKILL)
                yield tmp

        files.atomic_path = killed_while_writing
        from brainalign.cli import main
        main(["-q", "verify", {str(results)!r}, "--spec", {str(spec)!r}])
        """)
    killed = subprocess.run(
        [sys.executable, "-c", dying],
        env=process_env(tmp_path / "killed"),
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert killed.returncode == -9, killed.stderr
    (orphan,) = leftovers(results)
    assert orphan.name.startswith(f".{result.stem}.verification.")
    assert read_record(result) is None

    ran = cli("-q", "verify", results, "--spec", spec)
    assert ran.code == 0 and "1 verified" in ran.out, ran
    assert leftovers(results) == []
    assert read_record(result).status == "verified"
