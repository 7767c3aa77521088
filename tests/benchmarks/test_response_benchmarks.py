"""Benchmarks whose targets are per-subject responses (voxel or neuron patterns), declared like RDM
benchmarks: planted ground truth (responses that are a known linear map of one layer of a small
network, plus noise) must be found by the encoding benchmark with a high normalised score; the
NCSNR ceiling with repeats against a brute-force loop; RSA of responses against RSA of RDMs
computed with scipy; and spec files from the command line, bad input included."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
import torchvision.transforms as T
from cli_run import run_cli
from PIL import Image
from scipy.spatial.distance import pdist, squareform

from brainalign.benchmarks.declared import DeclaredBenchmark
from brainalign.benchmarks.spec import SpecBenchmark
from brainalign.errors import BrainAlignError
from brainalign.metrics import Kernel, LayerKernels, TargetResponses
from brainalign.models import extract_layers, from_module
from brainalign.neural_data import load_responses
from brainalign.rsa import RDMs
from brainalign.rsa.rdms import LayerRDMs
from brainalign.stimuli import StimulusSet

N_STIMULI = 60
PLANTED = "2"  # the ReLU after the first linear layer: 32 units, not linear in any other layer
PREPROCESS = T.Compose([T.Resize((8, 8)), T.ToTensor()])


def images(folder: Path, n: int = N_STIMULI, seed: int = 0) -> list[str]:
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    ids = [f"img{i:02d}" for i in range(n)]
    for stimulus in ids:
        Image.fromarray(rng.integers(0, 255, (8, 8, 3), dtype=np.uint8)).save(
            folder / f"{stimulus}.png"
        )
    return ids


def tiny_model():
    """Pixels → 32 ReLU units (the planted layer) → a 4-unit bottleneck → 16 tanh units."""
    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Flatten(),
        torch.nn.Linear(3 * 8 * 8, 32),
        torch.nn.ReLU(),
        torch.nn.Linear(32, 4),
        torch.nn.ReLU(),
        torch.nn.Linear(4, 16),
        torch.nn.Tanh(),
    )
    return net, from_module(net, PREPROCESS, layers="all", model_id="tiny-planted")


def planted_features(net: torch.nn.Module, stimuli: StimulusSet) -> np.ndarray:
    batch = torch.stack([PREPROCESS(stimuli.load(i)) for i in stimuli.ids])
    with torch.no_grad():
        return net[: int(PLANTED) + 1](batch).numpy().astype(np.float64)


def write_planted(
    folder: Path, features: np.ndarray, *, repeats: int, noise: float, seed: int = 1
) -> None:
    """Four subjects (16, 20, 24, 28 units), each a random linear map of ``features`` plus
    independent noise per repeat, as sub-NN.npy."""
    rng = np.random.default_rng(seed)
    centred = features - features.mean(axis=0)
    for s, units in enumerate((16, 20, 24, 28)):
        signal = centred @ rng.normal(size=(features.shape[1], units))
        trials = signal[None] + rng.normal(0, noise * signal.std(), (repeats, *signal.shape))
        np.save(folder / f"sub-{s + 1:02d}.npy", trials if repeats > 1 else trials[0])


class PlantedResponses(DeclaredBenchmark):
    id, version, target, metric = "toylab.planted", 1, "IT", "encoding"
    title = description = "planted responses"
    bibtex = "@misc{toylab, title = {Toy}}"
    root = Path()

    def data(self, data_dir):
        stimuli = StimulusSet.from_folder(self.root / "images", name="planted")
        return load_responses(self.root / "sub-*.npy", stimuli, name="IT")


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    folder = tmp_path_factory.mktemp("planted")
    images(folder / "images")
    stimuli = StimulusSet.from_folder(folder / "images", name="planted")
    net, model = tiny_model()
    _, kernels = extract_layers(model, stimuli, cache=False)
    return folder, stimuli, net, kernels


@pytest.mark.parametrize("repeats", [2, 1])
def test_encoding_finds_the_planted_layer_of_responses_with_a_high_normalised_score(
    planted, tmp_path: Path, repeats: int
) -> None:
    folder, stimuli, net, kernels = planted
    (tmp_path / "images").symlink_to(folder / "images")
    write_planted(tmp_path, planted_features(net, stimuli), repeats=repeats, noise=0.4)
    bench = PlantedResponses(root=tmp_path)
    bench.check_data(None)
    assert PLANTED in kernels.names
    score = bench.score({bench.stimulus_set_name: kernels}, seed=0)
    brain, ceiling = score.summary["brain_similarity"], score.summary["noise_ceiling"]
    means = score.extra["layer_means"]
    assert brain["layer"] == PLANTED and max(means, key=means.get) == PLANTED
    assert brain["value"] > 0.8 and brain["normalised"] > 0.85, brain
    assert ceiling["reliable"] and ceiling["reliability"]["p"] < 0.01
    assert score.extra["target_data"] == {
        "kind": "responses",
        "units": {"sub-01": 16, "sub-02": 20, "sub-03": 24, "sub-04": 28},
        "repeats": dict.fromkeys(("sub-01", "sub-02", "sub-03", "sub-04"), repeats),
    }
    if repeats == 2:  # the NCSNR ceiling of the repeats, tested on the repeats
        assert "NCSNR" in ceiling["convention"] and "repeat" in ceiling["reliability"]["test"]
        assert ceiling["lower"] == ceiling["upper"] == pytest.approx(brute_force_ncsnr(tmp_path))
    else:  # one repeat: leave one subject out, agreement tested on the subjects' RDMs
        assert "NCSNR" not in ceiling["convention"] and ceiling["lower"] < ceiling["upper"]
        assert "each subject's stimulus labels" in ceiling["reliability"]["test"]


def brute_force_ncsnr(folder: Path) -> float:
    """Allen et al. (2022)'s NCSNR, unit by unit in plain loops, as a correlation ceiling."""
    per_subject = []
    for path in sorted(folder.glob("sub-*.npy")):
        trials = np.load(path)
        repeats, n, units = trials.shape
        values = []
        for u in range(units):
            noise = np.mean([np.var(trials[:, i, u], ddof=1) for i in range(n)])
            total = np.var(trials[:, :, u].mean(axis=0), ddof=1)
            values.append(np.sqrt(max(total - noise / repeats, 0.0) / total))
        per_subject.append(np.mean(values))
    return float(np.mean(per_subject))


