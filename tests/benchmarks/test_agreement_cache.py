"""The tests whether a target's subjects (or repeats) agree, kept in the cache folder: a stored
result is the computed one bit for bit, a new process reads it instead of computing it, anything
that changes the numbers computes anew, a damaged file is replaced, and a scoring run gives the
same result with a cold and a warm cache."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from dataclasses import astuple, fields
from pathlib import Path

import numpy as np
import pytest
import torch
import torchvision.transforms as T
from synthetic_data import SYNTHETIC_BENCHMARK

from brainalign import api
from brainalign.benchmarks import agreement_cache, scoring
from brainalign.metrics import TargetResponses, repeats_reliability
from brainalign.models import from_module
from brainalign.rsa import CeilingReliability, RDMs, TargetRDMs, ceiling_reliability
from brainalign.verification import verify

N_STIMULI = 12
IDS = tuple(f"s{i:02d}" for i in range(N_STIMULI))
N_PERM = 50


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty cache folder of the test's own, and no test in memory."""
    folder = tmp_path / "cache"
    monkeypatch.setenv("BRAINALIGN_CACHE", str(folder))
    monkeypatch.setattr(agreement_cache, "_MEMORY", {})
    return folder


def new_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """What a fresh process has: nothing in memory (the cache folder stays)."""
    monkeypatch.setattr(agreement_cache, "_MEMORY", {})


