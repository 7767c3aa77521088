"""Offline honesty: pretrained weights come from a cache, a download or --weights FILE, and
never silently from a random initialisation. The frameworks' download functions are the only
thing replaced (torch hub's download_url_to_file, the Hugging Face download open_clip and timm
call); everything of ours runs for real."""

from __future__ import annotations

from pathlib import Path
from urllib.error import URLError

import huggingface_hub
import pytest
import torch
import torchvision
from huggingface_hub.errors import LocalEntryNotFoundError
from safetensors.torch import save_file

from brainalign import BrainAlignError
from brainalign._files import sha256_file
from brainalign.models import WeightsUnavailableError, load_model, weights_available


@pytest.fixture
def empty_caches(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Torch hub, Hugging Face and ~/.cache/clip all empty, in a temporary home."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "hf"))
    return tmp_path


def _seeded_state(build, seed: int) -> dict[str, torch.Tensor]:
    torch.manual_seed(seed)
    return build().state_dict()


def _assert_loaded(module: torch.nn.Module, state: dict[str, torch.Tensor]) -> None:
    loaded = module.state_dict()
    assert set(loaded) == set(state)
    for key, value in state.items():
        assert torch.equal(loaded[key], value.to(loaded[key].dtype)), key


# --- torchvision ---------------------------------------------------------------------------------


def test_torchvision_weights_unavailable_offline_name_the_way_out(empty_caches, monkeypatch):
    requests = []

    def offline(url, dst, hash_prefix=None, progress=True):
        requests.append((url, dst, hash_prefix))
        raise URLError("[Errno -2] Name or service not known")

    monkeypatch.setattr(torch.hub, "download_url_to_file", offline)
    cached = empty_caches / "torch" / "hub" / "checkpoints" / "resnet50-0676ba61.pth"
    assert not weights_available("resnet50")
    with pytest.raises(WeightsUnavailableError) as error:
        load_model("resnet50")
    assert requests == [
        ("https://download.pytorch.org/models/resnet50-0676ba61.pth", str(cached), "0676ba61")
    ]
    message = str(error.value)
    for part in (
        "IMAGENET1K_V1",
        str(cached),
        "--weights FILE",
        "resnet50:untrained",
        "Name or service",
    ):
        assert part in message
    assert isinstance(error.value, BrainAlignError)


def test_torchvision_weights_with_the_wrong_checksum_are_refused(empty_caches, monkeypatch):
    """A download that delivers other weights than published is an error, not a model."""

    def download_other_weights(url, dst, hash_prefix=None, progress=True):
        torch.save(_seeded_state(torchvision.models.resnet18, 3), dst)

    monkeypatch.setattr(torch.hub, "download_url_to_file", download_other_weights)
    with pytest.raises(BrainAlignError, match=r"sha256 .* corrupt or different"):
        load_model("torchvision:resnet18/IMAGENET1K_V1")
    assert weights_available("torchvision:resnet18/IMAGENET1K_V1")  # the file is there now


@pytest.mark.parametrize("suffix", [".pth", ".safetensors"])
def test_a_local_weights_file_is_loaded_exactly(tmp_path, suffix):
    state = _seeded_state(torchvision.models.resnet18, 7)
    path = tmp_path / f"weights{suffix}"
    if suffix == ".safetensors":
        save_file(state, str(path))
    else:
        torch.save({"state_dict": {f"module.{k}": v for k, v in state.items()}}, path)
    model = load_model("torchvision:resnet18", weights=path)
    _assert_loaded(model.module, state)
    assert model.card.weights_id == f"file:{path.name}"
    assert model.card.weights_sha256 == sha256_file(path) and model.weights_path == path


def test_weights_files_that_do_not_fit_or_hold_code_are_refused(tmp_path):
    wrong = tmp_path / "resnet34.pth"
    torch.save(_seeded_state(torchvision.models.resnet34, 0), wrong)
    with pytest.raises(BrainAlignError, match="do not fit"):
        load_model("torchvision:resnet18", weights=wrong)
    pickled = tmp_path / "code.pth"
    torch.save({"model": Path("/etc/passwd")}, pickled)  # an arbitrary object, not tensors
    with pytest.raises(BrainAlignError, match="cannot read weights file") as refused:
        load_model("torchvision:resnet18", weights=pickled)
    # torch's page of advice to unpickle (weights_only=False) is not passed on; its gist is
    assert "weights_only=False" not in str(refused.value) and "set to `False`" not in str(
        refused.value
    )
    assert "refused by torch.load(weights_only=True)" in str(refused.value)
    with pytest.raises(BrainAlignError, match="does not exist"):
        load_model("torchvision:resnet18", weights=tmp_path / "missing.pth")
    with pytest.raises(BrainAlignError, match="no pretrained weights"):
        load_model("resnet50:untrained", weights=wrong)


@pytest.mark.parametrize("model_id", ["timm:resnet18", "clip_rn50", "efficientnet_lite0"])
def test_a_missing_weights_file_is_named_whatever_loads_it(model_id, tmp_path):
    """timm and open_clip load files with their own readers, not read_state_dict: same check."""
    missing = tmp_path / "missing.safetensors"
    with pytest.raises(
        BrainAlignError, match=f"weights file {missing} does not exist; check the --weights"
    ):
        load_model(model_id, weights=missing)


# --- open_clip -----------------------------------------------------------------------------------


def test_open_clip_weights_unavailable_offline_name_the_way_out(empty_caches, monkeypatch):
    import open_clip

    requests = []

    def offline(repo_id, filename, **kwargs):
        requests.append((repo_id, filename))
        raise LocalEntryNotFoundError("offline and not in the cache")

    monkeypatch.setattr(open_clip.pretrained, "hf_hub_download", offline)
    assert not weights_available("clip_rn50")
    with pytest.raises(WeightsUnavailableError) as error:
        load_model("clip_rn50")
    assert requests and all(repo == "timm/resnet50_clip.openai" for repo, _ in requests)
    message = str(error.value)
    for part in (
        "'openai'",
        "models--timm--resnet50_clip.openai",
        str(empty_caches / "home" / ".cache" / "clip" / "RN50.pt"),
        "--weights FILE",
        "clip_rn50:untrained",
    ):
        assert part in message


def test_open_clip_download_path_loads_the_downloaded_checkpoint(empty_caches, monkeypatch):
    """Through open_clip's own download and load_checkpoint, into the visual tower."""
    import open_clip

    torch.manual_seed(11)
    clip = open_clip.create_model("RN50", pretrained=None, force_quick_gelu=True)
    checkpoint = empty_caches / "open_clip_model.safetensors"
    save_file({k: v.half() for k, v in clip.state_dict().items()}, str(checkpoint))
    requests = []

    def download(repo_id, filename, **kwargs):
        requests.append((repo_id, filename))
        return str(checkpoint)

    monkeypatch.setattr(open_clip.pretrained, "hf_hub_download", download)
    model = load_model("clip_rn50")
    assert requests[0] == ("timm/resnet50_clip.openai", "open_clip_model.safetensors")
    visual = {
        k[len("visual.") :]: v.half()
        for k, v in clip.state_dict().items()
        if k.startswith("visual.")
    }
    _assert_loaded(model.module, visual)
    assert model.card.weights_sha256 == sha256_file(checkpoint) and model.weights_path == checkpoint


# --- timm ----------------------------------------------------------------------------------------


def test_timm_weights_unavailable_offline(empty_caches, monkeypatch):
    import timm.models._hub as timm_hub

    def offline(*args, **kwargs):
        raise LocalEntryNotFoundError("offline and not in the cache")

    monkeypatch.setattr(timm_hub, "hf_hub_download", offline)
    with pytest.raises(WeightsUnavailableError, match=r"models--timm--resnet18.a1_in1k"):
        load_model("timm:resnet18.a1_in1k")


def test_timm_local_weights_file(tmp_path):
    import timm

    state = _seeded_state(lambda: timm.create_model("resnet18"), 5)
    path = tmp_path / "resnet18.safetensors"
    save_file(state, str(path))
    model = load_model("timm:resnet18", weights=path)
    _assert_loaded(model.module, state)
    assert model.card.source == "timm" and model.card.weights_sha256 == sha256_file(path)


def test_timm_models_without_published_weights_are_refused_not_randomised():
    with pytest.raises(BrainAlignError, match="publishes no pretrained weights"):
        load_model("timm:botnet50ts_256")
