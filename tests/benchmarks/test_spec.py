"""Your data as a benchmark, without code: a TOML spec file scored with the standard metric.

The real check: the 92-image similarity judgements, repackaged as `.npy` + stimulus list + spec,
score exactly like `mur2013.judgements` under another id. Then each file format the spec accepts
against the written arrays (NIfTI: against RDMs recomputed with scipy), the id's content hash, and
the errors a person writing a spec meets."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import nibabel as nib
import numpy as np
import pandas as pd
import pytest
from PIL import Image
from scipy.spatial.distance import pdist, squareform

from brainalign.benchmarks import get
from brainalign.benchmarks.spec import SpecBenchmark
from brainalign.cli import main
from brainalign.errors import BrainAlignError
from brainalign.rsa import RDMs, to_square
from brainalign.rsa.rdms import LayerRDMs

IDS = [f"img{i:02d}" for i in range(1, 11)]
N_SUBJECTS = 4


def spec_text(
    fmt: str = "npy",
    *,
    title: str = "Toy judgements",
    id: str = "toylab.shapes",
    name: str = "shapes",
    **target: str,
) -> str:
    lines = [
        f'id = "{id}"',
        f'title = "{title}"',
        'citation = "@misc{toylab, title = {Toy}}"',
        'stimuli = "images"',
        "",
        "[target]",
        f'name = "{name}"',
        'kind = "behaviour"',
        f'format = "{fmt}"',
    ]
    lines += [f'{key} = "{value}"' for key, value in target.items()]
    return "\n".join(lines) + "\n"


def synthetic(folder: Path, seed: int = 0) -> np.ndarray:
    """Ten images and four subjects' square RDMs (a shared structure plus noise) in ``folder``;
    the RDMs are written as judgements.npy with stimuli.txt, in shuffled stimulus order."""
    rng = np.random.default_rng(seed)
    (folder / "images").mkdir(parents=True)
    for stimulus in IDS:
        Image.fromarray(rng.integers(0, 255, (8, 8, 3), dtype=np.uint8)).save(
            folder / "images" / f"{stimulus}.png"
        )
    shared = rng.random(len(IDS) * (len(IDS) - 1) // 2)
    rdms = np.stack(
        [squareform(shared + rng.normal(0, 0.2, shared.size) + 1) for _ in range(N_SUBJECTS)]
    )
    order = rng.permutation(len(IDS))
    np.save(folder / "judgements.npy", rdms[:, order][:, :, order])
    (folder / "stimuli.txt").write_text("\n".join(IDS[i] for i in order) + "\n")
    return rdms


def layers_for(bench: SpecBenchmark, seed: int = 1) -> dict[str, LayerRDMs]:
    """Three made-up layer RDMs on the benchmark's stimuli (in reverse id order: matched by id)."""
    ((name, stimuli),) = bench.stimulus_sets(None).items()
    assert sorted(stimuli.ids) == IDS
    rng = np.random.default_rng(seed)
    ids = tuple(reversed(IDS))
    rdms = RDMs(rng.random((3, len(ids) * (len(ids) - 1) // 2)), ("a", "b", "c"), ids, "cosine")
    return {name: LayerRDMs(rdms, (0.0, 0.5, 1.0))}


def score(bench: SpecBenchmark) -> dict[str, float | str]:
    """The summary's numbers, flattened (``brain_similarity.value`` …)."""

    def flat(prefix: str, value: object) -> dict[str, object]:
        if isinstance(value, dict):
            return {
                k: v
                for key, inner in value.items()
                for k, v in flat(f"{prefix}.{key}", inner).items()
            }
        return {prefix: value}

    summary = bench.score(layers_for(bench), seed=0).summary
    return {
        key: value for name, entry in summary.items() for key, value in flat(name, entry).items()
    }


@pytest.fixture
def toy(tmp_path: Path) -> tuple[Path, np.ndarray]:
    folder = tmp_path / "toy"
    rdms = synthetic(folder)
    (folder / "bench.toml").write_text(
        spec_text(rdms="judgements.npy", stimulus_list="stimuli.txt")
    )
    return folder, rdms


# --- the real data ------------------------------------------------------------------------------


def test_the_92_image_judgements_as_a_spec_score_exactly_like_mur2013(
    shared_data: Path, tmp_path: Path, capsys
) -> None:
    from brainalign.neural_data import load_kriegeskorte2008

    data = load_kriegeskorte2008(shared_data)
    folder = tmp_path / "repackaged"
    (folder / "images").mkdir(parents=True)
    for stimulus in data.stimuli.ids:  # PNG is lossless: the same pixels as the built-in's images
        data.stimuli.load(stimulus).save(folder / "images" / f"{stimulus}.png")
    judgements = data.targets["judgements"].rdms
    np.save(folder / "judgements.npy", to_square(judgements.data))
    (folder / "stimuli.txt").write_text("\n".join(judgements.stimulus_ids) + "\n")
    (folder / "benchmark.toml").write_text(
        spec_text(
            title="The 92-image judgements, repackaged",
            id="mylab.judgements",
            name="judgements",
            rdms="judgements.npy",
            stimulus_list="stimuli.txt",
            distance="judgement",
        )
    )
    model = tmp_path / "net.py"
    model.write_text(
        "import torch, torchvision.transforms as T\nfrom brainalign.models import from_module\n"
        "def build():\n    torch.manual_seed(0)\n"
        "    net = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 5, stride=4), torch.nn.ReLU(),\n"
        "                              torch.nn.Conv2d(8, 8, 3, stride=2), torch.nn.ReLU(), torch.nn.Flatten())\n"
        "    return from_module(net, T.Compose([T.Resize(48), T.ToTensor()]), layers='all', model_id='net')\n"
    )
    results = tmp_path / "results"
    main(
        [
            "-q",
            "score",
            f"{model}:build",
            "mur2013.judgements",
            str(folder / "benchmark.toml"),
            "--results",
            str(results),
            "--data-dir",
            str(shared_data),
        ]
    )
    out = capsys.readouterr().out
    spec_id = next(word for word in out.split() if word.startswith("mylab.judgements."))
    assert spec_id != "mur2013.judgements@2" and spec_id.endswith("@2")

    from brainalign.results import ResultsStore

    store = ResultsStore(results)
    builtin, spec = store.load("net", "mur2013.judgements@2"), store.load("net", spec_id)
    assert len(builtin.layerwise) == len(spec.layerwise) == 5 * 16  # 5 layers × 16 subjects
    assert spec.summary == builtin.summary  # every number, bit for bit
    np.testing.assert_array_equal(spec.layerwise["value"], builtin.layerwise["value"])
    assert spec.content_id() != builtin.content_id()
    assert spec.provenance["benchmark"]["title"] == "The 92-image judgements, repackaged"


# --- formats --------------------------------------------------------------------------------------


def test_npy_with_a_stimulus_list_reads_the_rdms_matched_by_id(toy) -> None:
    folder, rdms = toy
    bench = get(str(folder / "bench.toml"))
    assert isinstance(bench, SpecBenchmark)
    target = bench.target_rdms()
    assert target.subjects == ("sub01", "sub02", "sub03", "sub04") and target.kind == "behaviour"
    order = [IDS.index(s) for s in target.stimulus_ids]
    for k in range(N_SUBJECTS):
        np.testing.assert_array_equal(
            target.rdms.data[k], squareform(rdms[k][np.ix_(order, order)])
        )
    summary = score(bench)
    assert summary["brain_similarity.value"] is not None
    assert (
        summary["noise_ceiling.upper"] > summary["noise_ceiling.lower"] > 0.3
    )  # planted shared structure


def test_every_format_gives_the_same_scores(toy, tmp_path: Path) -> None:
    import rsatoolbox

    folder, rdms = toy
    reference = score(SpecBenchmark(folder / "bench.toml"))
    # Net2Brain: one .npz per ROI, rows in the stimulus folder's (sorted) order
    (folder / "net2brain").mkdir()
    np.savez(folder / "net2brain" / "fmri_shapes_RDMs.npz", rdm=rdms)
    np.savez(folder / "net2brain" / "fmri_other_RDMs.npz", rdm=rdms[::-1])
    (folder / "npz.toml").write_text(spec_text("npz", rdms="net2brain", roi="shapes"))
    # rsatoolbox HDF5, stimulus ids stored in the file
    stored = rsatoolbox.rdm.RDMs(
        np.stack([squareform(r) for r in rdms]),
        dissimilarity_measure="judgement",
        pattern_descriptors={"stimulus_id": IDS},
    )
    stored.save(str(folder / "rdms.hdf5"), file_type="hdf5")
    (folder / "h5.toml").write_text(spec_text("rsatoolbox", rdms="rdms.hdf5"))
    for name in ("npz.toml", "h5.toml"):  # rows in another order: sums may differ in the last bit
        other = score(SpecBenchmark(folder / name))
        assert other.keys() == reference.keys()
        for key, value in reference.items():
            assert other[key] == (
                value
                if isinstance(value, (str, bool)) or value is None
                else pytest.approx(value, rel=1e-12)
            ), (name, key)


def test_nifti_betas_inside_a_mask_match_rdms_computed_with_scipy(tmp_path: Path) -> None:
    folder = tmp_path / "fmri"
    synthetic(folder)
    rng = np.random.default_rng(3)
    shape, affine = (4, 4, 3), np.eye(4)
    mask = np.zeros(shape, np.uint8)
    mask[1:3, :, 1:] = 1
    nib.save(nib.Nifti1Image(mask, affine), folder / "mask.nii.gz")
    rows, expected = [], []
    for subject in ("s1", "s2", "s3"):
        volumes = rng.normal(size=(len(IDS), *shape)).astype(np.float32)
        for stimulus, volume in zip(IDS, volumes):
            nib.save(nib.Nifti1Image(volume, affine), folder / f"{subject}_{stimulus}.nii.gz")
            rows.append(
                {
                    "subject": subject,
                    "stimulus_id": stimulus,
                    "beta": f"{subject}_{stimulus}.nii.gz",
                }
            )
        expected.append(pdist(volumes[:, mask == 1].astype(np.float64), "correlation"))
    pd.DataFrame(rows).to_csv(folder / "betas.csv", index=False)
    (folder / "nifti.toml").write_text(
        spec_text("nifti", table="betas.csv", mask="mask.nii.gz", distance="correlation")
    )
    bench = SpecBenchmark(folder / "nifti.toml")
    target = bench.target_rdms()
    assert target.subjects == ("s1", "s2", "s3") and target.stimulus_ids == tuple(IDS)
    np.testing.assert_allclose(target.rdms.data, np.stack(expected), rtol=1e-6, atol=1e-9)
    assert any(
        name.endswith("s3_img10.nii.gz") for name in bench.checksums
    )  # the betas are data the id covers


# --- the id ---------------------------------------------------------------------------------------


def test_the_id_carries_a_content_hash_of_spec_and_data(toy, tmp_path: Path) -> None:
    folder, rdms = toy
    original = SpecBenchmark(folder / "bench.toml").identifier
    assert original.startswith("toylab.shapes.") and original.endswith("@2")
    moved = tmp_path / "elsewhere" / "copy"
    shutil.copytree(folder, moved)
    assert (
        SpecBenchmark(moved / "bench.toml").identifier == original
    )  # same data, other place: same id
    changed = rdms.copy()
    changed[0, 0, 1] = changed[0, 1, 0] = changed[0, 0, 1] + 1e-9
    np.save(moved / "judgements.npy", changed[:, :, :])
    assert (
        SpecBenchmark(moved / "bench.toml").identifier != original
    )  # one number changed: a new id
    shutil.rmtree(moved)
    shutil.copytree(folder, moved)
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(moved / "images" / "img03.png")
    assert SpecBenchmark(moved / "bench.toml").identifier != original  # one image changed
    (moved / "images" / "img03.png").unlink()
    shutil.copy(folder / "images" / "img03.png", moved / "images" / "img03.png")
    (moved / "bench.toml").write_text(
        spec_text(rdms="judgements.npy", stimulus_list="stimuli.txt", comparison="pearson")
    )
    assert SpecBenchmark(moved / "bench.toml").identifier != original  # another comparison


def test_a_spec_benchmark_is_run_and_described_from_the_command_line(
    toy, tmp_path: Path, capsys
) -> None:
    folder, _ = toy
    spec = str(folder / "bench.toml")
    main(["benchmarks", spec])
    out = capsys.readouterr().out
    assert "Toy judgements" in out and "per-subject RDMs of shapes (behaviour" in out
    main(["cite", spec])
    out = capsys.readouterr().out
    assert "@misc{toylab" in out and "opielka2024saliency" in out and "@software{brainalign" in out
    main(["-q", "run", "-m", "pixels", "-b", spec, "--results", str(tmp_path / "results")])
    out = capsys.readouterr().out
    identifier = SpecBenchmark(spec).identifier
    assert f"pixels  {identifier}  scored" in out
    assert (tmp_path / "results" / "leaderboard.html").read_text().count(identifier) >= 1


# --- errors ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            lambda t: t.replace('format = "npy"', 'format = "csv"'),
            "target.format 'csv' is not one of npy, npz",
        ),
        (
            lambda t: t.replace('kind = "behaviour"', 'knd = "behaviour"'),
            "unknown key(s) target.knd",
        ),
        (lambda t: t.replace('title = "Toy judgements"\n', ""), "missing key(s) title"),
        (
            lambda t: t.replace('rdms = "judgements.npy"', 'rdms = "absent.npy"'),
            "absent.npy, which does not exist",
        ),
        (lambda t: t.replace('stimuli = "images"', 'stimuli = "images"]'), "is not valid TOML"),
        (lambda t: t + 'comparison = "spearmann"\n', "target.comparison 'spearmann' is not one of"),
    ],
)
def test_a_wrong_spec_is_one_clear_error(toy, edit, message, capsys) -> None:
    folder, _ = toy
    spec = folder / "bench.toml"
    spec.write_text(edit(spec.read_text()))
    with pytest.raises(BrainAlignError, match=None) as caught:
        SpecBenchmark(spec)
    assert message in str(caught.value) and str(spec) in str(caught.value)
    with pytest.raises(SystemExit) as exit_:
        main(["score", "pixels", str(spec)])
    assert exit_.value.code == 2 and message in capsys.readouterr().err


