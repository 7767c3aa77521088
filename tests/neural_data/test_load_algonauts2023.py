"""Algonauts 2023 loader on a generated folder in exactly the release's layout, checked against a
brute-force recomputation (scipy cosine distances, per hemisphere, averaged)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from scipy.spatial.distance import pdist

from brainalign.errors import BrainAlignError
from brainalign.neural_data import load_algonauts2023, read_algonauts2023_folder
from brainalign.neural_data.algonauts2023 import ROI_CLASSES, STUDY_SUBJECTS, read_mapping
from brainalign.neural_data.collection import Skip

MAPPINGS = {
    "prf-visualrois": {0: "Unknown", 1: "V1v", 2: "V1d", 3: "hV4"},
    "floc-bodies": {0: "Unknown", 1: "EBA"},
    "floc-faces": {0: "Unknown", 1: "OFA", 2: "FFA-1"},
    "floc-places": {0: "Unknown", 1: "PPA"},
    "floc-words": {0: "Unknown", 1: "VWFA-1"},
    "streams": {0: "Unknown", 1: "early", 2: "ventral"},
}
VERTICES = {"lh": 40, "rh": 36}
# nsd ids per subject: 10 shared by all, plus a few of each subject's own
SHARED = [13, 27, 104, 250, 3001, 4800, 5120, 7777, 9000, 12001]
OWN = {1: [1, 2], 2: [3], 3: [5, 6, 8], 4: [], 5: [7], 6: [9], 8: [11]}


def _labels(rng: np.random.Generator, subject: int, hemisphere: str, roi_class: str) -> np.ndarray:
    labels = np.zeros(VERTICES[hemisphere], dtype=np.float32)  # released masks are float arrays
    chosen = rng.permutation(VERTICES[hemisphere])
    names = MAPPINGS[roi_class]
    start = 0
    for label in sorted(names)[1:]:
        size = 4
        if names[label] == "hV4" and subject == 2 and hemisphere == "rh":
            size = 0  # subject 2 has no right-hemisphere hV4: skipped for that subject
        if names[label] == "FFA-1":
            size = 0  # nobody has FFA-1: the ROI is left out
        labels[chosen[start : start + size]] = label
        start += size
    return labels


def build_release(root: Path, subjects=(1, 2, 3), seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    folder = root / "algonauts2023"
    for subject in subjects:
        base = folder / f"subj{subject:02d}"
        images = base / "training_split" / "training_images"
        fmri = base / "training_split" / "training_fmri"
        masks = base / "roi_masks"
        for path in (images, fmri, masks):
            path.mkdir(parents=True)
        nsd_ids = sorted(SHARED + OWN[subject])
        for row, nsd in enumerate(nsd_ids):
            pixels = np.full((6, 6, 3), nsd % 251, dtype=np.uint8)
            Image.fromarray(pixels).save(images / f"train-{row + 1:04d}_nsd-{nsd:05d}.png")
        for hemisphere, n in VERTICES.items():
            np.save(
                fmri / f"{hemisphere}_training_fmri.npy",
                rng.normal(size=(len(nsd_ids), n)).astype(np.float32),
            )
        for roi_class in ROI_CLASSES:
            np.save(masks / f"mapping_{roi_class}.npy", MAPPINGS[roi_class])  # a pickled dict
            for hemisphere in VERTICES:
                np.save(
                    masks / f"{hemisphere}.{roi_class}_challenge_space.npy",
                    _labels(rng, subject, hemisphere, roi_class),
                )
    return folder


def brute_force(folder: Path, subject: int, roi_class: str | None, label: int | None) -> np.ndarray:
    """Mean over hemispheres of cosine RDMs over the shared images, in nsd-id order."""
    base = folder / f"subj{subject:02d}"
    names = sorted(p.name for p in (base / "training_split" / "training_images").iterdir())
    row_of = {int(n[15:20]): i for i, n in enumerate(names)}
    rows = [row_of[nsd] for nsd in sorted(SHARED)]
    rdms = []
    for hemisphere in ("lh", "rh"):
        responses = np.load(
            base / "training_split" / "training_fmri" / f"{hemisphere}_training_fmri.npy"
        )
        if roi_class is None:
            columns = np.arange(responses.shape[1])
        else:
            mask = np.load(base / "roi_masks" / f"{hemisphere}.{roi_class}_challenge_space.npy")
            columns = np.flatnonzero(mask == label)
        rdms.append(pdist(responses[rows][:, columns].astype(np.float64), "cosine"))
    return (rdms[0] + rdms[1]) / 2


@pytest.fixture
def release(tmp_path: Path) -> Path:
    return build_release(tmp_path)


def test_shared_images_and_stimulus_ids(release: Path) -> None:
    data = read_algonauts2023_folder(release, subjects=(1, 2, 3))
    assert data.stimuli.ids == tuple(f"nsd-{n:05d}" for n in sorted(SHARED))
    assert list(data.stimuli.metadata["nsd_id"]) == sorted(SHARED)
    assert data.stimuli.load("nsd-00104").getpixel((0, 0)) == (104, 104, 104)


def test_roi_rdms_match_brute_force(release: Path) -> None:
    data = read_algonauts2023_folder(release, subjects=(1, 2, 3))
    checks = {
        "V1v": ("prf-visualrois", 1),
        "EBA": ("floc-bodies", 1),
        "ventral": ("streams", 2),
        "all-vertices": (None, None),
    }
    for roi, (roi_class, label) in checks.items():
        target = data.targets[roi]
        assert target.subjects == ("subj01", "subj02", "subj03")
        for i, subject in enumerate((1, 2, 3)):
            np.testing.assert_allclose(
                target.rdms.data[i],
                brute_force(release, subject, roi_class, label),
                rtol=1e-10,
                atol=1e-12,
            )


def test_empty_roi_is_skipped_and_reported_never_filled(release: Path) -> None:
    data = read_algonauts2023_folder(release, subjects=(1, 2, 3))
    hv4 = data.targets["hV4"]
    assert hv4.subjects == ("subj01", "subj03")  # subject 2 has no rh hV4
    np.testing.assert_allclose(
        hv4.rdms.data[1], brute_force(release, 3, "prf-visualrois", 3), rtol=1e-10
    )
    assert Skip("hV4", "subj02", "no vertices in rh") in data.skipped
    assert "FFA-1" not in data.targets
    assert Skip("FFA-1", "", "no subject has vertices in both hemispheres") in data.skipped
    # every target's RDMs are its own ROI's: no two ROIs share a subject RDM
    flat = {roi: t.rdms.data[0].tobytes() for roi, t in data.targets.items()}
    assert len(set(flat.values())) == len(flat)


def test_chosen_rois_only_and_unknown_roi(release: Path) -> None:
    data = read_algonauts2023_folder(release, subjects=(1, 3), rois=["PPA"])
    assert list(data.targets) == ["PPA"]
    with pytest.raises(BrainAlignError, match=r"no ROI named \['V9'\]"):
        read_algonauts2023_folder(release, subjects=(1,), rois=["V9"])


def test_mask_of_wrong_length_is_an_error(release: Path) -> None:
    path = release / "subj01" / "roi_masks" / "lh.floc-faces_challenge_space.npy"
    np.save(path, np.zeros(VERTICES["lh"] + 1, dtype=np.float32))
    with pytest.raises(
        BrainAlignError, match=r"lh\.floc-faces_challenge_space\.npy has shape \(41,\)"
    ):
        read_algonauts2023_folder(release, subjects=(1,))


def test_mapping_files_are_read_without_running_code(tmp_path: Path) -> None:
    good = tmp_path / "mapping.npy"
    np.save(good, {0: "Unknown", 1: "V1v"})
    assert read_mapping(good) == {0: "Unknown", 1: "V1v"}

    marker = tmp_path / "pwned"

    class Exploit:
        def __reduce__(self):
            return (marker.touch, ())

    evil = tmp_path / "evil.npy"
    np.save(evil, np.array(Exploit(), dtype=object), allow_pickle=True)
    with pytest.raises(BrainAlignError, match="refusing to load"):
        read_mapping(evil)
    assert not marker.exists()
    plain = tmp_path / "plain.npy"
    np.save(plain, np.arange(3))
    with pytest.raises(BrainAlignError, match="expected a pickled dict"):
        read_mapping(plain)


def test_located_through_the_data_dir(release: Path, tmp_path: Path) -> None:
    data = load_algonauts2023(tmp_path, subjects=(1, 2), rois=["EBA"])
    assert data.targets["EBA"].subjects == ("subj01", "subj02")


def test_subjects_without_shared_images(tmp_path: Path) -> None:
    folder = build_release(tmp_path, subjects=(1,))
    with pytest.raises(BrainAlignError, match=r"subj02.*does not exist"):
        read_algonauts2023_folder(folder, subjects=(1, 2))


def _planted_layers(target, stimulus_ids):
    """A noise layer and a "good" layer close to the target's subject mean."""
    from brainalign.rsa import LayerRDMs, RDMs

    rng = np.random.default_rng(0)
    mean = target.rdms.data.mean(axis=0)
    data = np.stack([rng.random(mean.size), mean + 0.1 * mean.std() * rng.normal(size=mean.size)])
    return LayerRDMs(RDMs(data, ["noise", "good"], stimulus_ids), (0.0, 1.0))


