"""The two-factor standard error of the 92-image benchmarks against rsatoolbox's, on the real data.

A score with a single layer is the mean rho over subjects, which rsatoolbox's ``eval_dual_bootstrap``
evaluates for a fixed model (no cross-validation). rsatoolbox's side here is its own recipe with its
own random draws: ``rsatoolbox.inference.bootstrap_sample`` draws subjects and stimuli, RDMs are
resampled by ``subsample``/``subsample_pattern`` (copies materialised, self-pairs NaN) and compared
by ``rsatoolbox.rdm.compare``, and its ``_dual_bootstrap`` turns the three variances into one (what
``eval_dual_bootstrap`` does, minus the noise-ceiling bootstraps it also runs, which do not touch a
model's evaluations; running it whole would take hours here). The two standard errors come from
independent draws, so they agree only within Monte Carlo error, estimated by resampling each side's
bootstrap replicates.

The same variance rule is applied to both sides (rsatoolbox's, floor at the stimuli's share
included); brainalign's reported variance differs from it only where that floor binds
(docs/metrics.md), which the models here, real model RDMs of the 92-image set that relate to the
target, do not reach.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import scipy.io

from brainalign.benchmarks import get
from brainalign.benchmarks.scoring import score_target
from brainalign.rsa import LayerRDMs, RDMs, condense

N_BOOT = 1000  # brainalign's side, as the benchmarks
N_RSATOOLBOX = 400  # rsatoolbox's side (about 0.1 s a draw)
#: A real model RDM of the 92-image set (rsatoolbox's demo models) that relates to each target.
CASES = [
    ("algonauts2019.92images.EVC", "EVA"),
    ("algonauts2019.92images.IT", "monkeyIT"),
    ("kriegeskorte2008.hIT", "EVA"),
    ("mur2013.judgements", "animacy"),
]


def _rsatoolbox_rule(
    v_subjects: float, v_stimuli: float, v_both: float, n_subjects: int, n_stimuli: int
) -> float:
    from rsatoolbox.util.inference_util import _dual_bootstrap

    return float(
        _dual_bootstrap(
            np.array([[v_both], [v_subjects], [v_stimuli]]), n_rdm=n_subjects, n_pattern=n_stimuli
        )[0]
    )


def _se_and_mc_error(
    rows: np.ndarray, n_subjects: int, n_stimuli: int, seed: int
) -> tuple[float, float]:
    """The standard error from ``(B, 3)`` bootstrap replicates (subjects, stimuli, both; one draw
    per row), and its Monte Carlo standard error (the replicates themselves resampled)."""

    def se(x: np.ndarray) -> float:
        return math.sqrt(_rsatoolbox_rule(*np.var(x, axis=0, ddof=1), n_subjects, n_stimuli))

    rng = np.random.default_rng(seed)
    again = [se(rows[rng.integers(0, len(rows), len(rows))]) for _ in range(300)]
    return se(rows), float(np.std(again, ddof=1))


def _rsatoolbox_replicates(subjects: np.ndarray, model: np.ndarray, n: int) -> np.ndarray:
    from rsatoolbox.inference import bootstrap_sample
    from rsatoolbox.rdm import RDMs as ToolboxRDMs
    from rsatoolbox.rdm import compare as toolbox_compare

    data = ToolboxRDMs(subjects)
    model_rdm = ToolboxRDMs(model[None])
    fixed = toolbox_compare(model_rdm, data, "spearman")[0]  # each subject's rho
    np.random.seed(2024)  # rsatoolbox draws from numpy's global generator
    rows = np.empty((n, 3))
    for k in range(n):
        _, subject_draw, stimulus_draw = bootstrap_sample(data)
        on_drawn = toolbox_compare(
            model_rdm.subsample_pattern("index", stimulus_draw),
            data.subsample_pattern("index", stimulus_draw),
            "spearman",
        )[0]
        # a subject's rho does not depend on the others: the drawn subjects' columns are the
        # evaluations of the subject-resampled data
        rows[k] = fixed[subject_draw].mean(), on_drawn.mean(), on_drawn[subject_draw].mean()
    return rows


@pytest.mark.slow
@pytest.mark.parametrize(("benchmark_id", "model_name"), CASES)
def test_two_factor_standard_error_agrees_with_rsatoolbox(
    shared_data: Path, benchmark_id: str, model_name: str
) -> None:
    target = get(benchmark_id).target_rdms(shared_data)
    models = scipy.io.loadmat(
        shared_data / "kriegeskorte2008_92" / "92_modelRDMs.mat",
        squeeze_me=True,
        struct_as_record=False,
    )["Models"]
    model = condense(
        np.asarray(next(m for m in models if m.name == model_name).RDM, dtype=np.float64)
    )
    layers = LayerRDMs(RDMs(model[None], [model_name], target.stimulus_ids), (1.0,))
    scored = score_target(layers, target, n_boot=N_BOOT, seed=0, n_permutations=0)
    record = scored.two_factor
    S, n = len(target.subjects), len(target.stimulus_ids)
    ours = np.column_stack([record.samples.subjects, record.samples.stimuli, record.samples.both])
    # with 4 subjects, 1.6% of subject draws are copies of one subject: no cross-validated score,
    # left out (as the benchmark's own variance leaves them out)
    ours = ours[~np.isnan(ours).any(axis=1)]
    theirs = _rsatoolbox_replicates(target.rdms.data, model, N_RSATOOLBOX)
    se_ours, mc_ours = _se_and_mc_error(ours, S, n, seed=1)
    se_theirs, mc_theirs = _se_and_mc_error(theirs, S, n, seed=2)
    # four Monte Carlo standard errors of the difference: a chance failure has probability < 1e-4
    assert abs(se_ours - se_theirs) <= 4 * math.hypot(mc_ours, mc_theirs), (
        se_ours,
        se_theirs,
        mc_ours,
        mc_theirs,
    )
    # the standard error the benchmark reports is this one wherever rsatoolbox's stimulus floor
    # does not bind (it does not here); rsatoolbox's evaluation itself is the same number
    variance = record.variance
    assert n / (n - 1) * variance.stimuli <= variance.variance
    assert math.sqrt(variance.variance) == pytest.approx(se_ours, rel=1e-9)
    from rsatoolbox.rdm import RDMs as ToolboxRDMs
    from rsatoolbox.rdm import compare as toolbox_compare

    evaluation = toolbox_compare(
        ToolboxRDMs(model[None]), ToolboxRDMs(target.rdms.data), "spearman"
    ).mean()
    assert scored.cv_value == pytest.approx(evaluation, abs=1e-10)  # one layer: the mean rho
