"""A brainalign benchmark plugin: similarity judgements of shapes, declared (data + metric)."""

from pathlib import Path

from brainalign.benchmarks import DeclaredBenchmark
from brainalign.neural_data import load_npy


class ShapeJudgements(DeclaredBenchmark):
    id, version, target, metric = "toylab.shapes", 1, "judgements", "rsa"  # or "wrsa", "cka", …
    title = "Toy lab: similarity judgements of shapes"
    description = "How well a model's layers match how people judge the similarity of shapes."
    bibtex = "@misc{toylab2026,\n  title = {Shape judgements},\n  author = {Toy Lab},\n  year = {2026}\n}"
    datasets, fix = ("toylab_shapes",), "ask Toy Lab for the data: DATA_DIR/toylab_shapes"

    def folder(self, data_dir):  # where the data lies: DATA_DIR/toylab_shapes/ (checksummed)
        return Path(data_dir or ".") / "toylab_shapes"

    def data(self, data_dir):  # (subjects, n, n) RDMs; rows in the order of the sorted images
        here = self.folder(data_dir)
        return load_npy(here / "judgements.npy", here / "images", kind="behaviour")
