"""
Score a model
=============

Score a network of your own, layer by layer, on a benchmark, and read what comes back.

The benchmark here is a small synthetic one (24 coloured discs and how six made-up people judge
them; :download:`toy_lab.py` makes it), so that this runs anywhere in seconds. With the human
data on your machine, name a real benchmark instead: ``"mur2013.judgements"``,
``"kriegeskorte2008.hIT"``, ``"probe.saliency_semantic"``.
"""

# %%
# A benchmark to score on
# -----------------------
# :func:`toy_lab.write_benchmark` writes a folder of images, the subjects' dissimilarity matrices
# and a spec file naming them: everything a benchmark needs (see
# :doc:`plot_bring_your_own_data`).
import tempfile
from pathlib import Path

import toy_lab

work = Path(tempfile.mkdtemp(prefix="brainalign-example-"))
benchmark = toy_lab.write_benchmark(work / "toylab")
print(benchmark.read_text())

# %%
# Your network
# ------------
# Any ``torch.nn.Module`` can be scored: hand brainalign the module, the preprocessing that
# turns a PIL RGB image into its input tensor, and which layers to read (``"all"``, or a list
# of module names such as ``["1", "3", "6"]``).
import torch
import torchvision.transforms as T

from brainalign.models import from_module

torch.manual_seed(0)
net = torch.nn.Sequential(  # your network, in eval mode or not
    torch.nn.Conv2d(3, 16, 5, stride=2),
    torch.nn.ReLU(),
    torch.nn.Conv2d(16, 32, 5, stride=2),
    torch.nn.ReLU(),
    torch.nn.AdaptiveAvgPool2d(4),
    torch.nn.Flatten(),
    torch.nn.Linear(512, 10),
)
preprocess = T.Compose(
    [
        T.Resize(64),
        T.CenterCrop(64),
        T.ToTensor(),
        T.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225]),
    ]
)
model = from_module(net, preprocess, layers="all", model_id="my_net")
print(model.card.id, model.card.preprocessing, model.card.layer_policy)

# %%
# Score it
# --------
# :func:`brainalign.score` extracts the layer RDMs, scores them and saves one result per
# benchmark in ``results``. The ``pixels`` baseline (the images themselves) is scored beside it:
# a network should beat its input.
import brainalign

results = work / "results"
for scored in (model, "pixels"):
    for outcome in brainalign.score(scored, [str(benchmark)], results=results):
        print(outcome.model_id, outcome.benchmark, outcome.status)

# %%
# What came back
# --------------
# A result's summary holds the headline numbers. ``brain_similarity`` is the ρ of the layer
# chosen on half of the subjects and scored on the other half, raw and divided by the noise
# ceiling, with a 95% interval over subjects and stimuli (see :doc:`/metrics`).
result = brainalign.ResultsStore(results).load("my_net", outcome.benchmark)
similarity = result.summary["brain_similarity"]
print(
    f"layer {similarity['layer']}: rho = {similarity['value']:.3f} "
    f"[{similarity['ci_low']:.3f}, {similarity['ci_high']:.3f}], "
    f"{similarity['normalised']:.2f} of the noise ceiling"
)
print(
    "noise ceiling:",
    {k: result.summary["noise_ceiling"][k] for k in ("lower", "upper", "reliable")},
)

# %%
# The layerwise table has one row per layer and subject; its mean over subjects is the model's
# profile over depth.
profile = result.layerwise.groupby(["layer_index", "layer", "depth"], as_index=False)[
    "value"
].mean()
print(profile.to_string(index=False))

import matplotlib.pyplot as plt

fig, ax = plt.subplots(figsize=(6, 3.5))
ax.plot(profile["depth"], profile["value"], marker="o", label="my_net")
baseline = (
    brainalign.ResultsStore(results).load("pixels", outcome.benchmark).summary["brain_similarity"]
)
ax.axhline(baseline["value"], color="grey", linestyle="--", label="pixels")
ax.axhline(
    result.summary["noise_ceiling"]["upper"],
    color="black",
    linewidth=0.8,
    label="noise ceiling (upper)",
)
ax.set_xlabel("relative depth")
ax.set_ylabel("mean Spearman ρ with the subjects")
ax.legend(loc="lower right")
fig.tight_layout()

# %%
# Publish
# -------
# The leaderboard is a static page and a folder of pages beside it; it opens offline.
page = brainalign.build_leaderboard(results, results / "leaderboard.html")
print(page.name, sorted(p.name for p in (results / "leaderboard_files").iterdir())[:4], "…")

# %%
# From the command line, the same network is a function in a file that returns the
# ``from_module(...)`` result, named ``FILE.py:FUNCTION``::
#
#     brainalign score my_net.py:build toylab/benchmark.toml --results results
#     brainalign leaderboard build results --out results/leaderboard.html
