"""
Bring your own data
===================

Turn a folder of images and your subjects' dissimilarity matrices into a benchmark, without
writing code: a spec file names them. The benchmark then works like a built-in one: it is
listed, scored, cited, verified and shown on the leaderboard.

The data here are synthetic (:download:`toy_lab.py`): 24 coloured discs and the judgements of
six made-up subjects. Replace the files with yours.
"""

# %%
# The folder
# ----------
# A benchmark folder holds the stimuli (one image per stimulus; its id is the file name without
# suffix), the subjects' RDMs and a spec file. Here the RDMs are one ``.npy`` array of shape
# ``(subjects, n, n)`` whose rows follow ``stimuli.txt``.
import tempfile
from pathlib import Path

import numpy as np
import toy_lab

work = Path(tempfile.mkdtemp(prefix="brainalign-example-"))
spec = toy_lab.write_benchmark(work / "toylab")
for path in sorted(spec.parent.iterdir()):
    print(path.name, f"({len(list(path.iterdir()))} images)" if path.is_dir() else "")
print(np.load(spec.parent / "judgements.npy").shape)
print(spec.read_text())

# %%
# Paths are relative to the spec file. ``format`` may also be ``npz`` (a Net2Brain-style
# folder), ``rsatoolbox`` (an rsatoolbox HDF5 file) or ``nifti`` (beta images and a mask); see
# :doc:`/guide/spec-files`.
#
# What brainalign makes of it
# ---------------------------
# ``brainalign benchmarks SPEC`` prints the benchmark's definition, as for any benchmark. Its id
# is the spec's ``id`` followed by the start of a content hash of the spec and of every file it
# names.
from brainalign.cli import main as brainalign_cli  # the command line, in this process

brainalign_cli(["benchmarks", str(spec)])

# %%
# The same data give the same id wherever the folder lies; one changed number gives another id,
# so two data sets never share one.
import shutil

import brainalign

moved = shutil.copytree(spec.parent, work / "elsewhere" / "toylab")
print(brainalign.load_benchmark(str(spec)).identifier)
print(brainalign.load_benchmark(str(moved / "benchmark.toml")).identifier)

rdms = np.load(moved / "judgements.npy")
rdms[0, 1, 2] = rdms[0, 2, 1] = rdms[0, 1, 2] + 0.01
np.save(moved / "judgements.npy", rdms)
print(brainalign.load_benchmark(str(moved / "benchmark.toml")).identifier)

# %%
# Score it
# --------
# A spec file is named wherever a benchmark id is: ``brainalign score MODEL benchmark.toml``,
# ``brainalign run -b benchmark.toml``, or in Python:
(outcome,) = brainalign.score("pixels", [str(spec)], results=work / "results")
similarity = outcome.result.summary["brain_similarity"]
print(
    outcome.benchmark,
    outcome.status,
    f"rho = {similarity['value']:.3f} [{similarity['ci_low']:.3f}, {similarity['ci_high']:.3f}]",
)

# %%
# The data rules
# --------------
# The data are read and checked before any model runs, by the rules every loader applies. A
# subject with a missing dissimilarity is left out and reported; the others are kept whole.
holes = shutil.copytree(spec.parent, work / "holes")
rdms = np.load(holes / "judgements.npy")
rdms[2, 3, 4] = rdms[2, 4, 3] = np.nan
np.save(holes / "judgements.npy", rdms)
(outcome,) = brainalign.score("pixels", [str(holes / "benchmark.toml")], results=work / "results")
print(outcome.result.extra["left_out"])
print("subjects scored:", outcome.result.extra["n_subjects"])

# %%
# Data that cannot be right is refused, before anything runs, with one message naming the file,
# the subject and a pair: here a negative dissimilarity (the file holds similarities, not
# distances).
rdms = np.load(spec.parent / "judgements.npy")
rdms[1, 0, 5] = rdms[1, 5, 0] = -0.5
np.save(holes / "judgements.npy", rdms)
try:
    brainalign.score("pixels", [str(holes / "benchmark.toml")], results=work / "results")
except brainalign.BrainAlignError as err:
    print("error:", err)

# %%
# Another format, the same numbers
# --------------------------------
# The same RDMs saved by rsatoolbox (stimulus ids stored in the file as the pattern descriptor
# ``stimulus_id``) score the same, under another id.
from rsatoolbox.rdm import RDMs

ids = spec.parent.joinpath("stimuli.txt").read_text().split()
RDMs(
    np.load(spec.parent / "judgements.npy"),
    dissimilarity_measure="judgement",
    rdm_descriptors={"subject": [f"s{i}" for i in range(6)]},
    pattern_descriptors={"stimulus_id": ids},
).save(str(spec.parent / "judgements.h5"), file_type="hdf5")
other = spec.parent / "rsatoolbox.toml"
other.write_text(
    spec.read_text()
    .replace('format = "npy"', 'format = "rsatoolbox"')
    .replace('rdms = "judgements.npy"', 'rdms = "judgements.h5"')
    .replace('stimulus_list = "stimuli.txt"\n', "")
)
(again,) = brainalign.score("pixels", [str(other)], results=work / "results")
print(again.benchmark, again.result.summary["brain_similarity"]["value"] == similarity["value"])

# %%
# Cite it
# -------
# ``brainalign cite`` gives the spec's BibTeX, the study's and the suite's.
brainalign_cli(["cite", str(spec)])