def test_responses_without_a_shared_signal_are_not_normalised(planted, tmp_path: Path) -> None:
    """Repeats that share nothing: the NCSNR ceiling is not zero (its estimate is biased up), so
    the permutation test of the repeats, not the ceiling's size, withholds the normalised score."""
    folder, _, _, kernels = planted
    (tmp_path / "images").symlink_to(folder / "images")
    rng = np.random.default_rng(5)
    for s in range(3):
        np.save(tmp_path / f"sub-{s + 1:02d}.npy", rng.normal(size=(2, N_STIMULI, 10)))
    bench = PlantedResponses(root=tmp_path)
    summary = bench.score({bench.stimulus_set_name: kernels}, seed=0).summary
    assert summary["noise_ceiling"]["upper"] > 0.1
    assert not summary["noise_ceiling"]["reliable"]
    assert summary["brain_similarity"]["normalised"] is None or np.isnan(
        summary["brain_similarity"]["normalised"]
    )
    assert "Withheld" in summary["brain_similarity"]["normalised_withheld"]


# --- loading -----------------------------------------------------------------------------------


def test_load_responses_reads_each_subjects_file_and_leaves_out_a_subject_with_nan(
    tmp_path: Path,
) -> None:
    ids = [f"s{i}" for i in range(6)]
    rng = np.random.default_rng(0)
    np.save(tmp_path / "sub-02.npy", rng.normal(size=(6, 3)))
    np.savez(tmp_path / "sub-10.npz", betas=rng.normal(size=(3, 6, 5)))
    broken = rng.normal(size=(6, 4))
    broken[2, 1] = np.nan
    np.save(tmp_path / "sub-03.npy", broken)
    data = load_responses(
        [tmp_path / "sub-10.npz", tmp_path / "sub-02.npy", tmp_path / "sub-03.npy"],
        ids,
        name="V4",
        key="betas",
    )
    target = data.targets["V4"]
    assert isinstance(target, TargetResponses)
    assert target.subjects == ("sub-02", "sub-10")  # natural order; sub-03 left out
    assert target.units == {"sub-02": 3, "sub-10": 5}
    assert target.repeats == {"sub-02": 1, "sub-10": 3}
    np.testing.assert_array_equal(target.trials[0][0], np.load(tmp_path / "sub-02.npy"))
    ((skip),) = data.skipped
    assert skip.subject == "sub-03" and "1 of 24 response values missing" in skip.reason
    assert "sub-03.npy" in skip.reason


