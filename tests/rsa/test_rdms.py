"""The RDMs value object: id matching, rsatoolbox round trip, targets with ceilings."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.distance import pdist, squareform

from brainalign import BrainAlignError
from brainalign.rsa import RDMs, TargetRDMs, noise_ceiling


@pytest.fixture
def rdms() -> RDMs:
    rng = np.random.default_rng(0)
    data = np.vstack([pdist(rng.normal(size=(6, 3))) for _ in range(3)])
    return RDMs(data, ("a", "b", "c"), tuple("stuvwx"), "euclidean")


def test_rsatoolbox_round_trip_is_lossless(rdms: RDMs) -> None:
    toolbox = rdms.to_rsatoolbox()
    assert toolbox.n_rdm == 3 and toolbox.n_cond == 6
    back = RDMs.from_rsatoolbox(toolbox)
    np.testing.assert_array_equal(back.data, rdms.data)
    assert (back.names, back.stimulus_ids, back.distance) == (
        rdms.names,
        rdms.stimulus_ids,
        "euclidean",
    )


def test_reorder_matches_by_stimulus_id(rdms: RDMs) -> None:
    order = ("x", "s", "u")
    index = [rdms.stimulus_ids.index(s) for s in order]
    expected = np.vstack([squareform(squareform(v)[np.ix_(index, index)]) for v in rdms.data])
    reordered = rdms.reorder(order)
    np.testing.assert_array_equal(reordered.data, expected)
    assert reordered.stimulus_ids == order
    with pytest.raises(BrainAlignError, match="different stimuli"):
        rdms.reorder(("s", "zz"))


def test_shape_mismatches_are_named(rdms: RDMs) -> None:
    with pytest.raises(BrainAlignError, match="stimulus list does not match"):
        RDMs(rdms.data, rdms.names, tuple("stuvw"))
    with pytest.raises(BrainAlignError, match="3 RDMs but 2 names"):
        RDMs(rdms.data, ("a", "b"), rdms.stimulus_ids)
    with pytest.raises(BrainAlignError, match="unique"):
        RDMs(rdms.data, rdms.names, tuple("sstuvw"))


def test_select_and_get(rdms: RDMs) -> None:
    np.testing.assert_array_equal(rdms.select(["c", "a"]).data, rdms.data[[2, 0]])
    np.testing.assert_array_equal(rdms.get("b"), rdms.data[1])
    with pytest.raises(BrainAlignError, match="no RDM named 'q'"):
        rdms.get("q")


def test_target_carries_its_leave_one_out_ceiling(rdms: RDMs) -> None:
    target = TargetRDMs.from_subjects("IT", rdms)
    assert target.ceiling == noise_ceiling(rdms.data)
    assert target.subjects == ("a", "b", "c")
    single = TargetRDMs.from_subjects("one", rdms.select(["a"]))
    assert single.ceiling is None
