"""A brainalign benchmark plugin: similarity judgements of shapes, scored with the standard metric."""
from hashlib import sha256
from pathlib import Path

from brainalign.benchmarks import Availability, Benchmark
from brainalign.benchmarks.scoring import benchmark_score, brain_measures, score_target
from brainalign.neural_data import load_npy


class ShapeJudgements(Benchmark):
    id, version, default = "toylab.shapes", 1, False
    title = "Toy lab: similarity judgements of shapes"
    description = "How well a model's layers match how people judge the similarity of shapes."
    metric = "brainalign's standard metric: Spearman rho with each subject, layer cross-validated."
    bibtex = "@misc{toylab2026,\n  title = {Shape judgements},\n  author = {Toy Lab},\n  year = {2026}\n}"
    datasets = ("toylab_shapes",)
    measures = brain_measures("judgements")

    def folder(self, data_dir):  # how the data is found: DATA_DIR/toylab_shapes/
        return Path(data_dir or ".") / "toylab_shapes"

    def availability(self, data_dir):
        here = (self.folder(data_dir) / "judgements.npy").is_file()
        return Availability(here, "" if here else f"{self.folder(data_dir)} holds no judgements.npy",
                            "ask Toy Lab for the data and put it in DATA_DIR/toylab_shapes")

    def data(self, data_dir):  # (subjects, n, n) RDMs; rows in the order of the sorted images
        folder = self.folder(data_dir)
        return load_npy(folder / "judgements.npy", folder / "images", name="judgements", kind="behaviour")

    def stimulus_sets(self, data_dir):
        return {"toylab_shapes": self.data(data_dir).stimuli}

    def score(self, layers, *, seed=0, data_dir=None):
        target = self.data(data_dir).targets["judgements"]
        return benchmark_score(self.identifier, score_target(layers["toylab_shapes"], target, seed=seed))

    def provenance(self, data_dir):  # recorded in every result, checked by `brainalign verify`
        files = sorted(p for p in self.folder(data_dir).rglob("*") if p.is_file())
        return {"toylab_shapes": {p.name: sha256(p.read_bytes()).hexdigest() for p in files}}