@pytest.mark.parametrize(
    ("array", "message"),
    [
        (np.zeros((2, 2, 6, 3)), "expected responses (n_stimuli, n_units) or (repeats"),
        (
            np.zeros((5, 3)),
            "holds responses to 5 stimuli (shape (5, 3)) but the stimulus list has 6",
        ),
    ],
)
def test_a_response_array_of_the_wrong_shape_is_one_error_naming_the_file(
    tmp_path: Path, array: np.ndarray, message: str
) -> None:
    np.save(tmp_path / "sub-01.npy", array)
    with pytest.raises(BrainAlignError) as caught:
        load_responses(tmp_path / "sub-*.npy", [f"s{i}" for i in range(6)])
    assert message in str(caught.value) and "sub-01.npy" in str(caught.value)


# --- spec files ----------------------------------------------------------------------------------


def spec(folder: Path, metric: str = "encoding", **target: str) -> Path:
    """A responses spec of 9 lines."""
    lines = [
        'title = "Toy responses"',
        'citation = "@misc{toylab, title = {Toy}}"',
        'stimuli = "images"',
        f'metric = "{metric}"',
        "[target]",
        'kind = "fmri"',
        'responses = "sub-*.npy"',
        'stimulus_list = "stimuli.txt"',
        *[f'{key} = "{value}"' for key, value in target.items()],
    ]
    path = folder / f"{metric}.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def toy(tmp_path: Path) -> Path:
    """Twelve images and three subjects' responses (rows in shuffled stimulus order)."""
    ids = images(tmp_path / "images", 12)
    rng = np.random.default_rng(3)
    shared = rng.normal(size=(12, 6))
    order = rng.permutation(12)
    for s in range(3):
        trials = shared @ rng.normal(size=(6, 8 + s)) + rng.normal(0, 0.5, (2, 12, 8 + s))
        np.save(tmp_path / f"sub-{s + 1:02d}.npy", trials[:, order])
    (tmp_path / "stimuli.txt").write_text("\n".join(ids[i] for i in order) + "\n")
    return tmp_path


def test_rsa_of_responses_is_rsa_of_their_correlation_rdms(toy: Path) -> None:
    """``metric = "rsa"`` on responses scores each subject's RDM of its repeat-averaged responses
    (1 - Pearson r, scipy), exactly as a spec of those RDMs does, and says so."""
    responses = SpecBenchmark(spec(toy, "rsa"))
    rdms = np.stack(
        [
            squareform(pdist(np.load(p).mean(axis=0), "correlation"))
            for p in sorted(toy.glob("sub-*"))
        ]
    )
    np.save(toy / "rdms.npy", rdms)
    (toy / "rdms.toml").write_text(
        spec(toy, "rsa")
        .read_text()
        .replace(
            'responses = "sub-*.npy"', 'format = "npy"\nrdms = "rdms.npy"\ndistance = "correlation"'
        )
    )
    from_rdms = SpecBenchmark(toy / "rdms.toml")
    ((name, stimuli),) = responses.stimulus_sets(None).items()
    rng = np.random.default_rng(1)
    layers = LayerRDMs(
        RDMs(rng.random((3, 66)), ("a", "b", "c"), stimuli.ids, "cosine"), (0.0, 0.5, 1.0)
    )
    a = responses.score({name: layers}, seed=0)
    b = from_rdms.score({from_rdms.stimulus_set_name: layers}, seed=0)
    assert a.summary["brain_similarity"]["value"] == pytest.approx(
        b.summary["brain_similarity"]["value"], abs=1e-12
    )
    assert a.summary["noise_ceiling"]["upper"] == pytest.approx(
        b.summary["noise_ceiling"]["upper"], abs=1e-12
    )
    assert a.extra["target_data"]["rdm_distance"] == "correlation"
    assert "Scored as RDMs: each subject's correlation distance" in responses.metric
    assert responses.id != from_rdms.id


def test_cka_scores_responses_as_they_are(toy: Path) -> None:
    bench = SpecBenchmark(spec(toy, "cka"))
    ((name, stimuli),) = bench.stimulus_sets(None).items()
    features = np.random.default_rng(0).normal(size=(12, 5))
    kernels = LayerKernels((Kernel.from_gram(features @ features.T),), ("a",), (1.0,), stimuli.ids)
    score = bench.score({name: kernels}, seed=0)
    assert score.extra["metric"] == "cka@1" and "rdm_distance" not in score.extra["target_data"]
    assert "Scored as RDMs" not in bench.metric


