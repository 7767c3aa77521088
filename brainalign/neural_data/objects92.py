"""The 92 object images (Kiani et al. 2007) shared by the Algonauts 2019 and Kriegeskorte 2008
data: one id per object (``obj01``..``obj92``, image k = row k−1) and its category labels.

The two releases show the same objects on different backgrounds (white vs grey 128), so their
StimulusSets differ, but ids and labels are shared: scores on either are matched by object.
"""

from __future__ import annotations

import io
from functools import lru_cache
from importlib import resources

import pandas as pd

N_OBJECTS = 92

#: Metadata columns: ``category`` (human/nonhuman bodypart/face, natural/artificial inanimate)
#: and boolean flags.
CATEGORY_COLUMNS: tuple[str, ...] = ("category", "animate", "human", "face", "body", "natural")


def object_ids() -> tuple[str, ...]:
    return tuple(f"obj{k:02d}" for k in range(1, N_OBJECTS + 1))


@lru_cache(maxsize=1)
def _categories() -> pd.DataFrame:
    text = resources.files(__package__).joinpath("objects92_categories.csv").read_text("utf-8")
    table = pd.read_csv(io.StringIO(text), comment="#", index_col="stimulus_id")
    return table[list(CATEGORY_COLUMNS)]


def categories() -> pd.DataFrame:
    """Category labels indexed by object id, from the Kriegeskorte et al. (2008) stimulus file
    (shipped with brainalign so the Algonauts 2019 set has them without that download)."""
    return _categories().copy()
