"""Human data: a catalogue of data sets (URLs, checksums, citations), fetching, and loaders.

>>> from brainalign.neural_data import load_kriegeskorte2008      # doctest: +SKIP
>>> stimuli, targets, skipped = load_kriegeskorte2008()             # doctest: +SKIP
>>> targets["hIT"].ceiling                                          # doctest: +SKIP
NoiseCeiling(lower=0.378..., upper=0.660...)

Every loader returns :class:`NeuralData` ``(stimuli, targets, skipped)``: a StimulusSet, one
:class:`~brainalign.rsa.TargetRDMs` per target keyed by name (RDMs labelled by stimulus id) or,
from :func:`load_responses`, one :class:`~brainalign.metrics.TargetResponses` (per-subject
responses), and what was left out (one :class:`~.collection.Skip` each: target, subject, reason).
"""

from .algonauts2019 import load_algonauts2019, read_algonauts2019_folder
from .algonauts2023 import STUDY_ROIS, STUDY_SUBJECTS, load_algonauts2023, read_algonauts2023_folder
from .catalogue import DataFile, Dataset, datasets, get_dataset
from .collection import NeuralData, Skip
from .kriegeskorte2008 import load_kriegeskorte2008, read_kriegeskorte2008_folder
from .locations import FileCheck, Location, fetch, find, locate, roots
from .nifti import load_nifti_betas
from .rdm_files import load_npy, load_npz_folder, load_rsatoolbox_hdf5
from .response_files import load_responses

__all__ = [
    "STUDY_ROIS",
    "STUDY_SUBJECTS",
    "DataFile",
    "Dataset",
    "FileCheck",
    "Location",
    "NeuralData",
    "Skip",
    "datasets",
    "fetch",
    "find",
    "get_dataset",
    "load_algonauts2019",
    "load_algonauts2023",
    "load_kriegeskorte2008",
    "load_nifti_betas",
    "load_npy",
    "load_npz_folder",
    "load_responses",
    "load_rsatoolbox_hdf5",
    "locate",
    "read_algonauts2019_folder",
    "read_algonauts2023_folder",
    "read_kriegeskorte2008_folder",
    "roots",
]
