"""``brainalign verify``: re-score results from their provenance and say whether they hold."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ..errors import BrainAlignError
from ._shared import data_dir_option, quiet_option, table, wrap


@click.command("verify")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--model-file",
    "model_files",
    multiple=True,
    metavar="FILE.py:FUNCTION",
    help="Code of a model that is not where its results say, or was given as a Python object "
    "(matched to results by the model id its card names; repeatable).",
)
@click.option(
    "--weights",
    multiple=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="A weights file some result was scored with (matched by sha256; repeatable).",
)
@click.option(
    "--spec",
    "specs",
    multiple=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The spec file of a spec-file benchmark (repeatable).",
)
@data_dir_option
@click.option(
    "--cache",
    "use_cache",
    is_flag=True,
    help="Read layer RDMs and the subjects' agreement tests from the cache instead of computing "
    "them again (faster; trusts the cache).",
)
@click.option(
    "--no-record", is_flag=True, help="Do not write verification records beside the results."
)
@quiet_option
def verify_command(paths, model_files, weights, specs, data_dir, use_cache, no_record) -> None:
    """Re-score each result in PATHS (result files or results folders) from its provenance.

    The model is rebuilt from its id, weights and code and checked against the sha256 of its
    weights, parameters and preprocessing; the benchmark's data and stimuli against their
    checksums; the layer RDMs are extracted afresh and scored with the recorded seed, layer
    policy, batch size and torch thread count. Each result is then verified (every number within
    1e-6 of the file's), differs (which numbers, by how much; a file edited after it was written
    is caught even when every checksum in it was made to fit), or cannot be verified (what is
    missing: weights, data, model file, plugin). A record of each verification is written beside
    the result (<result>.verification: where, when, with which versions); the leaderboard marks
    verified entries. Exit status 0 only if every result verified, 1 otherwise.

    \b
    Examples:
      brainalign verify results/
      brainalign verify results/efficientnet_lite0/mur2013.judgements@2.json
      brainalign verify submission/ --model-file my_net.py:build --data-dir /data
      brainalign verify submission/ --spec mylab/benchmark.toml --weights finetuned.safetensors
    """
    from ..verification import verify

    verdicts = verify(
        list(paths),
        model_files=model_files,
        weights=weights,
        specs=specs,
        data_dir=data_dir,
        use_cache=use_cache,
        record=not no_record,
    )
    if not verdicts:
        raise BrainAlignError(f"no result files in {', '.join(map(str, paths))}")
    click.echo(
        table(
            ("status", "model", "benchmark", "file"),
            [(v.status, v.model_id or "?", v.benchmark or "?", v.path) for v in verdicts],
        )
    )
    for verdict in verdicts:
        if verdict.status != "verified":
            click.echo(f"\n{verdict.status}: {verdict.path}\n{wrap(verdict.message, indent='  ')}")
    counts = {
        s: sum(v.status == s for v in verdicts) for s in ("verified", "differs", "cannot verify")
    }
    click.echo("\n" + ", ".join(f"{n} {s}" for s, n in counts.items() if n))
    if counts["verified"] != len(verdicts):
        sys.exit(1)  # not a usage error (2): some result did not verify


commands = [verify_command]