def forbid_computing(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(*args: object, **kwargs: object) -> CeilingReliability:
        raise AssertionError("the stored test must be read, not computed")

    monkeypatch.setattr(scoring, "ceiling_reliability", fail)
    monkeypatch.setattr(scoring, "repeats_reliability", fail)


def stored_files(cache: Path) -> list[Path]:
    return sorted((cache / agreement_cache.FOLDER).rglob("*.npz"))


def target(seed: int = 0, n_subjects: int = 5) -> TargetRDMs:
    rng = np.random.default_rng(seed)
    truth = rng.random(N_STIMULI * (N_STIMULI - 1) // 2)
    subjects = truth + rng.random((n_subjects, truth.size))
    return TargetRDMs.from_subjects(
        "ROI", RDMs(subjects, [f"p{k}" for k in range(n_subjects)], IDS)
    )


def responses(seed: int = 0) -> TargetResponses:
    rng = np.random.default_rng(seed)
    signal = rng.normal(size=(N_STIMULI, 4))
    trials = [signal + rng.normal(size=(3, N_STIMULI, 4)) for _ in range(2)]
    return TargetResponses("ROI", trials, ["a", "b"], IDS)


def same_bits(a: CeilingReliability, b: CeilingReliability) -> bool:
    """Every field equal, floats bit for bit (NaN included)."""
    return all(
        np.float64(x).tobytes() == np.float64(y).tobytes()
        if isinstance(x, float)
        else (type(x) is type(y) and x == y)
        for x, y in zip(astuple(a), astuple(b))
    )


def test_the_stored_test_is_the_computed_one_and_is_read_by_a_new_process(
    cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rdms = target()
    fresh = ceiling_reliability(
        rdms.rdms.reorder(sorted(IDS)).data, "spearman", n_perm=N_PERM, seed=3
    )
    first = scoring.subjects_agree(rdms, "spearman", N_PERM, 3)
    assert same_bits(first, fresh)
    assert len(stored_files(cache)) == 1
    new_process(monkeypatch)
    forbid_computing(monkeypatch)
    read = scoring.subjects_agree(rdms, "spearman", N_PERM, 3)
    assert same_bits(read, fresh)
    assert all(getattr(read, f.name) is not None for f in fields(CeilingReliability))


def test_repeats_are_stored_and_read_the_same_way(
    cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = responses()
    fresh = repeats_reliability(target.trials, n_perm=N_PERM, seed=1)
    assert same_bits(scoring.repeats_agree(target, N_PERM, 1), fresh)
    new_process(monkeypatch)
    forbid_computing(monkeypatch)
    assert same_bits(scoring.repeats_agree(target, N_PERM, 1), fresh)


@pytest.mark.filterwarnings("ignore:.*constant.*:RuntimeWarning")
def test_an_undefined_test_round_trips_its_nans(
    cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    constant = target()
    flat = RDMs(np.ones_like(constant.rdms.data), constant.rdms.names, IDS)
    undefined = TargetRDMs.from_subjects("ROI", flat)
    first = scoring.subjects_agree(undefined, "spearman", N_PERM, 0)
    assert math.isnan(first.p) and math.isnan(first.lower)
    new_process(monkeypatch)
    forbid_computing(monkeypatch)
    assert same_bits(scoring.subjects_agree(undefined, "spearman", N_PERM, 0), first)


@pytest.mark.parametrize(
    "change",
    [
        {"seed": 4},
        {"n_permutations": N_PERM + 1},
        {"method": "pearson"},
        {"target": target(seed=1)},
        {"target": target(n_subjects=4)},
    ],
    ids=["seed", "permutations", "method", "data", "subjects"],
)
def test_anything_that_changes_the_numbers_computes_anew(
    cache: Path, monkeypatch: pytest.MonkeyPatch, change: dict[str, object]
) -> None:
    asked: dict[str, object] = {
        "target": target(),
        "method": "spearman",
        "n_permutations": N_PERM,
        "seed": 3,
    }
    scoring.subjects_agree(**asked)  # type: ignore[arg-type]
    new_process(monkeypatch)
    calls = []

    def counted(*args: object, **kwargs: object) -> CeilingReliability:
        calls.append(1)
        return ceiling_reliability(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(scoring, "ceiling_reliability", counted)
    other = {**asked, **change}
    found = scoring.subjects_agree(**other)  # type: ignore[arg-type]
    assert calls == [1]
    rdms = other["target"].rdms.reorder(sorted(IDS)).data  # type: ignore[attr-defined]
    fresh = ceiling_reliability(
        rdms,
        other["method"],  # type: ignore[arg-type]
        n_perm=other["n_permutations"],  # type: ignore[arg-type]
        seed=other["seed"],  # type: ignore[arg-type]
    )
    assert same_bits(found, fresh)
    assert len(stored_files(cache)) == 2


def test_a_bumped_definition_computes_anew(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    scoring.subjects_agree(target(), "spearman", N_PERM, 0)
    new_process(monkeypatch)
    monkeypatch.setattr(
        scoring, "CEILING_RELIABILITY_VERSION", scoring.CEILING_RELIABILITY_VERSION + 1
    )
    forbid_computing(monkeypatch)
    with pytest.raises(AssertionError, match="must be read"):
        scoring.subjects_agree(target(), "spearman", N_PERM, 0)


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[:100])


def _garbage(path: Path) -> None:
    path.write_bytes(b"not an npz at all")


def _empty(path: Path) -> None:
    path.write_bytes(b"")


def _wrong_numbers(path: Path) -> None:
    """A readable file of another test (its identity differs)."""
    with np.load(path) as data:
        arrays = dict(data)
    arrays["identity"] = np.str_("another test")
    arrays["lower"] = np.float64(0.5)
    np.savez(path, **arrays)


def _wrong_type(path: Path) -> None:
    with np.load(path) as data:
        arrays = dict(data)
    arrays["p"] = np.array([0.5, 0.5])
    np.savez(path, **arrays)


def _missing_field(path: Path) -> None:
    with np.load(path) as data:
        arrays = {k: v for k, v in data.items() if k != "null_sd"}
    np.savez(path, **arrays)


@pytest.mark.parametrize(
    "damage", [_truncate, _garbage, _empty, _wrong_numbers, _wrong_type, _missing_field]
)
def test_a_damaged_file_is_recomputed_and_replaced(
    cache: Path, monkeypatch: pytest.MonkeyPatch, damage
) -> None:
    fresh = scoring.subjects_agree(target(), "spearman", N_PERM, 0)
    (path,) = stored_files(cache)
    intact = path.read_bytes()
    damage(path)
    new_process(monkeypatch)
    assert same_bits(scoring.subjects_agree(target(), "spearman", N_PERM, 0), fresh)
    assert path.read_bytes() == intact  # replaced by a complete file (equal numbers, equal bytes)
    new_process(monkeypatch)
    forbid_computing(monkeypatch)
    assert same_bits(scoring.subjects_agree(target(), "spearman", N_PERM, 0), fresh)


def test_an_unwritable_cache_costs_a_warning_not_the_test(
    cache: Path, caplog: pytest.LogCaptureFixture
) -> None:
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_text("a file where the cache folder should be")
    fresh = ceiling_reliability(target().rdms.reorder(sorted(IDS)).data, n_perm=N_PERM, seed=0)
    assert same_bits(scoring.subjects_agree(target(), "spearman", N_PERM, 0), fresh)
    assert "cannot keep the agreement test" in caplog.text


def _tiny_model():
    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Conv2d(3, 4, 5, stride=4), torch.nn.Tanh(), torch.nn.Flatten()
    )
    return from_module(
        net, T.Compose([T.Resize((32, 32)), T.ToTensor()]), layers="all", model_id="tiny"
    )


def test_a_scoring_run_is_the_same_with_a_cold_and_a_warm_cache(
    cache: Path, monkeypatch: pytest.MonkeyPatch, synthetic_data: Path, tmp_path: Path
) -> None:
    cold = api.score(
        _tiny_model(), SYNTHETIC_BENCHMARK, results=tmp_path / "cold", data_dir=synthetic_data
    )
    assert [o.status for o in cold] == ["scored"]
    assert stored_files(cache)
    new_process(monkeypatch)
    forbid_computing(monkeypatch)
    warm = api.score(
        _tiny_model(), SYNTHETIC_BENCHMARK, results=tmp_path / "warm", data_dir=synthetic_data
    )
    assert [o.status for o in warm] == ["scored"]
    assert warm[0].result.content_id() == cold[0].result.content_id()


def test_computed_afresh_trusts_nothing_stored(
    cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fresh = scoring.subjects_agree(target(), "spearman", N_PERM, 0)
    new_process(monkeypatch)
    assert same_bits(scoring.subjects_agree(target(), "spearman", N_PERM, 0), fresh)  # read
    with monkeypatch.context() as patch:
        forbid_computing(patch)
        with agreement_cache.computed_afresh(), pytest.raises(AssertionError, match="must be read"):
            scoring.subjects_agree(target(), "spearman", N_PERM, 0)  # neither file nor memory
    with agreement_cache.computed_afresh():
        assert same_bits(scoring.subjects_agree(target(), "spearman", N_PERM, 0), fresh)
    forbid_computing(monkeypatch)
    with agreement_cache.computed_afresh():  # what this process computed itself is reused
        assert same_bits(scoring.subjects_agree(target(), "spearman", N_PERM, 0), fresh)


def test_verify_recomputes_a_wrong_stored_test_unless_told_to_trust_the_cache(
    cache: Path, monkeypatch: pytest.MonkeyPatch, synthetic_data: Path, tmp_path: Path
) -> None:
    model = tmp_path / "tiny_model.py"
    model.write_text(
        "import torch, torchvision.transforms as T\n"
        "from brainalign.models import from_module\n\n"
        "def build():\n"
        "    torch.manual_seed(0)\n"
        "    net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 5, stride=4), torch.nn.Tanh(),"
        " torch.nn.Flatten())\n"
        "    return from_module(net, T.Compose([T.Resize((32, 32)), T.ToTensor()]),"
        " layers='all', model_id='tiny')\n"
    )
    results = tmp_path / "results"
    api.score(f"{model}:build", SYNTHETIC_BENCHMARK, results=results, data_dir=synthetic_data)
    (path,) = stored_files(cache)
    with np.load(path) as data:
        arrays = dict(data)
    arrays["null_mean"] = np.float64(0.123)  # a wrong number under the right name
    np.savez(path, **arrays)
    new_process(monkeypatch)
    (afresh,) = verify([results], data_dir=synthetic_data, record=False)
    assert afresh.status == "verified"
    new_process(monkeypatch)
    np.savez(path, **arrays)  # verify stored its own, right numbers: plant the wrong ones again
    (trusting,) = verify([results], data_dir=synthetic_data, record=False, use_cache=True)
    assert trusting.status == "differs"


_RACER = """
import logging, sys
from pathlib import Path
from brainalign.benchmarks import agreement_cache
from brainalign.rsa import CeilingReliability

logging.basicConfig(level=logging.WARNING)
expected = CeilingReliability(0.1 + 0.2, float("nan"), -1e-300, 5e-324, 1000, 7)
folder = Path(sys.argv[1]) / agreement_cache.FOLDER
for _ in range(150):
    agreement_cache._MEMORY.clear()
    for stored in folder.rglob("*.npz"):
        stored.unlink(missing_ok=True)  # the other process finds it gone, half the time
    found = agreement_cache.cached_agreement(
        "race", 1, "data", method="m", n_permutations=1000, seed=7, compute=lambda: expected
    )
    assert repr(found) == repr(expected), found
print("done")
"""


def test_two_processes_writing_the_same_test_at_once_read_only_complete_files(
    cache: Path,
) -> None:
    racers = [
        subprocess.Popen(
            [sys.executable, "-c", _RACER, str(cache)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "BRAINALIGN_CACHE": str(cache)},
        )
        for _ in range(2)
    ]
    for racer in racers:
        out, err = racer.communicate(timeout=120)
        assert racer.returncode == 0 and out.strip() == "done", err
        assert "ignoring" not in err  # no torn file was ever read
    assert not list((cache / agreement_cache.FOLDER).rglob("*.tmp"))