def test_stimuli_without_an_image_are_named(toy) -> None:
    folder, _ = toy
    (folder / "images" / "img07.png").unlink()
    with pytest.raises(BrainAlignError, match=r"stimuli without an image in .*images \(img07\)"):
        SpecBenchmark(folder / "bench.toml").stimulus_sets(None)


def test_spec_files_parse_where_the_standard_library_has_no_tomllib(toy) -> None:
    """Python 3.10 has no tomllib: brainalign then reads TOML with tomli (a dependency there)."""
    folder, _ = toy
    code = (
        "import sys; sys.modules['tomllib'] = None\n"
        "from brainalign._toml import load_toml, tomllib\n"
        "assert tomllib.__name__ == 'tomli', tomllib\n"
        f"print(load_toml({str(folder / 'bench.toml')!r})['target']['format'])\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "npy"


def test_the_documented_spec_example_is_a_valid_spec(tmp_path: Path) -> None:
    """The spec the docs show (docs/guide/spec-files.md) passes every check a spec file gets (its
    files aside)."""
    import re

    from brainalign._toml import load_toml
    from brainalign.benchmarks.spec import _checked

    page = Path(__file__).resolve().parents[2] / "docs" / "guide" / "spec-files.md"
    example = re.search(r"```toml\n(.*?)```", page.read_text(encoding="utf-8"), re.DOTALL).group(1)
    (tmp_path / "benchmark.toml").write_text(example)
    spec = _checked(load_toml(tmp_path / "benchmark.toml"), tmp_path / "benchmark.toml")
    assert spec["target"]["format"] == "npy" and spec["id"] == "mylab.judgements"


def test_a_spec_chooses_its_metric_by_name(toy, tmp_path: Path) -> None:
    """``metric = "cka"``: scored by linear CKA on the layers' kernels, under an id of its own; a
    metric that needs halves of the subjects refuses one subject before any model runs; an
    unknown metric is one clear error."""
    from brainalign.metrics import Kernel, LayerKernels

    folder, rdms = toy
    rsa = SpecBenchmark(folder / "bench.toml")
    (folder / "cka.toml").write_text(
        spec_text(rdms="judgements.npy", stimulus_list="stimuli.txt").replace(
            'stimuli = "images"', 'stimuli = "images"\nmetric = "cka"'
        )
    )
    cka = SpecBenchmark(folder / "cka.toml")
    assert (cka.metric_id, cka.layers_as, rsa.metric_id) == ("cka@1", "kernels", "rsa@1")
    assert cka.id != rsa.id and "Linear CKA" in cka.metric and "Linear CKA" not in rsa.metric
    cka.check_data(None)
    ((name, stimuli),) = cka.stimulus_sets(None).items()
    features = np.random.default_rng(0).normal(size=(len(stimuli), 30))
    kernels = LayerKernels((Kernel.from_gram(features @ features.T),), ("a",), (1.0,), stimuli.ids)
    score = cka.score({name: kernels}, seed=0)
    assert score.extra["metric"] == "cka@1" and len(score.layerwise) == N_SUBJECTS
    assert "approximate" not in score.extra  # exact Gram matrices
    sketched = LayerKernels(
        (Kernel.from_features(features),), ("a",), (1.0,), stimuli.ids
    )  # as above SMALL
    assert "approximations" in cka.score({name: sketched}, seed=0).extra["approximate"]
    np.save(folder / "one.npy", rdms[:1])
    (folder / "one.toml").write_text(
        spec_text(rdms="one.npy").replace(
            'stimuli = "images"', 'stimuli = "images"\nmetric = "wrsa"'
        )
    )
    with pytest.raises(
        BrainAlignError, match="wrsa@1 chooses the best layer on half of the subjects"
    ):
        SpecBenchmark(folder / "one.toml").check_data(None)
    (folder / "bad.toml").write_text(
        spec_text(rdms="judgements.npy").replace(
            'stimuli = "images"', 'stimuli = "images"\nmetric = "nonesuch"'
        )
    )
    with pytest.raises(
        BrainAlignError, match="unknown metric 'nonesuch'; known: cka, encoding, rsa, wrsa"
    ):
        SpecBenchmark(folder / "bad.toml")


def test_a_spec_benchmark_answers_what_every_declared_benchmark_answers(toy) -> None:
    folder, _ = toy
    bench = SpecBenchmark(folder / "bench.toml")
    assert bench.folder(None) is None  # its files are those its spec names, not one data folder's
    assert bench.availability(None).available
    assert {"judgements.npy", "stimuli.txt"} <= set(bench.provenance(None)[bench.dataset])
