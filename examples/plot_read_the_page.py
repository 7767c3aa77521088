"""
Read the page
=============

Build a leaderboard from a folder of results, read what it shows, and take its numbers back
out: as a table for a paper, as differences between two models, as a methods paragraph, and as
layer profiles to plot.

Three models are scored on two synthetic benchmarks (:download:`toy_lab.py`): similarity
judgements, and an "IT" target that weighs the discs' size more than their hue.
"""

# %%
# A folder of results
# -------------------
import tempfile
from pathlib import Path

import torch
import torchvision.transforms as T
import toy_lab

import brainalign
from brainalign.models import from_module

work = Path(tempfile.mkdtemp(prefix="brainalign-example-"))
benchmarks = [
    str(toy_lab.write_benchmark(work / "judgements")),
    str(
        toy_lab.write_benchmark(
            work / "it",
            target="IT",
            kind="fmri",
            distance="correlation",
            seed=1,
            weights=(0.5, 0.5, 2.0),
        )
    ),
]


def small_net(seed: int, model_id: str):
    torch.manual_seed(seed)
    net = torch.nn.Sequential(
        torch.nn.Conv2d(3, 16, 5, stride=2),
        torch.nn.ReLU(),
        torch.nn.Conv2d(16, 32, 5, stride=2),
        torch.nn.ReLU(),
        torch.nn.AdaptiveAvgPool2d(4),
        torch.nn.Flatten(),
        torch.nn.Linear(512, 10),
    )
    return from_module(
        net, T.Compose([T.Resize(64), T.ToTensor()]), layers="all", model_id=model_id
    )


results = work / "results"
for model in (small_net(0, "net_a"), small_net(1, "net_b"), "pixels"):
    brainalign.score(model, benchmarks, results=results)
print(sorted(str(p.relative_to(results)) for p in results.rglob("*.json")))

# %%
# The page
# --------
# :func:`brainalign.build_leaderboard` (``brainalign leaderboard build results``) writes
# ``leaderboard.html`` and, beside it, ``leaderboard_files/``: a page per model and per
# benchmark, the analysis page and the CSV. Every page is self-contained and opens offline.
page = brainalign.build_leaderboard(results, results / "leaderboard.html")
files = page.parent / "leaderboard_files"
print(page.name, f"{page.stat().st_size // 1024} KB")
for path in sorted(files.rglob("*")):
    if path.is_file():
        print(" ", path.relative_to(page.parent))

# %%
# This is the first screen of the main job's page (nine models on the probe and the human
# benchmarks):
#
# .. image:: /leaderboard-1366x768.png
#    :alt: The leaderboard's first screen at 1366×768
#
# Read it left to right:
#
# - **Model**, with its family and training objective from its card; a model's name links to its
#   page (every number of every result, the layer profile, the card and the provenance).
# - **Overall**: the mean over the human benchmarks of the score divided by each benchmark's noise
#   ceiling, with its 95% interval; its rule is stated under the table, and the benchmarks can be
#   re-weighted or the rank switched off in the page.
# - One column per human benchmark: brain similarity divided by the upper noise ceiling (1 = as
#   close as the data allow), with its 95% interval over subjects and stimuli; hover a number for
#   the raw ρ, the ceiling and the layer. † marks an interval from fewer than 8 subjects (it covers
#   less than 95%).
# - **Semantic encoding** and **saliency suppression** on the probe, labelled with the probe's id
#   and its number of base images.
#
# The **Relations & claims** page relates the layers' semantic and saliency ρ to their brain ρ
# and says, for each of the study's claims, whether these models support it, or that it is not
# testable on them and what to score. :doc:`/guide/leaderboard` describes every part.
#
# The numbers as a table
# ----------------------
# ``brainalign leaderboard export`` writes the page's numbers, one row per model × benchmark ×
# measure, as CSV, Markdown, LaTeX or JSON.
from brainalign.cli import main as brainalign_cli  # the command line, in this process

brainalign_cli(["leaderboard", "export", str(results), "--format", "markdown"])

# %%
# Two models compared
# -------------------
# Scored with the same seed on the same subjects and stimuli, two models' results share their
# bootstrap draws, so their difference gets a paired interval: what the two models share cancels.
brainalign_cli(["compare", "net_a", "pixels", "--results", str(results)])

# %%
# A result, cited
# ---------------
# ``brainalign cite RESULT.json`` writes a methods paragraph that names everything the result
# rests on, and the BibTeX of every work it names.
result_file = next((results / "net_a").glob("toylab.IT.*.json"))
brainalign_cli(["cite", str(result_file), "--format", "markdown"])

# %%
# Layer profiles
# --------------
# The results hold every layer's numbers. :func:`brainalign.leaderboard.layer_table` gathers them,
# one row per model and layer, one column per brain target (the probe's semantic and saliency ρ
# too, where a model was scored on it).
import matplotlib.pyplot as plt

from brainalign.leaderboard import layer_table

layers = layer_table(brainalign.ResultsStore(results).load_all().results)
targets = [column for column in layers.columns if column.startswith("toylab.")]
print(layers[["model", "layer", "depth", *targets]].round(3).to_string(index=False))

fig, axes = plt.subplots(1, len(targets), figsize=(8, 3.2), sharey=True)
for ax, target in zip(axes, targets):
    for model, rows in layers.groupby("model"):
        ax.plot(rows["depth"], rows[target], marker="o", label=model)
    ax.set_title(target.split(".")[1])
    ax.set_xlabel("relative depth")
axes[0].set_ylabel("mean Spearman ρ with the subjects")
axes[-1].legend()
fig.tight_layout()
