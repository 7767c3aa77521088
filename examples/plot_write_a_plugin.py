"""
Write a plugin
==============

A plugin is a Python package that gives brainalign models or benchmarks through entry points,
the same door brainalign's own come through. Installed, its models appear in
``brainalign models`` and its benchmarks in ``brainalign benchmarks``; both are scored, cited,
verified and published like built-in ones.

This example writes the two things such a package holds, a model factory and a benchmark
class, and uses them directly, without installing anything. The benchmark reads the synthetic
data of :download:`toy_lab.py`; a complete plugin package, installed and run by the test suite,
is in :doc:`/guide/plugins`.
"""

# %%
# The package's entry points
# --------------------------
# A package declares what it gives in its ``pyproject.toml``; the entry point's name is the
# model id, and a benchmark entry point names a ``Benchmark`` class, an instance, a list of them,
# or a function returning either.
ENTRY_POINTS = """
[project.entry-points."brainalign.models"]
toylab_net = "toylab_plugin:toylab_net"

[project.entry-points."brainalign.benchmarks"]
toylab = "toylab_plugin:DiscJudgements"
"""
print(ENTRY_POINTS)

# %%
# A model factory
# ---------------
# A factory returns a loaded model (:func:`brainalign.models.from_module`). It may accept
# ``weights=``, ``device=`` and ``preprocessing=``; brainalign applies those it does not take. Its
# card says what the model is: the leaderboard describes the model by it, and results carry it.
import torch
import torchvision.transforms as T

from brainalign import ModelCard
from brainalign.models import from_module

CARD = ModelCard(
    id="toylab_net",
    source="toylab-plugin",
    architecture="ToyNet",
    family="CNN",
    objective="untrained",
    training_data="none (random weights, seed 0)",
    description="A four-layer CNN with random weights, for the examples.",
)


def toylab_net(device: str = "cpu"):
    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Conv2d(3, 16, 5, stride=2),
        torch.nn.ReLU(),
        torch.nn.Conv2d(16, 32, 5, stride=2),
        torch.nn.ReLU(),
        torch.nn.AdaptiveAvgPool2d(4),
        torch.nn.Flatten(),
        torch.nn.Linear(512, 10),
    )
    preprocess = T.Compose([T.Resize(64), T.CenterCrop(64), T.ToTensor()])
    return from_module(net, preprocess, layers="all", card=CARD, device=device)


toylab_net.card = CARD  # lets `brainalign models` list it without building it

# %%
# A benchmark class
# -----------------
# A benchmark says what it is (id, version, title, description, its metric's definition, its
# BibTeX and the measures it reports), where its data is (``availability``, with the step that
# gets it), which stimuli a model must see, how layer RDMs are scored, and what a result records
# about the data (``provenance``: checksums that ``brainalign verify`` checks). The standard
# metric of the human benchmarks does the scoring, and brainalign's loaders apply its data rules.
from hashlib import sha256
from pathlib import Path

from brainalign.benchmarks import Availability, Benchmark
from brainalign.benchmarks.scoring import benchmark_score, brain_measures, score_target
from brainalign.neural_data import load_npy


class DiscJudgements(Benchmark):
    id, version, default = "toylab.discs", 1, False
    title = "Toy lab: judged similarity of coloured discs"
    description = "How well a model's layers match how six people judge 24 coloured discs."
    metric = "brainalign's standard metric: Spearman rho with each subject, layer cross-validated."
    bibtex = "@misc{toylab2026,\n  title = {Disc judgements},\n  author = {{Toy Lab}},\n  year = {2026}\n}"
    datasets = ("toylab",)
    measures = brain_measures("judgements")

    def folder(self, data_dir):  # the data is found in DATA_DIR/toylab/
        return Path(data_dir or ".") / "toylab"

    def availability(self, data_dir):
        here = (self.folder(data_dir) / "judgements.npy").is_file()
        return Availability(
            here,
            "" if here else f"{self.folder(data_dir)} holds no judgements.npy",
            "ask Toy Lab for the data and put it in DATA_DIR/toylab",
        )

    def data(self, data_dir):  # (subjects, n, n) RDMs; rows in the order of the sorted images
        folder = self.folder(data_dir)
        return load_npy(
            folder / "judgements.npy", folder / "images", name="judgements", kind="behaviour"
        )

    def stimulus_sets(self, data_dir):
        return {"toylab": self.data(data_dir).stimuli}

    def score(self, layers, *, seed=0, data_dir=None):
        target = self.data(data_dir).targets["judgements"]
        return benchmark_score(self.identifier, score_target(layers["toylab"], target, seed=seed))

    def provenance(self, data_dir):
        files = sorted(p for p in self.folder(data_dir).rglob("*") if p.is_file())
        return {"toylab": {p.name: sha256(p.read_bytes()).hexdigest() for p in files}}


# %%
# Use them
# --------
# Installed, ``brainalign score toylab_net toylab.discs --data-dir DATA_DIR`` would find both by
# name. Here the objects go to :func:`brainalign.score` directly. Without its data a benchmark
# says so, and how to get it:
import tempfile

import toy_lab

import brainalign

benchmark = DiscJudgements()
data_dir = Path(tempfile.mkdtemp(prefix="brainalign-example-"))
print(benchmark.availability(data_dir).message)

toy_lab.write_benchmark(data_dir / "toylab")
print(benchmark.availability(data_dir).available)

(outcome,) = brainalign.score(
    toylab_net(), [benchmark], results=data_dir / "results", data_dir=data_dir
)
similarity = outcome.result.summary["brain_similarity"]
print(
    outcome.model_id,
    outcome.benchmark,
    outcome.status,
    f"rho = {similarity['value']:.3f} [{similarity['ci_low']:.3f}, {similarity['ci_high']:.3f}]",
)

# %%
# The result records the model's card, the benchmark's definitions and the data's checksums, so
# that it can be read, compared and verified without the plugin's code.
provenance = outcome.result.provenance
print(provenance["model_card"]["architecture"], provenance["model_card"]["source"])
print(provenance["benchmark"]["title"])
print(sorted(provenance["data_checksums"]["toylab"])[:3], "…")
