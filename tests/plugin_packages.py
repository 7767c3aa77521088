"""Plugin packages for tests of what another package can do to brainalign: each is installed into
a folder of the test's own exactly as ``pip install --target`` lays it out (its module beside a
``NAME-1.0.dist-info`` folder with ``METADATA`` and ``entry_points.txt``, which is all that
``importlib.metadata`` reads), never into the test environment.

Every plugin builds on :data:`TINY`, a small working benchmark over eight synthetic images whose
subjects' RDMs follow the images' pixels (so the pixel baseline scores high), with knobs to make
one of its methods fail by raising or by calling ``sys.exit``."""

from __future__ import annotations

import importlib
import os
import sys
import textwrap
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

#: Installed as the plain module ``tiny_plugin_base`` beside the packages that import it.
TINY = """
import sys

import numpy as np
from scipy.spatial.distance import pdist, squareform

from brainalign.benchmarks import Availability, Benchmark
from brainalign.benchmarks.scoring import benchmark_score, brain_measures, score_target
from brainalign.rsa import RDMs, TargetRDMs
from brainalign.stimuli import StimulusSet


def _fail(how, where):
    if how == "exit":
        sys.exit(3)
    raise RuntimeError(f"the plugin broke in {where}")


class Tiny(Benchmark):
    version, title = 1, "A tiny plugin benchmark"
    description = metric = "toy"
    bibtex = "@misc{tinyplugin, title = {Tiny}, year = {2026}}"
    measures = brain_measures("tiny")

    def __init__(self, id, *, version=1, default=False, fail_in="", how="raise"):
        self.id, self.version, self.default, self.fail_in, self.how = id, version, default, fail_in, how

    def _maybe_fail(self, where):
        if self.fail_in == where:
            _fail(self.how, where)

    def availability(self, data_dir):
        self._maybe_fail("availability")
        return Availability(True)

    def _images(self):
        return np.random.default_rng(0).integers(0, 255, (8, 16, 16, 3), dtype=np.uint8)

    def stimulus_sets(self, data_dir):
        self._maybe_fail("stimulus_sets")
        return {"tiny": StimulusSet.from_images([f"t{i}" for i in range(8)], list(self._images()), name="tiny")}

    def score(self, layers, *, seed=0, data_dir=None):
        self._maybe_fail("score")
        pixels = pdist(self._images().reshape(8, -1).astype(float), "cosine")
        rng = np.random.default_rng(1)
        subjects = np.stack([pixels + rng.normal(0, 0.1 * pixels.std(), pixels.size) for _ in range(3)])
        target = TargetRDMs.from_subjects("tiny", RDMs(np.abs(subjects), ("s1", "s2", "s3"),
                                                        tuple(f"t{i}" for i in range(8))))
        return benchmark_score(self.identifier, score_target(layers["tiny"], target, seed=seed))
"""


def install(
    site: Path,
    package: str,
    code: str,
    *,
    benchmarks: Mapping[str, str] | None = None,
    models: Mapping[str, str] | None = None,
) -> str:
    """Install ``package`` (its module holding ``code``) into ``site`` with entry points
    ``{name: "attribute"}`` in the benchmark and model groups; the module's name."""
    site.mkdir(parents=True, exist_ok=True)
    (site / "tiny_plugin_base.py").write_text(TINY, encoding="utf-8")
    module = package.replace("-", "_")
    (site / f"{module}.py").write_text(textwrap.dedent(code), encoding="utf-8")
    info = site / f"{module}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {package}\nVersion: 1.0\n", encoding="utf-8"
    )
    groups = []
    for group, points in (("brainalign.benchmarks", benchmarks), ("brainalign.models", models)):
        if points:
            groups.append(
                f"[{group}]\n"
                + "".join(f"{name} = {module}:{value}\n" for name, value in points.items())
            )
    (info / "entry_points.txt").write_text("\n".join(groups), encoding="utf-8")
    return module


@contextmanager
def installed(site: Path) -> Iterator[None]:
    """``site`` on ``sys.path`` for this process (as if installed), the registries reloaded; all
    undone afterwards, its modules forgotten."""
    from brainalign.benchmarks import registry

    sys.path.insert(0, str(site))
    importlib.invalidate_caches()
    registry.refresh()
    try:
        yield
    finally:
        sys.path.remove(str(site))
        for name, module in list(sys.modules.items()):
            if str(site) in str(getattr(module, "__file__", "") or ""):
                del sys.modules[name]
        importlib.invalidate_caches()
        registry.refresh()


def process_env(site: Path) -> dict[str, str]:
    """The environment of a separate brainalign process that has ``site`` installed."""
    return {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")]),
        "BRAINALIGN_QUIET": "1",
    }