def test_a_responses_spec_is_listed_scored_and_recorded_from_the_command_line(
    toy: Path, tmp_path: Path, capsys
) -> None:
    path = spec(toy)
    code, out, _ = run_cli(["benchmarks", path], capsys)
    assert code == 0 and "per-subject responses of target (fmri" in out and "encoding@1" in out
    code, out, err = run_cli(["-q", "score", "pixels", path, "--results", tmp_path / "r"], capsys)
    assert code == 0, err
    identifier = SpecBenchmark(path).identifier
    assert "scored" in out and identifier in out
    result = json.loads((tmp_path / "r" / "pixels" / f"{identifier}.json").read_text())
    assert result["extra"]["target_data"]["units"] == {"sub-01": 8, "sub-02": 9, "sub-03": 10}
    assert result["provenance"]["benchmark"]["metric_id"] == "encoding@1"
    assert "NCSNR" in result["summary"]["noise_ceiling"]["convention"]


def _nan_subject(folder: Path) -> None:
    trials = np.load(folder / "sub-02.npy")
    trials[0, 3, 2] = np.nan
    np.save(folder / "sub-02.npy", trials)


def test_a_subject_with_nan_is_left_out_and_recorded(toy: Path) -> None:
    _nan_subject(toy)
    bench = SpecBenchmark(spec(toy, "cka"))
    ((name, stimuli),) = bench.stimulus_sets(None).items()
    kernels = LayerKernels((Kernel.from_gram(np.eye(12) + 1.0),), ("a",), (1.0,), stimuli.ids)
    score = bench.score({name: kernels}, seed=0)
    assert set(score.layerwise["subject"]) == {"sub-01", "sub-03"}
    assert any("sub-02" in line and "missing" in line for line in score.extra["left_out"])


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (
            lambda f: np.save(f / "sub-02.npy", np.zeros((2, 2, 12, 3))),
            "expected responses (n_stimuli, n_units) or (repeats, n_stimuli, n_units)",
        ),
        (
            lambda f: (f / "stimuli.txt").write_text(
                "\n".join((f / "stimuli.txt").read_text().split()[:10]) + "\n"
            ),
            "holds responses to 12 stimuli (shape (2, 12, 8)) but the stimulus list has 10",
        ),
        (
            lambda f: [p.unlink() for p in f.glob("sub-*.npy")],
            "no response files match",
        ),
        (
            lambda f: [
                np.save(p, np.full((2, 12, 4), np.nan)) for p in sorted(f.glob("sub-*.npy"))
            ],
            "every subject's responses",
        ),
        (
            lambda f: (f / "encoding.toml").write_text(
                (f / "encoding.toml").read_text() + 'rdms = "judgements.npy"\n'
            ),
            "target.responses and target.rdms exclude each other",
        ),
        (
            lambda f: (f / "encoding.toml").write_text(
                (f / "encoding.toml").read_text().replace('"sub-*.npy"', '"sub-*.csv"')
            ),
            "no response files match",
        ),
    ],
)
def test_bad_responses_are_one_clear_line_and_exit_2(toy: Path, damage, message, capsys) -> None:
    """Before any model runs (as with a spec of RDMs, ``brainalign benchmarks`` reads the files'
    list and checksums, ``score`` their contents too)."""
    path = spec(toy)
    damage(toy)
    code, _, err = run_cli(["score", "pixels", path], capsys)
    assert code == 2 and message in err, err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_the_documented_responses_spec_is_a_valid_spec(tmp_path: Path) -> None:
    """The responses example of docs/guide/spec-files.md passes every check a spec file gets."""
    import re

    from brainalign._toml import load_toml
    from brainalign.benchmarks.spec import _checked

    page = Path(__file__).resolve().parents[2] / "docs" / "guide" / "spec-files.md"
    examples = re.findall(r"```toml\n(.*?)```", page.read_text(encoding="utf-8"), re.DOTALL)
    (example,) = [e for e in examples if "responses = " in e]
    assert len([line for line in example.splitlines() if line.strip()]) <= 10
    (tmp_path / "benchmark.toml").write_text(example)
    checked = _checked(load_toml(tmp_path / "benchmark.toml"), tmp_path / "benchmark.toml")
    assert checked["target"]["format"] == "npy" and checked["metric"] == "encoding"