def test_benchmarks_score_an_roi_and_refuse_an_empty_one(tmp_path: Path) -> None:
    from brainalign.benchmarks import get

    build_release(tmp_path, subjects=STUDY_SUBJECTS)
    benchmark = get("algonauts2023.EBA")
    assert benchmark.availability(tmp_path).available
    ((name, stimuli),) = benchmark.stimulus_sets(tmp_path).items()
    target = benchmark.target_rdms(tmp_path)
    assert target.subjects == ("subj01", "subj02", "subj03", "subj04", "subj05", "subj06", "subj08")
    assert stimuli.ids == tuple(f"nsd-{n:05d}" for n in sorted(SHARED))
    layers = _planted_layers(target, stimuli.ids)
    summary = benchmark.score({name: layers}, data_dir=tmp_path).summary
    assert summary["brain_similarity_max"]["layer"] == "good"
    with pytest.raises(
        BrainAlignError,
        match=r"target FFA-1 has no data \(FFA-1: no subject has vertices in both hemispheres\)",
    ):
        get("algonauts2023.FFA-1").score({name: layers}, data_dir=tmp_path)
    with pytest.raises(
        BrainAlignError, match=r"target V2v has no data \(the data has targets V1v, V1d, hV4, EBA"
    ):
        get("algonauts2023.V2v").target_rdms(tmp_path)  # not in this release's masks


def test_roi_benchmarks_share_one_parse_of_the_release(tmp_path: Path, monkeypatch) -> None:
    from brainalign.benchmarks import get
    from brainalign.neural_data import algonauts2023

    build_release(tmp_path, subjects=STUDY_SUBJECTS)
    reads: list[tuple[str, str]] = []
    read_rows = algonauts2023.fmri_rows

    def counted(folder: Path, hemisphere: str, rows: list[int]) -> np.ndarray:
        reads.append((folder.name, hemisphere))
        return read_rows(folder, hemisphere, rows)

    monkeypatch.setattr(algonauts2023, "fmri_rows", counted)
    for roi in ("EBA", "V1v"):
        benchmark = get(f"algonauts2023.{roi}")
        ((name, stimuli),) = benchmark.stimulus_sets(tmp_path).items()
        layers = _planted_layers(benchmark.target_rdms(tmp_path), stimuli.ids)
        assert (
            benchmark.score({name: layers}, data_dir=tmp_path).summary["brain_similarity_max"][
                "layer"
            ]
            == "good"
        )
    assert sorted(reads) == sorted(
        (f"subj{s:02d}", h) for s in STUDY_SUBJECTS for h in ("lh", "rh")
    )
