"""``brainalign benchmarks [ID]`` and ``brainalign cite [ID]``: what can be scored, how to cite it."""

from __future__ import annotations

from pathlib import Path

import click

from ..benchmarks.registry import all_benchmarks, get
from ..citing import bibtex_for
from ._shared import data_dir_option, table, wrap


@click.command()
@click.argument("benchmark_id", required=False)
@data_dir_option
def benchmarks(benchmark_id: str | None, data_dir: Path | None) -> None:
    """List the benchmarks, or describe benchmark BENCHMARK_ID.

    DEFAULT marks the benchmarks `brainalign run` scores when none are named; DATA says
    whether their data is on this machine (if not, the command that gets it).

    \b
    Examples:
      brainalign benchmarks
      brainalign benchmarks kriegeskorte2008.hIT
      brainalign benchmarks algonauts2023.FFA-1 --data-dir /data
    """
    if benchmark_id:
        _describe(benchmark_id, data_dir)
        return
    rows = []
    listed = all_benchmarks()  # plugins left out when loaded are reported there, once
    for benchmark in listed:
        availability = benchmark.availability(data_dir)
        data = "yes" if availability.available else f"no: {availability.fix}"
        rows.append((benchmark.identifier, "yes" if benchmark.default else "no", data, benchmark.title))
    click.echo(table(("ID", "DEFAULT", "DATA", "TITLE"), rows))
    for failure in dict.fromkeys(str(b.failure) for b in listed if getattr(b, "failure", None)):
        click.echo(f"warning: {failure}", err=True)  # a plugin whose code failed just now


def _describe(benchmark_id: str, data_dir: Path | None) -> None:
    benchmark = get(benchmark_id)
    availability = benchmark.availability(data_dir)
    click.echo(f"{benchmark.identifier}: {benchmark.title}\n")
    click.echo(wrap(benchmark.description) + "\n")
    click.echo("metric:\n" + wrap(benchmark.metric, indent="  ") + "\n")
    click.echo(f"default: {'yes' if benchmark.default else 'no'}")
    if benchmark.datasets:
        click.echo(f"data:    {', '.join(benchmark.datasets)}")
    click.echo("here:    " + ("available" if availability.available else
                              f"not available: {availability.reason}"))
    click.echo(f"cite:    brainalign cite {benchmark.identifier}")


@click.command()
@click.argument("identifier", required=False)
def cite(identifier: str | None) -> None:
    """Print BibTeX for a result, a benchmark, a data set, or the suite.

    A result file (.json) gets the BibTeX of its benchmark's data, the study and the suite (at
    the version that computed it), then a methods sentence as % comments: the benchmark
    id@version, the number reported with its interval and what the interval resamples, the layer
    policy, the seed, the brainalign version and the result's content id. The output can be
    saved as a .bib file as it is.

    \b
    Examples:
      brainalign cite results/efficientnet_lite0/mur2013.judgements@1.json   # a result
      brainalign cite kriegeskorte2008.hIT  # data + study + suite
      brainalign cite mylab/benchmark.toml  # a spec-file benchmark
      brainalign cite algonauts2019_92      # a data set's sources
      brainalign cite study                 # Opiełka, Loke & Scholte 2024
      brainalign cite                       # the suite
    """
    click.echo(bibtex_for(identifier))


commands = [benchmarks, cite]
