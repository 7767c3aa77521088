"""Memory of layer-RDM extraction: every layer (`all`, 158 layers, 8.2 GB of activations) of
ResNet-50 on 64 images at 224 px under a 1 GB budget. A fresh subprocess measures its peak RSS
(``VmHWM``) and its RSS after loading the model; the peak must stay under
budget + model + OVERHEAD. The overhead is what a forward pass of one batch, the float64 Gram
chunks and the libraries take beside the held activations; the test prints all four numbers.

The RDMs computed under the budget are checked against the same layers extracted in this
process with room to spare (one pass, no grouping): they must be identical.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import skimage.data

from brainalign.models import extract_layer_rdms, load_model, weights_available
from brainalign.stimuli import StimulusSet

N_IMAGES, SIZE, BUDGET = 64, 224, 10**9
# Bytes beside budget + model: one batch's forward transients (ResNet-50's largest activation at
# batch 32 and 224 px is 32 x 64 x 112 x 112 float32 = 0.1 GB, and several such tensors are alive at
# once inside a block), float64 Gram chunks, and the threads of the per-phase memory sampler.
OVERHEAD = 1.0e9
CHECKED_LAYERS = ("conv1", "layer1.2.relu#3", "layer3.1.bn2", "layer4.2.conv3", "fc")


def photo_crops(n: int = N_IMAGES, size: int = SIZE, seed: int = 0) -> StimulusSet:
    """``n`` different ``size``-px natural images: seeded crops (some mirrored) of four photos."""
    rng = np.random.default_rng(seed)
    photos = [
        getattr(skimage.data, name)() for name in ("astronaut", "coffee", "chelsea", "rocket")
    ]
    images = []
    for index in range(n):
        photo = photos[index % len(photos)]
        top = rng.integers(0, photo.shape[0] - size + 1)
        left = rng.integers(0, photo.shape[1] - size + 1)
        crop = photo[top : top + size, left : left + size]
        images.append(np.ascontiguousarray(crop[:, ::-1] if rng.random() < 0.5 else crop))
    return StimulusSet.from_images([f"crop{i:02d}" for i in range(n)], images, name="photo_crops")


def resnet50_id() -> str:
    return "resnet50" if weights_available("resnet50") else "resnet50:untrained"


SCRIPT = textwrap.dedent("""
    import json, sys
    import numpy as np, psutil
    sys.path.insert(0, {here!r})
    from test_extract_memory import BUDGET, photo_crops, resnet50_id
    from brainalign.models import extract_layer_rdms, load_model
    from brainalign.models.extract import activation_bytes
    from brainalign.progress import set_quiet

    set_quiet(True)
    stimuli = photo_crops()
    model = load_model(resnet50_id(), layers="all")
    after_model = psutil.Process().memory_info().rss
    activations = sum(activation_bytes(model, stimuli).values())
    result = extract_layer_rdms(model, stimuli, memory_budget=BUDGET, batch_size=32, cache=False)
    # VmHWM: this process image's peak RSS. (ru_maxrss would not do: Linux keeps it across
    # fork + exec, so it would report the parent pytest's size.)
    peak = next(int(line.split()[1]) * 1024 for line in open("/proc/self/status")
                if line.startswith("VmHWM:"))
    np.savez({out!r}, rdms=result.rdms.data, layers=np.array(result.layers))
    print(json.dumps({{"after_model": after_model, "peak": peak, "activations": activations}}))
""")


@pytest.mark.slow
def test_all_layers_of_resnet50_stay_within_the_memory_budget(tmp_path: Path, capsys) -> None:
    out = tmp_path / "rdms.npz"
    script = SCRIPT.format(here=str(Path(__file__).parent), out=str(out))
    run = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False
    )
    assert run.returncode == 0, run.stderr[-3000:]
    numbers = json.loads(run.stdout.strip().splitlines()[-1])
    with capsys.disabled():
        print(
            f"\nresnet50 `all`, {N_IMAGES} images at {SIZE} px: activations "
            f"{numbers['activations'] / 1e9:.2f} GB, budget {BUDGET / 1e9:.2f} GB, RSS after loading "
            f"{numbers['after_model'] / 1e9:.2f} GB, peak RSS {numbers['peak'] / 1e9:.2f} GB, overhead "
            f"{(numbers['peak'] - numbers['after_model'] - BUDGET) / 1e9:+.2f} GB beyond budget + model"
        )
    assert numbers["activations"] > 5 * BUDGET  # the budget really bites
    assert numbers["peak"] <= numbers["after_model"] + BUDGET + OVERHEAD

    with np.load(out, allow_pickle=False) as data:
        layers = list(data["layers"])
        assert len(layers) == 158
        under_budget = {name: data["rdms"][layers.index(name)] for name in CHECKED_LAYERS}
    roomy = extract_layer_rdms(
        load_model(resnet50_id()),
        photo_crops(),
        layers=list(CHECKED_LAYERS),
        memory_budget="8GB",
        batch_size=32,
        cache=False,
    )
    for name in CHECKED_LAYERS:
        np.testing.assert_array_equal(under_budget[name], roomy.rdms.get(name), err_msg=name)
